import { UnicopError } from '../../errors.js';
import type { DraftEvent, EventEnvelope } from '../../model/event.js';
import type { EventRecord, OutboxStore, RejectRecord, StoredEvent } from './outbox-store.js';
import { storeCode } from './store-health.js';

/** Turns a draft into its sequenced envelope, reading state through the open transaction (the sequence stage). */
export type Sequencer = (
  state: Pick<OutboxStore, 'lastSequence' | 'newestVersion'>,
  draft: DraftEvent,
) => { envelope: EventEnvelope; rootSequence: number; versionMark: string | null };

/**
 * Something kept in step with the event log: called in the transaction that stores each new event
 * (never for a duplicate), so its rows exist exactly when the event does. Returns the outbox rows it
 * added (temporary access grants: `access/access-grants.ts`).
 */
export type EventProjection = (event: EventEnvelope, now: number) => number;

/**
 * A projection that settles once per transaction, after all its events (the desired state writes
 * one root projection per root and transaction, not one per event: a bulk change of 1,000 members
 * of one root is one message, not 1,000 growing ones). `settle` returns the outbox rows it added;
 * `discard` forgets what a rolled-back transaction noted.
 */
export interface TransactionSettler {
  settle(now: number): number;
  discard(): void;
}

/**
 * Decides, in the transaction that will store it, what a new event (never a duplicate) is stored
 * as — the inventory's caps mark a refused root's events `managed: false` (`inventory/`). Its
 * id and root stay as they are.
 */
export type EventAdmission = (draft: DraftEvent, now: number) => DraftEvent;

export type AppendResult = { status: 'accepted'; event: StoredEvent } | { status: 'duplicate'; event: StoredEvent };

type Job =
  | { kind: 'event'; draft: DraftEvent; done: (r: AppendResult) => void; fail: (e: unknown) => void }
  | { kind: 'reject'; record: RejectRecord; done: () => void; fail: (e: unknown) => void };

export interface GroupCommitOptions {
  store: OutboxStore;
  sequence: Sequencer;
  /** Called after each commit with the number of new outbox rows (wakes the relay, moves the depth gauge). */
  onCommit: (rows: number) => void;
  /** Largest serialized event Kafka will take; a larger one fails alone with UNICOP_NORMALIZE_EVENT_TOO_LARGE. */
  maxValueBytes: number;
  projections?: readonly EventProjection[];
  /** Run at the end of each transaction, after every event's projections. */
  settlers?: readonly TransactionSettler[];
  admission?: EventAdmission;
  /** Told about every failed and successful commit (store health: log, metric, readiness). */
  writes?: { failed(part: string, cause: unknown): void; succeeded(part: string): void };
  now?: () => number;
}

/**
 * Group commit: every append made during one turn of the event loop is written in one SQLite
 * transaction (one fsync), and each caller's promise settles only after that commit. A failed
 * transaction rolls back the whole group and every caller gets `UNICOP_OUTBOX_WRITE_FAILED`:
 * nothing is half-written, nothing is acknowledged that is not on disk.
 */
export class GroupCommit {
  private queue: Job[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly now: () => number;

  constructor(private readonly options: GroupCommitOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Appends requests waiting for the next commit (counted against the outbox limit). */
  get queued(): number {
    return this.queue.length + this.inFlight;
  }

  appendEvent(draft: DraftEvent): Promise<AppendResult> {
    return new Promise((done, fail) => this.enqueue({ kind: 'event', draft, done, fail }));
  }

  appendReject(record: RejectRecord): Promise<void> {
    return new Promise((done, fail) => this.enqueue({ kind: 'reject', record, done, fail }));
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    const jobs = this.queue;
    this.queue = [];
    this.scheduled = false;
    this.inFlight = jobs.length;
    const { store, sequence } = this.options;
    const now = this.now();
    let results: (AppendResult | UnicopError | undefined)[];
    let rows = 0;
    try {
      results = store.transaction(() => {
        const settled = jobs.map((job) => {
          if (job.kind === 'reject') {
            store.insertReject(job.record, now);
            rows++;
            return undefined;
          }
          const { id, subject, data } = job.draft.envelope;
          const requestId = 'actor' in data && data.action !== 'reconcile' ? data.actor.requestId : null;
          const known = store.event(id) ?? (requestId === null ? undefined : store.eventForRequest(requestId, subject));
          if (known) return { status: 'duplicate', event: known } as const;
          const sequenced = sequence(store, this.options.admission?.(job.draft, now) ?? job.draft);
          // Serialized once, here: the size check and the stored value are the same bytes.
          const value = JSON.stringify(sequenced.envelope);
          if (value.length * 3 > this.options.maxValueBytes && Buffer.byteLength(value) > this.options.maxValueBytes) {
            return new UnicopError('UNICOP_NORMALIZE_EVENT_TOO_LARGE', 'the event would exceed the Kafka message limit');
          }
          store.insertEvent(
            {
              id,
              root: sequenced.envelope.partitionkey,
              rootSequence: sequenced.rootSequence,
              subject: sequenced.envelope.subject,
              type: sequenced.envelope.type,
              time: sequenced.envelope.time,
              superseded: sequenced.envelope.data.superseded,
              versionMark: sequenced.versionMark,
              requestId,
              action: sequenced.envelope.data.action,
              actorUser: sequenced.envelope.data.actor?.user ?? null,
              scope: scopeRecord(sequenced.envelope),
              route: sequenced.envelope.data.route,
              value,
            },
            now,
          );
          rows++;
          for (const project of this.options.projections ?? []) rows += project(sequenced.envelope, now);
          const event = { id, root: sequenced.envelope.partitionkey, sequence: sequenced.rootSequence, superseded: sequenced.envelope.data.superseded };
          return { status: 'accepted', event } as const;
        });
        for (const settler of this.options.settlers ?? []) rows += settler.settle(now);
        return settled;
      });
    } catch (cause) {
      for (const settler of this.options.settlers ?? []) settler.discard();
      this.inFlight = 0;
      this.options.writes?.failed('outbox', cause);
      // The store's code (SQLITE_FULL, SQLITE_IOERR_…, PG_UNAVAILABLE) tells the sender's operator why; it carries no data.
      const error = new UnicopError('UNICOP_OUTBOX_WRITE_FAILED', `the outbox could not store the event (${storeCode(cause)})`, { cause });
      for (const job of jobs) job.fail(error);
      return;
    }
    this.inFlight = 0;
    if (rows > 0) this.options.writes?.succeeded('outbox');
    if (rows > 0) this.options.onCommit(rows);
    jobs.forEach((job, i) => {
      const result = results[i];
      if (job.kind === 'reject') job.done();
      else if (result instanceof UnicopError) job.fail(result);
      else job.done(result as AppendResult);
    });
  }
}

/** The root scope an object event records (reconcile requests carry none). */
function scopeRecord(envelope: EventEnvelope): EventRecord['scope'] {
  const data = envelope.data;
  if (!('scope' in data)) return null;
  const { tenant, site, region } = data.scope;
  const regions = data.scope.regions ?? (region === null ? [] : [region]);
  return { tenant, site, regions, own: envelope.subject === envelope.partitionkey };
}
