import { v5 as uuidv5 } from 'uuid';
import type { SnapshotV1 } from '../generated/snapshot.v1.js';
import type { SnapshotRow } from './snapshot-store.js';

/** Namespace of frame ids: UUIDv5 of `<snapshot id>\n<kind>` (never changes). */
const FRAME_NAMESPACE = '3b8e6f0a-2c4d-4e1f-9a7b-5c6d7e8f9a01';
export const SNAPSHOT_DATASCHEMA: SnapshotV1['dataschema'] = 'https://unicop.dev/schemas/snapshot.v1.schema.json';

/** `unicop.snapshot.started|completed` for `<prefix>.snapshots.v1` (schemas/snapshot.v1.schema.json). */
export function snapshotFrame(source: string, kind: 'started' | 'completed', row: SnapshotRow, now: number): SnapshotV1 {
  const { counts } = row;
  const data: SnapshotV1['data'] = {
    snapshotId: row.id,
    trigger: row.trigger,
    requestedBy: row.requestedBy,
    objectTypes: row.objectTypes,
    startedAt: new Date(row.startedAt).toISOString(),
  };
  if (kind === 'completed') {
    data.finishedAt = new Date(now).toISOString();
    data.durationMs = now - row.startedAt;
    data.counts = { read: counts.read, requests: counts.requests };
    data.repairs = { created: counts.created, updated: counts.updated, deleted: counts.deleted };
  }
  return {
    specversion: '1.0',
    id: uuidv5(`${row.id}\n${kind}`, FRAME_NAMESPACE),
    source,
    type: `unicop.snapshot.${kind}`,
    subject: row.id,
    time: new Date(now).toISOString(),
    datacontenttype: 'application/json',
    dataschema: SNAPSHOT_DATASCHEMA,
    data,
  };
}
