import { randomUUID } from 'node:crypto';
import type { ChangeRowKey, ObjectChangeRow } from '../model/netbox-changelog.js';
import type { RejectRecord } from '../pipeline/outbox/outbox-store.js';

/** How much of the row travels in its `unicop.rejected.v1` notice (the rejects table keeps it whole). */
const ROW_EXCERPT = 16 * 1024;
export const CHANGELOG_REJECTED_DATASCHEMA = 'https://unicop.dev/schemas/changelog-rejected.v1.schema.json';

/**
 * A changelog row that cannot become an event (too large, unreadable, its object never fetched) as a
 * kept reject: the rejects table holds the whole row, `<prefix>.rejected.v1` a notice with the
 * changelog id, the object and the reason, so an operator can find it in NetBox and act.
 */
export function changelogReject(
  source: string,
  row: ChangeRowKey | ObjectChangeRow,
  reason: { code: string; message: string; attempts: number },
): RejectRecord {
  const id = randomUUID();
  const body = Buffer.from(JSON.stringify(row));
  const notice = {
    specversion: '1.0',
    id,
    source,
    type: 'unicop.changelog.rejected',
    subject: `${row.changed_object_type}:${row.changed_object_id}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschema: CHANGELOG_REJECTED_DATASCHEMA,
    data: {
      code: reason.code,
      message: reason.message,
      attempts: reason.attempts,
      changelogId: row.id,
      requestId: row.request_id,
      object: { type: row.changed_object_type, id: row.changed_object_id },
      body: { bytes: body.length, excerpt: body.subarray(0, ROW_EXCERPT).toString('utf8'), truncated: body.length > ROW_EXCERPT },
    },
  };
  const details = [{ pointer: `/changelog/${row.id}`, message: reason.message }];
  return { id, source, code: reason.code, message: reason.message, details: JSON.stringify(details), body, value: JSON.stringify(notice) };
}
