import { createHash, randomUUID } from 'node:crypto';
import type { ErrorDetail, UnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { IngestMetrics } from './ingest/ingest-metrics.js';
import type { GroupCommit } from './outbox/group-commit.js';

/** How much of a rejected body travels in its `unicop.rejected.v1` notice (the rejects table keeps all). */
const REJECT_BODY_EXCERPT = 64 * 1024;
export const WEBHOOK_REJECTED_DATASCHEMA = 'https://unicop.dev/schemas/webhook-rejected.v1.schema.json';

/** Constant log lines per kind of kept input. */
const KEPT = {
  webhook: 'authenticated webhook rejected and kept',
  batch: 'authenticated batch rejected and kept',
  item: 'batch item rejected and kept',
} as const;

export interface RejectDeps {
  groupCommit: Pick<GroupCommit, 'appendReject'>;
  metrics: Pick<IngestMetrics, 'rejected'>;
  log: Logger;
}

/**
 * Keeps an authenticated input that failed: the whole body in the rejects table and a
 * `unicop.webhook.rejected` notice (error + bounded excerpt) on `<prefix>.rejected.v1`, in one
 * commit. The append is submitted before the first await, so rejects submitted together in one
 * turn share the group commit of whatever else was submitted in that turn. `extra` details (where a
 * batch item came from) follow the error's own. Resolves to the reject's id once it is stored.
 */
export async function keepReject(
  deps: RejectDeps,
  source: string,
  raw: Buffer,
  error: UnicopError,
  kind: keyof typeof KEPT,
  extra: readonly ErrorDetail[] = [],
): Promise<string> {
  deps.metrics.rejected.inc({ code: error.code, authenticated: 'true' });
  const id = randomUUID();
  const details = [...error.details, ...extra];
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
      details,
      body: { bytes: raw.length, sha256: createHash('sha256').update(raw).digest('hex'), excerpt, truncated: raw.length > REJECT_BODY_EXCERPT },
    },
  };
  await deps.groupCommit.appendReject({
    id,
    source,
    code: error.code,
    message: error.message,
    details: JSON.stringify(details),
    body: raw,
    value: JSON.stringify(notice),
  });
  deps.log.child({ stage: 'pipeline' }).warn({ code: error.code, rejectId: id, bytes: raw.length }, KEPT[kind]);
  return id;
}
