import { createHash, randomUUID } from 'node:crypto';
import { UnicopError, isUnicopError } from '../errors.js';
import type { components } from '../generated/openapi.js';
import type { Logger } from '../log.js';
import type { IngestMetrics } from './ingest/ingest-metrics.js';
import type { Normalizer } from './normalize/normalize.js';
import type { AppendResult, GroupCommit } from './outbox/group-commit.js';
import type { WebhookValidator } from './validate/validate-webhook.js';
import { parseJson } from './validate/parse-json.js';
import type { Verifier } from './verify/verify-signature.js';

/** How much of a rejected body travels in its `unicop.rejected.v1` notice (the rejects table keeps all). */
const REJECT_BODY_EXCERPT = 64 * 1024;
export const WEBHOOK_REJECTED_DATASCHEMA = 'https://unicop.dev/schemas/webhook-rejected.v1.schema.json';
/** Seconds a client should wait after a 503 (NetBox's RQ retry interval decides in practice). */
export const RETRY_AFTER_SECONDS = 5;

/** A NetBox source as the pipeline sees it: its CloudEvents `source` and its normalizer (keys, route). */
export interface PipelineSource {
  source: string;
  normalize: Normalizer;
}

export interface PipelineDeps {
  /** By the index `verify` returns: the source whose secret signed the body. */
  sources: readonly PipelineSource[];
  verify: Verifier;
  validate: WebhookValidator;
  groupCommit: GroupCommit;
  /**
   * Whether the route an event takes (`data.route`; absent: the only or home route) holds as many
   * unpublished rows as it may: its webhooks get 503 while other routes' keep flowing.
   */
  full: (route: string | undefined) => boolean;
  stopping: () => boolean;
  /** Whether an event id is already stored (a redelivery), whatever its age. */
  known: (eventId: string) => boolean;
  /** Bodies dated further back than this are refused unless already known (`UNICOP_REPLAY_WINDOW_S`). */
  replayWindowMs: number;
  metrics: Pick<IngestMetrics, 'rejected'>;
  log: Logger;
  now?: () => number;
}

export interface Accepted {
  status: 202 | 200;
  body: components['schemas']['WebhookResult'];
}

export type AcceptWebhook = (raw: Buffer, signature: string | undefined) => Promise<Accepted>;

/**
 * ingest → verify → validate → normalize → sequence → outbox, for one webhook. Resolves only after
 * the event is durably stored (or found to be a duplicate); throws an `UnicopError` otherwise.
 * The signature is checked first: an unsigned caller learns nothing, not even that the outbox is
 * full or the process stopping. Authenticated inputs that fail are kept as rejects before the error
 * is thrown; unauthenticated ones are only counted and logged.
 */
export function createWebhookPipeline(deps: PipelineDeps): AcceptWebhook {
  const log = deps.log.child({ stage: 'pipeline' });
  const now = deps.now ?? Date.now;
  return async (raw, signature) => {
    let source: PipelineSource;
    try {
      source = deps.sources[deps.verify(raw, signature)]!;
    } catch (error) {
      deps.metrics.rejected.inc({ code: codeOf(error), authenticated: 'false' });
      log.warn({ code: codeOf(error), bytes: raw.length }, 'unauthenticated webhook refused');
      throw error;
    }
    if (deps.stopping()) throw new UnicopError('UNICOP_INGEST_STOPPING', 'the receiver is stopping');
    let result: AppendResult;
    try {
      const webhook = deps.validate(parseJson(raw), raw.length);
      const draft = source.normalize(webhook);
      refuseReplay(deps, webhook.body.timestamp, draft.envelope.id, now());
      const route = draft.envelope.data.route;
      if (deps.full(route)) {
        throw new UnicopError('UNICOP_OUTBOX_FULL', `the outbox of route ${route ?? 'default'} is over its limit; its Kafka is behind or away`);
      }
      result = await deps.groupCommit.appendEvent(draft);
    } catch (error) {
      if (isUnicopError(error) && error.httpStatus >= 400 && error.httpStatus < 500) await keepReject(deps, source.source, raw, error);
      throw error;
    }
    const { event } = result;
    return {
      status: result.status === 'accepted' ? 202 : 200,
      body: { result: result.status, id: event.id, root: event.root, sequence: event.sequence, superseded: event.superseded },
    };
  };
}

/**
 * NetBox signs only the body, so a captured body stays valid forever; its `timestamp` bounds how
 * long. Dated further than the window from now (older, or as far in the future) and never stored →
 * refused (and kept as a reject); a known event id is a redelivery and gets its `200` duplicate.
 */
function refuseReplay(deps: PipelineDeps, timestamp: string, eventId: string, now: number): void {
  const age = now - Date.parse(timestamp);
  if (!(Math.abs(age) > deps.replayWindowMs) || deps.known(eventId)) return;
  throw new UnicopError('UNICOP_VERIFY_REPLAY_WINDOW', `the body's timestamp is outside the replay window (${deps.replayWindowMs / 1000} s)`, {
    details: [{ pointer: '/timestamp', message: `${timestamp} is ${Math.round(age / 1000)} s old` }],
  });
}

async function keepReject(deps: PipelineDeps, source: string, raw: Buffer, error: UnicopError): Promise<void> {
  deps.metrics.rejected.inc({ code: error.code, authenticated: 'true' });
  const id = randomUUID();
  const excerpt = raw.subarray(0, REJECT_BODY_EXCERPT).toString('utf8');
  const notice = {
    specversion: '1.0',
    id,
    source,
    type: 'unicop.webhook.rejected',
    subject: 'netbox-webhook',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschema: WEBHOOK_REJECTED_DATASCHEMA,
    data: {
      code: error.code,
      message: error.message,
      details: error.details,
      body: { bytes: raw.length, sha256: createHash('sha256').update(raw).digest('hex'), excerpt, truncated: raw.length > REJECT_BODY_EXCERPT },
    },
  };
  await deps.groupCommit.appendReject({
    id,
    source,
    code: error.code,
    message: error.message,
    details: JSON.stringify(error.details),
    body: raw,
    value: JSON.stringify(notice),
  });
  deps.log.child({ stage: 'pipeline' }).warn({ code: error.code, rejectId: id, bytes: raw.length }, 'authenticated webhook rejected and kept');
}

function codeOf(error: unknown): string {
  return isUnicopError(error) ? error.code : 'UNICOP_HTTP_INTERNAL';
}
