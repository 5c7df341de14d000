import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { UnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OutboxStore } from '../pipeline/outbox/outbox-store.js';
import { ORPHAN_REASONS, awxStatusOf, readNotification, type AwxNotification, type AwxStatus, type OrphanReason } from './awx-notification.js';
import { boundedExcerpt } from './bounded-excerpt.js';
import { createEventReader, type EventReader, type EventReading } from './event-record.js';
import { adoptedMessage, releasedMessage } from './handover-messages.js';
import { holds, ownershipOf, receiveRelease, settle, sight, sightRequest, type CellOwnership, type Ownership, type OwnershipNote } from './ownership.js';
import { reportTransition } from './reconcile-report.js';
import { poisonReject, poisonSeenKey, type KafkaCoordinates } from './poison-record.js';
import { OUTCOME_DATASCHEMA, ROOT_STATE_DATASCHEMA, commandEnvelope, envelope, stateData } from './reconcile-messages.js';
import { matchRule, type ReconcilePolicy } from './reconcile-policy.js';
import type { ReconcileStore } from './reconcile-store.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { step, type Effect, type Input, type Outcome, type RootRecord } from './state-machine.js';

export { COMMAND_DATASCHEMA, OUTCOME_DATASCHEMA, ROOT_STATE_DATASCHEMA, stateData } from './reconcile-messages.js';

const OUTCOME_ID_NAMESPACE = 'b3c1d1e2-7f4a-4b8e-9a51-0d6f2c3e4a10';

/** Orphans kept at most (oldest deleted first): AWX notifications are not signed, only a static credential guards them. */
export const ORPHAN_ROW_LIMIT = 10_000;

/** Every label value passed here comes from a closed set (metric cardinality stays bounded). */
export interface ReconcilerMetrics {
  command(attempt: number): void;
  outcome(result: Outcome['result'], failureClass: Outcome['class']): void;
  orphan(reason: OrphanReason): void;
  notification(status: AwxStatus): void;
  /** A record of the events topic kept as a reject and skipped; `code` is an error code. */
  poison(code: string): void;
  /** An event marked `managed: false` that was not reconciled. */
  unmanaged(): void;
  /** This cell published `unicop.root.released` or `unicop.root.adopted`. */
  handover(direction: 'released' | 'adopted'): void;
  /** Changes not reconciled here because their root moved to another cell before they ran. */
  dropped(events: number): void;
  /** A reconcile request for a root this cell does not own, by this cell's part in it. */
  requestIgnored(ownership: Ownership): void;
}

/** One record of the events topic as the consumer hands it over. */
export interface EventRecord extends KafkaCoordinates {
  raw: Buffer;
}

export interface ReconcilerOptions {
  policy: ReconcilePolicy;
  store: ReconcileStore;
  outbox: Pick<OutboxStore, 'insertMessage' | 'insertReject'>;
  /** Rows were committed to the outbox (wake the relay, count depth). */
  onCommit: (rows: number) => void;
  source: string;
  /** This cell and the owner of a scope (federation/federation.ts): only roots owned here are reconciled. */
  ownership: CellOwnership;
  /** Validates what the reconciler reads against the schemas it was written by. */
  registry: SchemaRegistry;
  metrics: ReconcilerMetrics;
  log: Logger;
  now?: () => number;
  newId?: () => string;
  /** Default ORPHAN_ROW_LIMIT. */
  orphanLimit?: number;
  /** The root's current desiredVersion (desired/desired-store.ts, same database); commands carry it. */
  desiredVersion?: (root: string) => string | null;
}

export type NotificationResult = 'applied' | 'stale' | 'orphan';

/** What one input does to a root before the state machine runs: the ownership bookkeeping (ownership.ts). */
interface Plan {
  record: RootRecord;
  /** The state machine's input; null when the input is not this cell's to reconcile. */
  input: Input | null;
  note: OwnershipNote | null;
  /** The bookkeeping changed the record: it is stored even when the state machine does not apply. */
  changed: boolean;
}

const unchanged = (record: RootRecord, input: Input): Plan => ({ record, input, note: null, changed: false });

/**
 * Runs the state machine for every root this cell owns: changes from `<prefix>.events.v1`, the
 * clock (debounce, deadlines) and AWX outcomes go in; each step's new record, its commands,
 * outcomes, handover messages and the root's state message are written in ONE store transaction
 * with their outbox rows, so a crash can neither lose a transition nor publish one that was not stored.
 * (Over 300 lines because every input meets the store transaction here; what it decides is in pure
 * files beside it: ownership.ts, state-machine.ts, the *-messages.ts builders, reconcile-report.ts.)
 */
export class Reconciler {
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly readEvent: EventReader;
  private readonly cell: string;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? randomUUID;
    this.readEvent = createEventReader(options.registry);
    this.cell = options.ownership.cell;
  }

  /**
   * One record of the events topic. Superseded events, types it does not act on and roots no rule
   * matches start nothing; events of roots another cell owns only keep the ownership bookkeeping. A
   * record it cannot read (not JSON, too deep, not a valid envelope) is poison: kept as a reject and
   * skipped, because throwing would make Kafka redeliver it forever and block every later record of its partition.
   */
  handleEvent(record: EventRecord): void {
    const reading = this.readEvent(record.raw);
    if (reading.kind === 'poison') return this.keepPoison(record, reading.error);
    if (reading.kind === 'ignored') return;
    if (reading.kind === 'unmanaged') {
      // Never a reconcile, never silence: counted, and named at debug level (unmanaged objects may be most of NetBox's traffic).
      this.options.metrics.unmanaged();
      this.options.log.debug({ root: reading.rootKey, eventId: reading.id }, 'event not reconciled: not managed (inventory policy)');
      return;
    }
    if (reading.kind === 'adopted') {
      this.options.log.debug({ root: reading.rootKey, from: reading.from, to: reading.to }, 'root adopted by a cell');
      return;
    }
    if (reading.kind === 'released') return this.handleRelease(reading);
    const rule = matchRule(this.options.policy, reading.rootType, reading.objectType);
    if (!rule) return;
    const now = this.now();
    const change: Input = { kind: 'change', eventId: reading.id, rule, now };
    const scope = reading.scope;
    if (scope === null) return this.handleRequest(reading.rootKey, reading.id, change);
    const { cell, ownerOf } = this.options.ownership;
    const sighting = { owner: ownerOf(scope), eventId: reading.id, sequence: reading.sequence, scope, route: reading.route };
    this.transact(
      reading.rootKey,
      now,
      (r, known) => {
        const seen = sight(r, known, sighting, cell);
        return { record: seen.record, input: seen.reconcile ? change : null, note: seen.note, changed: true };
      },
      reading.id,
    );
  }

  /**
   * Debounce windows that ended and deadlines that passed — of the roots `owns` (all by default:
   * several receivers on one store each tick the roots of the partitions they consume; `route` is
   * the root's, from its record).
   */
  tick(owns: (root: string, route: string | undefined) => boolean = () => true): void {
    const now = this.now();
    for (const root of this.options.store.dueRoots(now)) {
      if (owns(root, this.options.store.record(root).route)) this.transact(root, now, (r) => unchanged(r, { kind: 'tick', now }));
    }
  }

  /** An AWX notification (or a poll result in the same shape). Unknown attempts are kept as orphans. */
  notify(body: AwxNotification): NotificationResult {
    this.options.metrics.notification(awxStatusOf(body.status));
    const reading = readNotification(body);
    const now = this.now();
    if (reading.kind === 'unusable') return this.orphan(reading.reconcileId, reading.reason, body);
    const attempt = this.options.store.attempt(reading.reconcileId);
    if (!attempt) return this.orphan(reading.reconcileId, ORPHAN_REASONS.noAttempt, body);
    const input: Input =
      reading.kind === 'started'
        ? { kind: 'started', reconcileId: reading.reconcileId, awxJobId: reading.awxJobId, now }
        : {
            kind: 'finished',
            reconcileId: reading.reconcileId,
            result: reading.result,
            class: reading.class,
            message: reading.message,
            awxJobId: reading.awxJobId,
            now,
          };
    // The job id is stored with the transition it came with, in its transaction: a stale notification changes nothing.
    const awxJob = reading.awxJobId === null ? undefined : { reconcileId: reading.reconcileId, id: reading.awxJobId };
    return this.transact(attempt.root, now, (r) => unchanged(r, input), undefined, awxJob) ? 'applied' : 'stale';
  }

  /** True while a new database's state is rebuilt from the state topic: reads and notifications answer 503 meanwhile. */
  get rebuilding(): boolean {
    return this.options.store.rebuilding;
  }

  record(root: string): RootRecord | null {
    return this.options.store.hasRecord(root) ? this.options.store.record(root) : null;
  }

  /** A reconcile request (no scope): acted on only where the root's last known owner is this cell. */
  private handleRequest(root: string, eventId: string, change: Input): void {
    let ignored: RootRecord | null = null;
    const { cell, ownerOf } = this.options.ownership;
    this.transact(
      root,
      change.now,
      (r, known) => {
        const seen = sightRequest(r, known, ownerOf(null), cell);
        if (!seen.reconcile) ignored = seen.record;
        return { record: seen.record, input: seen.reconcile ? change : null, note: null, changed: !known };
      },
      eventId,
    );
    const r = ignored as RootRecord | null;
    if (!r) return;
    this.options.metrics.requestIgnored(ownershipOf(r));
    this.options.log.debug({ root, eventId, ownership: ownershipOf(r), owner: r.owner }, 'reconcile request ignored: the root is not owned here');
  }

  /** A release on the events topic: this cell adopts the root, or passes the release on to its owner now. */
  private handleRelease(release: Extract<EventReading, { kind: 'released' }>): void {
    if (release.to !== this.cell) return;
    const now = this.now();
    let holding: Ownership | 'unknown' | null = null;
    this.transact(
      release.rootKey,
      now,
      (r, known) => {
        const received = receiveRelease(r, known, release, now);
        if (!received.note) holding = known ? ownershipOf(r) : 'unknown';
        return { record: received.record, input: null, note: received.note, changed: received.note !== null };
      },
      release.id,
    );
    // Nothing to take: this cell holds the root already, or never recorded it (its policy has no rule for it).
    if (holding)
      this.options.log.warn({ root: release.rootKey, from: release.from, releasedId: release.id, ownership: holding }, 'release naming this cell ignored');
  }

  /** Keeps a bounded stand-in of the body (excerpt, size, sha256) in a bounded table. */
  private orphan(reconcileId: string | null, reason: OrphanReason, body: AwxNotification): NotificationResult {
    const kept = boundedExcerpt(Buffer.from(JSON.stringify(body), 'utf8'));
    this.options.store.keepOrphan(reconcileId, reason, JSON.stringify(kept), this.now(), this.options.orphanLimit ?? ORPHAN_ROW_LIMIT);
    this.options.metrics.orphan(reason);
    const status = typeof body.status === 'string' ? body.status.slice(0, 64) : null;
    this.options.log.warn(
      { reconcileId: reconcileId?.slice(0, 64), reason, status, bytes: kept.bytes },
      'AWX notification matches no attempt; kept as an orphan',
    );
    return 'orphan';
  }

  /** A record nobody can read: a reject (table + rejected topic) in one transaction, once per Kafka position. */
  private keepPoison(record: EventRecord, error: UnicopError): void {
    const at: KafkaCoordinates = { topic: record.topic, partition: record.partition, offset: record.offset };
    const now = this.now();
    const kept = this.options.store.transaction(() => {
      const key = poisonSeenKey(at);
      if (this.options.store.seen(key)) return false;
      this.options.store.markSeen(key, now);
      this.options.outbox.insertReject(poisonReject(this.options.source, at, record.raw, error, now), now);
      return true;
    });
    if (!kept) return;
    this.options.onCommit(1);
    this.options.metrics.poison(error.code);
    this.options.log.warn(
      { ...at, code: error.code, details: error.details, bytes: record.raw.length },
      'unreadable record on the events topic kept as a reject and skipped',
    );
  }

  /**
   * Applies one input to one root and stores everything it caused; returns whether it applied.
   * `plan` does the ownership bookkeeping first; after the step a releasing root with nothing in
   * flight is released (ownership.ts `settle`). Only the root's holder publishes its state: cells
   * share a route's compacted state topic, and a bystander's message would replace the holder's.
   */
  private transact(
    root: string,
    now: number,
    plan: (r: RootRecord, known: boolean) => Plan,
    eventId?: string,
    awxJob?: { reconcileId: string; id: number },
  ): boolean {
    let rows = 0;
    const effects: Effect[] = [];
    const notes: OwnershipNote[] = [];
    const applied = this.options.store.transaction(() => {
      if (eventId !== undefined) {
        if (this.options.store.seen(eventId)) return false;
        this.options.store.markSeen(eventId, now);
      }
      const p = plan(this.options.store.record(root), this.options.store.hasRecord(root));
      let record = p.record;
      const s = p.input && step(record, p.input, this.newId, this.options.desiredVersion?.(root) ?? null);
      if (s?.applied) {
        record = s.record;
        effects.push(...s.effects);
      } else if (!p.changed) return false;
      const settled = settle(record);
      record = settled.record;
      for (const note of [p.note, settled.note]) if (note) notes.push(note);
      this.options.store.save(record, now);
      if (awxJob) this.options.store.setAwxJob(awxJob.reconcileId, awxJob.id);
      const put = (topic: 'events' | 'reconcileRequests' | 'reconcileOutcomes' | 'rootsState', id: string, message: unknown) => {
        this.options.outbox.insertMessage(topic, root, id, JSON.stringify(message), now, record.route);
        rows++;
      };
      for (const effect of effects) {
        if (effect.kind === 'command') {
          const c = effect.command;
          this.options.store.addAttempt(c.reconcileId, c.root, c.attempt, now, Date.parse(c.deadline));
          put('reconcileRequests', c.reconcileId, commandEnvelope(c, this.options.source, now));
        } else {
          this.options.store.setOutcome(effect.outcome);
          const id = uuidv5(effect.outcome.reconcileId, OUTCOME_ID_NAMESPACE);
          put('reconcileOutcomes', id, {
            ...envelope(id, this.options.source, 'unicop.reconcile.outcome', root, effect.outcome, now),
            dataschema: OUTCOME_DATASCHEMA,
          });
        }
      }
      for (const note of notes) {
        const id = this.newId();
        if (note.kind === 'released') put('events', id, releasedMessage(id, this.cell, note.to, record, record.moved ?? fallbackMove(eventId), now));
        else if (note.kind === 'passed') put('events', id, releasedMessage(id, this.cell, note.to, record, record.moved ?? note.release, now));
        else if (note.kind === 'adopted') put('events', id, adoptedMessage(id, this.cell, note.release, record, now));
      }
      if (holds(record) || settled.note) {
        const stateId = this.newId();
        put('rootsState', stateId, {
          ...envelope(stateId, this.options.source, 'unicop.root.state', root, stateData(record, this.cell), now),
          dataschema: ROOT_STATE_DATASCHEMA,
        });
      }
      return true;
    });
    if (!applied) return false;
    this.options.onCommit(rows);
    reportTransition(root, this.cell, effects, notes, this.options.metrics, this.options.log);
    return true;
  }
}

/**
 * A releasing record always holds the move that made it so (ownership.ts `sight`); were one to lack
 * it, the release names the input that released it, or the nil UUID: a release is never withheld.
 */
function fallbackMove(eventId: string | undefined): { eventId: string; sequence: string } {
  return { eventId: eventId ?? '00000000-0000-0000-0000-000000000000', sequence: '0'.padStart(20, '0') };
}
