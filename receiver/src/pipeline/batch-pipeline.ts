import type { UnicopError } from '../errors.js';
import type { NetboxBatch } from '../generated/netbox-batch.js';
import type { components } from '../generated/openapi.js';
import type { DraftEvent } from '../model/event.js';
import { admitBody, isInputError, outboxFull, stoppingError, verifySource, type PipelineSource } from './admission.js';
import type { BatchMetrics } from './ingest/batch-metrics.js';
import { keepReject } from './keep-reject.js';
import type { AppendResult } from './outbox/group-commit.js';
import type { PipelineDeps } from './pipeline.js';
import { parseJson } from './validate/parse-json.js';
import type { BatchValidator } from './validate/validate-batch.js';

type ItemResult = components['schemas']['BatchItemResult'];

export interface BatchPipelineDeps extends PipelineDeps {
  validateBatch: BatchValidator;
  batchMetrics: Pick<BatchMetrics, 'batchItems' | 'batchSize'>;
}

export interface BatchAnswer {
  status: 207;
  body: components['schemas']['BatchResult'];
}

export type AcceptBatch = (raw: Buffer, signature: string | undefined) => Promise<BatchAnswer>;

/** One item after validate → normalize → replay window: its event's draft, or why it is rejected. */
type Prepared = { index: number; bytes: Buffer } & ({ draft: DraftEvent } | { error: UnicopError });

/**
 * `POST /v1/netbox/batches`: the events of one NetBox request, each handled as its own webhook would
 * be (same checks, same event id, same kept reject) and answered on its own. Whole-batch answers
 * (401, 503, a body that is not a batch) store nothing of the items. The valid items are submitted
 * to the group commit in one turn, so they are stored in one transaction in the request's order.
 */
export function createBatchPipeline(deps: BatchPipelineDeps): AcceptBatch {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ stage: 'pipeline' });
  return async (raw, signature) => {
    const source = verifySource(deps, raw, signature, 'batch');
    if (deps.stopping()) throw stoppingError();
    let batch: NetboxBatch;
    try {
      batch = deps.validateBatch(parseJson(raw));
    } catch (error) {
      if (isInputError(error)) await keepReject(deps, source.source, raw, error, 'batch');
      throw error;
    }
    const at = now();
    const prepared = batch.events.map((item, index) => prepare(deps, source, item, index, at));
    // Refused whole before anything is written: the plugin sends the batch again and what was stored then answers duplicate.
    for (const p of prepared) {
      if ('draft' in p && deps.full(p.draft.envelope.data.route)) throw outboxFull(p.draft.envelope.data.route);
    }
    // The batch's request id and the item's index travel with each kept item (its body is the item alone).
    const origin = (index: number) => [{ message: `batch item: request_id ${batch.request_id}, index ${index}` }];
    const keep = (p: Prepared, error: UnicopError) => keepReject(deps, source.source, p.bytes, error, 'item', origin(p.index));
    // Everything submitted before the first await: one group commit, in the items' order.
    const settled = await Promise.allSettled(prepared.map((p) => ('draft' in p ? deps.groupCommit.appendEvent(p.draft) : keep(p, p.error))));
    // A failed commit fails every job in it, so nothing of the batch is stored: the batch gets the store's 503.
    const failed = settled.find((s) => s.status === 'rejected' && !isInputError(s.reason));
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const results = await Promise.all(
      prepared.map(async (p, i): Promise<ItemResult> => {
        if ('error' in p) return rejected(p.index, p.error);
        const s = settled[i]!;
        if (s.status === 'fulfilled') {
          const { status, event } = s.value as AppendResult;
          return { index: p.index, result: status, id: event.id };
        }
        // The event alone was refused at append (too large for Kafka): kept as its webhook would be.
        await keep(p, s.reason as UnicopError);
        return rejected(p.index, s.reason as UnicopError);
      }),
    );
    count(deps, results);
    log.debug({ requestId: batch.request_id, items: results.length, bytes: raw.length }, 'batch answered');
    return { status: 207, body: { results } };
  };
}

function prepare(deps: BatchPipelineDeps, source: PipelineSource, item: unknown, index: number, now: number): Prepared {
  // The item as bytes: its size for the validator, and the body kept if it is rejected.
  const bytes = Buffer.from(JSON.stringify(item));
  try {
    return { index, bytes, draft: admitBody(deps, source, item, bytes.length, now) };
  } catch (error) {
    if (isInputError(error)) return { index, bytes, error };
    throw error;
  }
}

function rejected(index: number, error: UnicopError): ItemResult {
  return { index, result: 'rejected', error: error.toBody().error };
}

function count(deps: BatchPipelineDeps, results: readonly ItemResult[]): void {
  deps.batchMetrics.batchSize.observe(results.length);
  const by = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const r of results) by[r.result]++;
  for (const [result, n] of Object.entries(by)) if (n > 0) deps.batchMetrics.batchItems.inc({ result }, n);
}
