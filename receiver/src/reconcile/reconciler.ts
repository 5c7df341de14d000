import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { Logger } from '../log.js';
import type { EventEnvelope } from '../model/event.js';
import type { OutboxStore } from '../pipeline/outbox/outbox-store.js';
import { readNotification, type AwxNotification } from './awx-notification.js';
import { matchRule, type ReconcilePolicy } from './reconcile-policy.js';
import type { ReconcileStore } from './reconcile-store.js';
import { step, type Command, type Input, type Outcome, type RootRecord } from './state-machine.js';

const OUTCOME_ID_NAMESPACE = 'b3c1d1e2-7f4a-4b8e-9a51-0d6f2c3e4a10';
export const COMMAND_DATASCHEMA = 'https://unicop.dev/schemas/reconcile-command.v1.schema.json';
export const ROOT_STATE_DATASCHEMA = 'https://unicop.dev/schemas/root-state.v1.schema.json';

export interface ReconcilerMetrics {
  command(attempt: number): void;
  outcome(result: string, failureClass: string | null): void;
  orphan(reason: string): void;
}

export interface ReconcilerOptions {
  policy: ReconcilePolicy;
  store: ReconcileStore;
  outbox: Pick<OutboxStore, 'insertMessage'>;
  /** Rows were committed to the outbox (wake the relay, count depth). */
  onCommit: (rows: number) => void;
  source: string;
  metrics: ReconcilerMetrics;
  log: Logger;
  now?: () => number;
  newId?: () => string;
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

  constructor(private readonly o: ReconcilerOptions) {
    this.now = o.now ?? Date.now;
    this.newId = o.newId ?? randomUUID;
  }

  /** One message of the events topic. Superseded events and roots no rule matches start nothing. */
  handleEvent(value: string): void {
    const event = JSON.parse(value) as EventEnvelope;
    if (!event?.data?.root || event.data.superseded) return;
    const objectType = event.data.action === 'reconcile' ? null : event.data.object.type;
    const rule = matchRule(this.o.policy, event.data.root.type, objectType);
    if (!rule) return;
    const now = this.now();
    this.transact(event.data.root.key, { kind: 'change', eventId: event.id, rule, now }, event.id);
  }

  /** Debounce windows that ended and deadlines that passed. */
  tick(): void {
    const now = this.now();
    for (const root of this.o.store.dueRoots(now)) this.transact(root, { kind: 'tick', now });
  }

  /** An AWX notification (or a poll result in the same shape). Unknown attempts are kept as orphans. */
  notify(body: AwxNotification): NotificationResult {
    const reading = readNotification(body);
    const now = this.now();
    if (reading.kind === 'unusable') return this.orphan(reading.reconcileId, reading.reason, body);
    const attempt = this.o.store.attempt(reading.reconcileId);
    if (!attempt) return this.orphan(reading.reconcileId, 'no such reconcile attempt', body);
    if (reading.awxJobId !== null) this.o.store.setAwxJob(reading.reconcileId, reading.awxJobId);
    const input: Input =
      reading.kind === 'started'
        ? { kind: 'started', reconcileId: reading.reconcileId, awxJobId: reading.awxJobId, now }
        : { kind: 'finished', reconcileId: reading.reconcileId, result: reading.result, class: reading.class, message: reading.message, awxJobId: reading.awxJobId, now };
    return this.transact(attempt.root, input) ? 'applied' : 'stale';
  }

  /** True while a new database's state is rebuilt from the state topic: reads and notifications answer 503 meanwhile. */
  get rebuilding(): boolean {
    return this.o.store.rebuilding;
  }

  record(root: string): RootRecord | null {
    return this.o.store.hasRecord(root) ? this.o.store.record(root) : null;
  }

  private orphan(reconcileId: string | null, reason: string, body: unknown): NotificationResult {
    this.o.store.keepOrphan(reconcileId, reason, JSON.stringify(body), this.now());
    this.o.metrics.orphan(reason);
    this.o.log.warn({ reconcileId, reason }, 'AWX notification matches no attempt; kept as an orphan');
    return 'orphan';
  }

  /** Applies one input to one root and stores everything it caused; returns whether it applied. */
  private transact(root: string, input: Input, eventId?: string): boolean {
    let rows = 0;
    const outcomes: Outcome[] = [];
    const commands: Command[] = [];
    const applied = this.o.store.transaction(() => {
      if (eventId !== undefined) {
        if (this.o.store.seen(eventId)) return false;
        this.o.store.markSeen(eventId, input.now);
      }
      const s = step(this.o.store.record(root), input, this.newId);
      if (!s.applied) return false;
      this.o.store.save(s.record, input.now);
      for (const effect of s.effects) {
        if (effect.kind === 'command') {
          const c = effect.command;
          this.o.store.addAttempt(c.reconcileId, c.root, c.attempt, input.now, Date.parse(c.deadline));
          this.o.outbox.insertMessage('reconcileRequests', c.root, c.reconcileId, JSON.stringify(this.commandEnvelope(c, input.now)), input.now);
          commands.push(c);
        } else {
          this.o.store.setOutcome(effect.outcome);
          const id = uuidv5(effect.outcome.reconcileId, OUTCOME_ID_NAMESPACE);
          this.o.outbox.insertMessage('reconcileOutcomes', root, id, JSON.stringify(this.envelope(id, 'unicop.reconcile.outcome', root, effect.outcome, input.now)), input.now);
          outcomes.push(effect.outcome);
        }
        rows++;
      }
      const stateId = this.newId();
      const state = { ...this.envelope(stateId, 'unicop.root.state', root, undefined, input.now), dataschema: ROOT_STATE_DATASCHEMA, data: stateData(s.record) };
      this.o.outbox.insertMessage('rootsState', root, stateId, JSON.stringify(state), input.now);
      rows++;
      return true;
    });
    if (!applied) return false;
    this.o.onCommit(rows);
    for (const c of commands) {
      this.o.metrics.command(c.attempt);
      this.o.log.info({ root, reconcileId: c.reconcileId, attempt: c.attempt, template: c.jobTemplate.name }, 'reconcile requested');
    }
    for (const o of outcomes) {
      this.o.metrics.outcome(o.result, o.class);
      this.o.log.info({ root, reconcileId: o.reconcileId, result: o.result, class: o.class }, 'reconcile outcome');
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
        },
      },
    };
  }

  private envelope(id: string, type: string, root: string, data: unknown, now: number) {
    return { specversion: '1.0', id, source: this.o.source, type, subject: root, time: new Date(now).toISOString(), datacontenttype: 'application/json', data };
  }
}

/** The reconcile part of `GET /v1/roots/{root}` (and the first fields of the state message). */
export function rootView(r: RootRecord) {
  return {
    root: r.root,
    state: r.state,
    attempt: r.attempt,
    inFlight: r.inFlight && { reconcileId: r.inFlight.reconcileId, attempt: r.inFlight.attempt, requestedAt: r.inFlight.requestedAt, deadline: r.inFlight.deadline, awxJobId: r.inFlight.awxJobId },
    lastOutcome: r.lastOutcome,
    pendingFollowUp: r.followUpEvents.length > 0,
  };
}

/**
 * The data of a `unicop.root.state` message (`schemas/root-state.v1.schema.json`): the API view
 * plus what `restoreRoot` (state-restore.ts) needs to rebuild the whole record after the data
 * directory was lost. Additive: readers of the view fields see them unchanged.
 */
export function stateData(r: RootRecord) {
  const view = rootView(r);
  return {
    ...view,
    inFlight: view.inFlight && r.inFlight && { ...view.inFlight, triggeringEvents: r.inFlight.events },
    rule: r.rule,
    pendingEvents: r.pendingEvents,
    followUpEvents: r.followUpEvents,
    dueAt: r.dueAt === null ? null : new Date(r.dueAt).toISOString(),
  };
}
