import { UnicopError } from '../errors.js';
import type { components } from '../generated/openapi.js';
import type { Guard } from '../iam/api-access.js';
import type { SnapshotRunner } from './snapshot-runner.js';
import type { SnapshotRow } from './snapshot-store.js';

export type SnapshotView = components['schemas']['Snapshot'];

/** What the audit and the IAM policy call the target of a snapshot call: no root, the whole inventory. */
export const SNAPSHOT_TARGET = 'snapshots';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface SnapshotsApi {
  /** `POST /v1/snapshots`: 202 with the new id, 409 while one runs. */
  start(guard: Guard): { snapshotId: string };
  /** `GET /v1/snapshots/{id}`. */
  get(id: string, guard: Guard): SnapshotView;
}

/**
 * The snapshot endpoints. A snapshot reads and repairs every managed object, whatever its scope,
 * so `snapshots:run` must be granted with scope `"*"`: the guard is asked about a target with no
 * recorded scope, which only `"*"` bindings cover. Without NETBOX_URL every call answers
 * `UNICOP_SNAPSHOT_DISABLED`.
 */
export function createSnapshotsApi(runner: SnapshotRunner | null): SnapshotsApi {
  const allow = (guard: Guard): void => {
    const decision = guard.decide(SNAPSHOT_TARGET, 'snapshots:run');
    if (decision === 'allow') return;
    guard.denied(SNAPSHOT_TARGET, 'snapshots:run', decision);
    throw new UnicopError('UNICOP_API_FORBIDDEN', 'snapshots:run with scope "*" is needed');
  };
  const enabled = (): SnapshotRunner => {
    if (!runner) throw new UnicopError('UNICOP_SNAPSHOT_DISABLED', 'snapshots read NetBox: set NETBOX_URL and NETBOX_TOKEN');
    return runner;
  };
  return {
    start(guard) {
      allow(guard);
      const snapshotId = enabled().request('request', guard.principal);
      guard.performed(SNAPSHOT_TARGET, 'snapshots:run', 'snapshot started', snapshotId);
      return { snapshotId };
    },
    get(id, guard) {
      allow(guard);
      const row = UUID.test(id) ? enabled().get(id) : undefined;
      if (!row) throw new UnicopError('UNICOP_SNAPSHOT_NOT_FOUND', 'no such snapshot');
      return snapshotView(row, Date.now());
    },
  };
}

export function snapshotView(row: SnapshotRow, now: number): SnapshotView {
  const { counts } = row;
  return {
    snapshotId: row.id,
    state: row.state,
    trigger: row.trigger,
    requestedBy: row.requestedBy,
    objectTypes: row.objectTypes,
    progress: row.state === 'running' ? { objectType: row.objectTypes[row.typeIndex] ?? null, lastId: row.lastId } : null,
    startedAt: new Date(row.startedAt).toISOString(),
    finishedAt: row.finishedAt === null ? null : new Date(row.finishedAt).toISOString(),
    durationMs: (row.finishedAt ?? now) - row.startedAt,
    counts: { read: counts.read, requests: counts.requests },
    repairs: { created: counts.created, updated: counts.updated, deleted: counts.deleted },
    error: row.error,
  };
}
