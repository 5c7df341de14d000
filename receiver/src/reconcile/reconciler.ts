import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { UnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OutboxStore } from '../pipeline/outbox/outbox-store.js';
import { ORPHAN_REASONS, awxStatusOf, readNotification, type AwxNotification, type AwxStatus, type OrphanReason } from './awx-notification.js';
import { boundedExcerpt } from './bounded-excerpt.js';
import { createEventReader, type EventReader } from './event-record.js';
import { poisonReject, poisonSeenKey, type KafkaCoordinates } from './poison-record.js';
import { matchRule, type ReconcilePolicy } from './reconcile-policy.js';
import type { ReconcileStore } from './reconcile-store.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { step, type Command, type Input, type Outcome, type RootRecord } from './state-machine.js';

const OUTCOME_ID_NAMESPACE = 'b3c1d1e2-7f4a-4b8e-9a51-0d6f2c3e4a10';
export const COMMAND_DATASCHEMA = 'https://unicop.dev/schemas/reconcile-command.v1.schema.json';
export const ROOT_STATE_DATASCHEMA = 'https://unicop.dev/schemas/root-state.v1.schema.json';
export const OUTCOME_DATASCHEMA = 'https://unicop.dev/schemas/reconcile-outcome.v1.schema.json';

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

/**
 * Runs the state machine for every root: changes from `<prefix>.events.v1`, the clock (debounce,
 * deadlines) and AWX outcomes go in; each step's new record, its commands, outcomes and the root's
 * state message are written in ONE SQLite transaction with their outbox rows, so a crash can
 * neither lose a transition nor publish one that was not stored.
 */
export class Reconciler {
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly readEvent: EventReader;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? randomUUID;
    this.readEvent = createEventReader(options.registry);
  }

  /**
   * One record of the events topic. Superseded events, types it does not act on and roots no rule
   * matches start nothing. A record it cannot read (not JSON, too deep, not a valid envelope) is poison:
   * kept as a reject and skipped, because throwing would make Kafka redeliver it forever and block
   * every later record of its partition.
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
    const rule = matchRule(this.options.policy, reading.rootType, reading.objectType);
    if (!rule) return;
    const now = this.now();
    this.transact(reading.rootKey, { kind: 'change', eventId: reading.id, rule, now }, reading.id);
  }

  /**
   * Debounce windows that ended and deadlines that passed — of the roots `owns` (all by default:
   * several receivers on one store each tick the roots of the partitions they consume).
   */
  tick(owns: (root: string) => boolean = () => true): void {
    const now = this.now();
    for (const root of this.options.store.dueRoots(now)) if (owns(root)) this.transact(root, { kind: 'tick', now });
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
    return this.transact(attempt.root, input, undefined, awxJob) ? 'applied' : 'stale';
  }

  /** True while a new database's state is rebuilt from the state topic: reads and notifications answer 503 meanwhile. */
  get rebuilding(): boolean {
    return this.options.store.rebuilding;
  }

  record(root: string): RootRecord | null {
    return this.options.store.hasRecord(root) ? this.options.store.record(root) : null;
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

  /** Applies one input to one root and stores everything it caused; returns whether it applied. */
  private transact(root: string, input: Input, eventId?: string, awxJob?: { reconcileId: string; id: number }): boolean {
    let rows = 0;
    const outcomes: Outcome[] = [];
    const commands: Command[] = [];
    const applied = this.options.store.transaction(() => {
      if (eventId !== undefined) {
        if (this.options.store.seen(eventId)) return false;
        this.options.store.markSeen(eventId, input.now);
      }
      const s = step(this.options.store.record(root), input, this.newId, this.options.desiredVersion?.(root) ?? null);
      if (!s.applied) return false;
      this.options.store.save(s.record, input.now);
      if (awxJob) this.options.store.setAwxJob(awxJob.reconcileId, awxJob.id);
      for (const effect of s.effects) {
        if (effect.kind === 'command') {
          const c = effect.command;
          this.options.store.addAttempt(c.reconcileId, c.root, c.attempt, input.now, Date.parse(c.deadline));
          this.options.outbox.insertMessage('reconcileRequests', c.root, c.reconcileId, JSON.stringify(this.commandEnvelope(c, input.now)), input.now);
          commands.push(c);
        } else {
          this.options.store.setOutcome(effect.outcome);
          const id = uuidv5(effect.outcome.reconcileId, OUTCOME_ID_NAMESPACE);
          const message = { ...this.envelope(id, 'unicop.reconcile.outcome', root, effect.outcome, input.now), dataschema: OUTCOME_DATASCHEMA };
          this.options.outbox.insertMessage('reconcileOutcomes', root, id, JSON.stringify(message), input.now);
          outcomes.push(effect.outcome);
        }
        rows++;
      }
      const stateId = this.newId();
      const state = {
        ...this.envelope(stateId, 'unicop.root.state', root, undefined, input.now),
        dataschema: ROOT_STATE_DATASCHEMA,
        data: stateData(s.record),
      };
      this.options.outbox.insertMessage('rootsState', root, stateId, JSON.stringify(state), input.now);
      rows++;
      return true;
    });
    if (!applied) return false;
    this.options.onCommit(rows);
    for (const c of commands) {
      this.options.metrics.command(c.attempt);
      this.options.log.info({ root, reconcileId: c.reconcileId, attempt: c.attempt, template: c.jobTemplate.name }, 'reconcile requested');
    }
    for (const outcome of outcomes) {
      this.options.metrics.outcome(outcome.result, outcome.class);
      this.options.log.info({ root, reconcileId: outcome.reconcileId, result: outcome.result, class: outcome.class }, 'reconcile outcome');
    }
    return true;
  }

  private commandEnvelope(c: Command, now: number) {
    const [rootType = '', rootId = '0'] = c.root.split(':');
    return {
      ...this.envelope(c.reconcileId, 'unicop.reconcile.command', c.root, undefined, now),
      dataschema: COMMAND_DATASCHEMA,
      data: {
        ...c,
        extraVars: {
          unicop_reconcile_id: c.reconcileId,
          unicop_root: c.root,
          unicop_root_type: rootType,
          unicop_root_id: Number(rootId),
          unicop_attempt: c.attempt,
          unicop_events: c.triggeringEvents,
          unicop_event_count: c.triggeringEventCount,
          unicop_desired_version: c.desiredVersion,
        },
      },
    };
  }

  private envelope(id: string, type: string, root: string, data: unknown, now: number) {
    return {
      specversion: '1.0',
      id,
      source: this.options.source,
      type,
      subject: root,
      time: new Date(now).toISOString(),
      datacontenttype: 'application/json',
      data,
    };
  }
}

/**
 * The data of a `unicop.root.state` message (`schemas/root-state.v1.schema.json`): the root's
 * reconcile fields, then what `restoreRoot` (state-restore.ts) needs to rebuild the whole record
 * after the data directory was lost. Event lists are bounded samples with their counts
 * (event-sample.ts), so the message has a fixed upper size. The HTTP API maps the record itself
 * (api/root-view.ts); this shape is the state topic's contract only.
 */
export function stateData(r: RootRecord) {
  return {
    root: r.root,
    state: r.state,
    attempt: r.attempt,
    inFlight: r.inFlight && {
      reconcileId: r.inFlight.reconcileId,
      attempt: r.inFlight.attempt,
      requestedAt: r.inFlight.requestedAt,
      deadline: r.inFlight.deadline,
      awxJobId: r.inFlight.awxJobId,
      triggeringEvents: r.inFlight.events,
      triggeringEventCount: r.inFlight.eventCount,
      ...(r.inFlight.desiredVersion === undefined ? {} : { desiredVersion: r.inFlight.desiredVersion }),
    },
    lastOutcome: r.lastOutcome,
    pendingFollowUp: r.followUpEventCount > 0,
    rule: r.rule,
    pendingEvents: r.pendingEvents,
    pendingEventCount: r.pendingEventCount,
    followUpEvents: r.followUpEvents,
    followUpEventCount: r.followUpEventCount,
    dueAt: r.dueAt === null ? null : new Date(r.dueAt).toISOString(),
    // Additive: a record that never succeeded with a projection keeps the message's earlier bytes.
    ...(r.appliedVersion === undefined ? {} : { appliedVersion: r.appliedVersion }),
  };
}
