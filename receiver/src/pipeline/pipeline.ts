import type { components } from '../generated/openapi.js';
import { admitBody, isInputError, outboxFull, stoppingError, verifySource, type AdmissionDeps } from './admission.js';
import { keepReject } from './keep-reject.js';
import type { AppendResult, GroupCommit } from './outbox/group-commit.js';
import { parseJson } from './validate/parse-json.js';

export { WEBHOOK_REJECTED_DATASCHEMA } from './keep-reject.js';
export type { PipelineSource } from './admission.js';
/** Seconds a client should wait after a 503 (NetBox's RQ retry interval decides in practice). */
export const RETRY_AFTER_SECONDS = 5;

export interface PipelineDeps extends AdmissionDeps {
  groupCommit: GroupCommit;
  /**
   * Whether the route an event takes (`data.route`; absent: the only or home route) holds as many
   * unpublished rows as it may: its webhooks get 503 while other routes' keep flowing.
   */
  full: (route: string | undefined) => boolean;
  stopping: () => boolean;
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
  const now = deps.now ?? Date.now;
  return async (raw, signature) => {
    const source = verifySource(deps, raw, signature, 'webhook');
    if (deps.stopping()) throw stoppingError();
    let result: AppendResult;
    try {
      const draft = admitBody(deps, source, parseJson(raw), raw.length, now());
      const route = draft.envelope.data.route;
      if (deps.full(route)) throw outboxFull(route);
      result = await deps.groupCommit.appendEvent(draft);
    } catch (error) {
      if (isInputError(error)) await keepReject(deps, source.source, raw, error, 'webhook');
      throw error;
    }
    const { event } = result;
    return {
      status: result.status === 'accepted' ? 202 : 200,
      body: { result: result.status, id: event.id, root: event.root, sequence: event.sequence, superseded: event.superseded },
    };
  };
}
