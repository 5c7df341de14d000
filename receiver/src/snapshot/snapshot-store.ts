import type { Db } from '../database.js';

export const SNAPSHOT_STATES = ['running', 'completed', 'failed'] as const;
export type SnapshotState = (typeof SNAPSHOT_STATES)[number];
export type SnapshotTrigger = 'request' | 'schedule';

export interface SnapshotCounts {
  /** NetBox objects read. */
  read: number;
  /** HTTP requests made to NetBox. */
  requests: number;
  created: number;
  updated: number;
  deleted: number;
}

export interface SnapshotRow {
  id: string;
  state: SnapshotState;
  trigger: SnapshotTrigger;
  requestedBy: string | null;
  objectTypes: string[];
  /** Progress: the object type being read (index into objectTypes) and the last NetBox id done. */
  typeIndex: number;
  lastId: number;
  counts: SnapshotCounts;
  error: { code: string; message: string } | null;
  startedAt: number;
  finishedAt: number | null;
}

interface Row {
  id: string;
  state: SnapshotState;
  trigger: SnapshotTrigger;
  requested_by: string | null;
  object_types: string;
  type_index: number;
  last_id: number;
  counts: string;
  error: string | null;
  started_at: number;
  finished_at: number | null;
}

export const NO_COUNTS: SnapshotCounts = Object.freeze({ read: 0, requests: 0, created: 0, updated: 0, deleted: 0 });

/** The `snapshots` table (snapshot-migrations.ts). Synchronous, so callers compose transactions. */
export class SnapshotStore {
  private readonly q;

  constructor(private readonly db: Db) {
    this.q = {
      get: db.prepare<[string], Row>('SELECT * FROM snapshots WHERE id = ?'),
      running: db.prepare<[], Row>("SELECT * FROM snapshots WHERE state = 'running'"),
      insert: db.prepare<[string, SnapshotTrigger, string | null, string, string, number]>(
        "INSERT INTO snapshots (id, state, trigger, requested_by, object_types, counts, started_at) VALUES (?, 'running', ?, ?, ?, ?, ?)",
      ),
      progress: db.prepare<[number, number, string, string]>("UPDATE snapshots SET type_index = ?, last_id = ?, counts = ? WHERE id = ? AND state = 'running'"),
      finish: db.prepare<[SnapshotState, string, string | null, number, string]>(
        "UPDATE snapshots SET state = ?, counts = ?, error = ?, finished_at = ? WHERE id = ? AND state = 'running'",
      ),
    };
  }

  get(id: string): SnapshotRow | undefined {
    const row = this.q.get.get(id);
    return row && fromRow(row);
  }

  running(): SnapshotRow | undefined {
    const row = this.q.running.get();
    return row && fromRow(row);
  }

  insert(id: string, trigger: SnapshotTrigger, requestedBy: string | null, objectTypes: readonly string[], now: number): void {
    this.q.insert.run(id, trigger, requestedBy, JSON.stringify(objectTypes), JSON.stringify(NO_COUNTS), now);
  }

  progress(id: string, typeIndex: number, lastId: number, counts: SnapshotCounts): void {
    this.q.progress.run(typeIndex, lastId, JSON.stringify(counts), id);
  }

  finish(id: string, state: Exclude<SnapshotState, 'running'>, counts: SnapshotCounts, error: SnapshotRow['error'], now: number): void {
    this.q.finish.run(state, JSON.stringify(counts), error && JSON.stringify(error), now, id);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

function fromRow(row: Row): SnapshotRow {
  return {
    id: row.id,
    state: row.state,
    trigger: row.trigger,
    requestedBy: row.requested_by,
    objectTypes: JSON.parse(row.object_types) as string[],
    typeIndex: row.type_index,
    lastId: row.last_id,
    counts: JSON.parse(row.counts) as SnapshotCounts,
    error: row.error === null ? null : (JSON.parse(row.error) as { code: string; message: string }),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
