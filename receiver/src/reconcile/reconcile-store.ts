import { UnicopError } from '../errors.js';
import type { Db } from '../database.js';
import { sampleOf } from './event-sample.js';
import { restingRecord, type Outcome, type ReconcileState, type RootRecord } from './state-machine.js';
import type { RestoredRoot } from './state-restore.js';

export interface AttemptRow {
  reconcileId: string;
  root: string;
  attempt: number;
  requestedAt: number;
  deadlineAt: number;
  awxJobId: number | null;
  outcome: Outcome | null;
}

/** The reconciler's durable state (its tables: reconcile-migrations.ts). Synchronous; callers own transactions. */
export class ReconcileStore {
  private readonly q;
  /** Until the rebuild from the state topic finished, the store's reads would show a silently empty state. */
  private incomplete: boolean;

  constructor(private readonly db: Db) {
    this.q = {
      rebuildNeeded: db.prepare<[], { needed: number }>('SELECT needed FROM reconcile_rebuild WHERE id = 1'),
      rebuildDone: db.prepare<[number]>('UPDATE reconcile_rebuild SET needed = 0, done_at = ? WHERE id = 1'),
      get: db.prepare<[string], { record: string }>('SELECT record FROM reconcile_roots WHERE root = ?'),
      put: db.prepare<[string, string, string, number | null, number, string | null]>(
        `INSERT INTO reconcile_roots (root, state, record, due_at, updated_at, ownership) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(root) DO UPDATE SET state = excluded.state, record = excluded.record, due_at = excluded.due_at, updated_at = excluded.updated_at,
           ownership = excluded.ownership`,
      ),
      waiting: db.prepare<[], { ownership: string; roots: number }>(
        "SELECT ownership, COUNT(*) AS roots FROM reconcile_roots WHERE ownership IN ('releasing', 'adopting') GROUP BY ownership",
      ),
      due: db.prepare<[number], { root: string }>('SELECT root FROM reconcile_roots WHERE due_at <= ? ORDER BY due_at LIMIT 500'),
      byState: db.prepare<[string, number], { record: string }>('SELECT record FROM reconcile_roots WHERE state = ? ORDER BY updated_at DESC LIMIT ?'),
      addAttempt: db.prepare<[string, string, number, number, number]>(
        'INSERT INTO reconcile_attempts (reconcile_id, root, attempt, requested_at, deadline_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      attempt: db.prepare<
        [string],
        { reconcile_id: string; root: string; attempt: number; requested_at: number; deadline_at: number; awx_job_id: number | null; outcome: string | null }
      >('SELECT * FROM reconcile_attempts WHERE reconcile_id = ?'),
      recentAttempts: db.prepare<
        [string, number],
        { reconcile_id: string; root: string; attempt: number; requested_at: number; deadline_at: number; awx_job_id: number | null; outcome: string | null }
      >('SELECT * FROM reconcile_attempts WHERE root = ? ORDER BY requested_at DESC, attempt DESC LIMIT ?'),
      inFlightPastHalf: db.prepare<
        [number, number],
        { reconcile_id: string; root: string; attempt: number; requested_at: number; deadline_at: number; awx_job_id: number | null; outcome: string | null }
      >('SELECT * FROM reconcile_attempts WHERE outcome IS NULL AND requested_at + (deadline_at - requested_at) / 2 <= ? LIMIT ?'),
      setJob: db.prepare<[number, string]>('UPDATE reconcile_attempts SET awx_job_id = ? WHERE reconcile_id = ?'),
      setOutcome: db.prepare<[string, string]>('UPDATE reconcile_attempts SET outcome = ? WHERE reconcile_id = ?'),
      seen: db.prepare<[string], { event_id: string }>('SELECT event_id FROM reconcile_events_seen WHERE event_id = ?'),
      markSeen: db.prepare<[string, number]>('INSERT INTO reconcile_events_seen (event_id, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      orphan: db.prepare<[number, string | null, string, string], { id: number }>(
        'INSERT INTO reconcile_orphans (received_at, reconcile_id, reason, body) VALUES (?, ?, ?, ?) RETURNING id',
      ),
      // ids only grow (AUTOINCREMENT, an identity column): everything at or below newest - limit is the oldest beyond the cap.
      trimOrphans: db.prepare<[number]>('DELETE FROM reconcile_orphans WHERE id <= ?'),
    };
    this.incomplete = this.rebuildNeeded();
  }

  /** The database was created without a reconcile state of its own (see reconcile-migrations.ts v2 and `created`): rebuild it before use. */
  rebuildNeeded(): boolean {
    return this.q.rebuildNeeded.get()?.needed === 1;
  }

  /** True from start-up until `restore` committed, when a rebuild is needed. */
  get rebuilding(): boolean {
    return this.incomplete;
  }

  /**
   * Stores the rebuilt roots, their attempts in flight and their events (as seen: a redelivered
   * event they already cover must not count twice), and clears the rebuild mark, in ONE
   * transaction: a crash half-way leaves the mark set, and the next start rebuilds again. False,
   * writing nothing, when the mark was already cleared: another receiver of a shared store rebuilt
   * first, and its state (perhaps already moved on) must not be overwritten with the topic's.
   */
  restore(roots: RestoredRoot[], now: number): boolean {
    const restored = this.transaction(() => {
      if (!this.rebuildNeeded()) return false;
      for (const { record, attempt, at } of roots) {
        this.save(record, at);
        if (attempt) {
          this.addAttempt(attempt.reconcileId, attempt.root, attempt.attempt, attempt.requestedAt, attempt.deadlineAt);
          if (attempt.awxJobId !== null) this.setAwxJob(attempt.reconcileId, attempt.awxJobId);
        }
        for (const id of [...record.pendingEvents, ...record.followUpEvents, ...(record.inFlight?.events ?? [])]) this.markSeen(id, now);
      }
      this.q.rebuildDone.run(now);
      return true;
    });
    this.incomplete = false;
    return restored;
  }

  record(root: string): RootRecord {
    this.complete();
    const row = this.q.get.get(root);
    return row ? fromStored(row.record) : restingRecord(root);
  }

  hasRecord(root: string): boolean {
    this.complete();
    return this.q.get.get(root) !== undefined;
  }

  /** Stores a record with the next time the ticker must look at it (debounce end or deadline). */
  save(record: RootRecord, now: number): void {
    const wake = record.state === 'pending' ? record.dueAt : record.inFlight ? Date.parse(record.inFlight.deadline) : null;
    // The column is null for owned roots (most of them, and all of a single cell): the gauge counts the others.
    this.q.put.run(record.root, record.state, JSON.stringify(record), wake, now, record.ownership === 'owned' ? null : (record.ownership ?? null));
  }

  /** Roots waiting for a handover, by this cell's part (ownership.ts): releasing (an attempt ends first) and adopting. */
  waiting(): Record<'releasing' | 'adopting', number> {
    const counts = { releasing: 0, adopting: 0 };
    for (const row of this.q.waiting.all()) if (row.ownership === 'releasing' || row.ownership === 'adopting') counts[row.ownership] = Number(row.roots);
    return counts;
  }

  dueRoots(now: number): string[] {
    return this.q.due.all(now).map((r) => r.root);
  }

  inState(state: ReconcileState, limit: number): RootRecord[] {
    this.complete();
    return this.q.byState.all(state, limit).map((r) => fromStored(r.record));
  }

  addAttempt(reconcileId: string, root: string, attempt: number, requestedAt: number, deadlineAt: number): void {
    this.q.addAttempt.run(reconcileId, root, attempt, requestedAt, deadlineAt);
  }

  attempt(reconcileId: string): AttemptRow | undefined {
    this.complete();
    const row = this.q.attempt.get(reconcileId);
    return row && toAttempt(row);
  }

  recentAttempts(root: string, limit: number): AttemptRow[] {
    this.complete();
    return this.q.recentAttempts.all(root, limit).map(toAttempt);
  }

  /** Attempts without an outcome past half their deadline: the poller asks AWX about them. */
  unresolvedPastHalf(now: number, limit: number): AttemptRow[] {
    return this.q.inFlightPastHalf.all(now, limit).map(toAttempt);
  }

  setAwxJob(reconcileId: string, jobId: number): void {
    this.q.setJob.run(jobId, reconcileId);
  }

  setOutcome(outcome: Outcome): void {
    this.q.setOutcome.run(JSON.stringify(outcome), outcome.reconcileId);
  }

  seen(eventId: string): boolean {
    return this.q.seen.get(eventId) !== undefined;
  }

  markSeen(eventId: string, now: number): void {
    this.q.markSeen.run(eventId, now);
  }

  /** Keeps one orphan notification and deletes the oldest beyond `limit` rows. */
  keepOrphan(reconcileId: string | null, reason: string, body: string, now: number, limit: number): void {
    this.transaction(() => {
      const id = this.q.orphan.get(now, reconcileId, reason, body)?.id ?? 0;
      this.q.trimOrphans.run(id - limit);
    });
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Reads that answer the API or correlate AWX outcomes refuse (503) while the state is being rebuilt. */
  private complete(): void {
    if (this.incomplete) throw new UnicopError('UNICOP_RECONCILE_REBUILDING', 'the reconciler is rebuilding its state from the state topic; try again shortly');
  }
}

/**
 * A stored record. Records written before event samples existed hold plain id lists without
 * counts: they become a sample with the list's length as count.
 */
function fromStored(json: string): RootRecord {
  type Legacy = Partial<Pick<RootRecord, 'pendingEventCount' | 'followUpEventCount'>> & Omit<RootRecord, 'pendingEventCount' | 'followUpEventCount'>;
  const r = JSON.parse(json) as Legacy;
  if (r.pendingEventCount !== undefined && r.followUpEventCount !== undefined && (r.inFlight === null || r.inFlight.eventCount !== undefined))
    return r as RootRecord;
  const pending = sampleOf(r.pendingEvents);
  const followUp = sampleOf(r.followUpEvents);
  const inFlight = r.inFlight && sampleOf(r.inFlight.events);
  return {
    ...r,
    pendingEvents: pending.sample,
    pendingEventCount: pending.count,
    followUpEvents: followUp.sample,
    followUpEventCount: followUp.count,
    inFlight: r.inFlight && inFlight && { ...r.inFlight, events: inFlight.sample, eventCount: inFlight.count },
  };
}

function toAttempt(row: {
  reconcile_id: string;
  root: string;
  attempt: number;
  requested_at: number;
  deadline_at: number;
  awx_job_id: number | null;
  outcome: string | null;
}): AttemptRow {
  return {
    reconcileId: row.reconcile_id,
    root: row.root,
    attempt: row.attempt,
    requestedAt: row.requested_at,
    deadlineAt: row.deadline_at,
    awxJobId: row.awx_job_id,
    outcome: row.outcome ? (JSON.parse(row.outcome) as Outcome) : null,
  };
}
