import type { Scope } from '../model/event.js';
import { appendToSample, mergeSamples } from './event-sample.js';
import { mayStart, type Ownership } from './ownership.js';
import type { FailureClass, ReconcileRule } from './reconcile-policy.js';

/** Per root: idle → pending → requested → running → succeeded | failed(class) | timed_out (ARCHITECTURE.md). */
export const RECONCILE_STATES = ['idle', 'pending', 'requested', 'running', 'succeeded', 'failed', 'timed_out'] as const;
export type ReconcileState = (typeof RECONCILE_STATES)[number];

/** States in which nothing is in flight and a change starts a new cycle. */
const AT_REST: ReadonlySet<ReconcileState> = new Set(['idle', 'succeeded', 'failed', 'timed_out']);

export interface InFlight {
  reconcileId: string;
  attempt: number;
  requestedAt: string;
  deadline: string;
  awxJobId: number | null;
  /** A sample of the events this attempt covers (a retry covers them again); see event-sample.ts. */
  events: string[];
  /** How many events this attempt covers. */
  eventCount: number;
  /** The root's desiredVersion when the command was made (absent in records of older receivers). */
  desiredVersion?: string | null;
}

export interface Outcome {
  reconcileId: string;
  root: string;
  attempt: number;
  result: 'succeeded' | 'failed' | 'timed_out';
  class: FailureClass | null;
  message: string | null;
  awxJobId: number | null;
  at: string;
  /** On success, the desiredVersion the attempt applied (its command's); null otherwise. Absent in older records. */
  appliedVersion?: string | null;
}

export interface RootRecord {
  root: string;
  state: ReconcileState;
  /** The rule of the current cycle (chosen by its first change). */
  rule: ReconcileRule | null;
  attempt: number;
  inFlight: InFlight | null;
  lastOutcome: Outcome | null;
  /** Sample of the events collected during the debounce window; they trigger the next attempt. */
  pendingEvents: string[];
  pendingEventCount: number;
  /** Sample of the events that arrived while an attempt was in flight: they coalesce into exactly one follow-up. */
  followUpEvents: string[];
  followUpEventCount: number;
  /** End of the debounce window (ms since epoch) while pending. */
  dueAt: number | null;
  /** The desiredVersion of the last successful attempt (absent before one, and in older records). */
  appliedVersion?: string | null;
  /** The cell that owns the root by its latest object event's scope (UNICOP_FEDERATION `owners`); absent before one named it. */
  owner?: string;
  /** This cell's part in the root (ownership.ts); absent in records from before ownership, which were owned here. */
  ownership?: Ownership;
  /** `data.route` of the latest object event: every message about the root takes that route. */
  route?: string;
  /** The latest object event's scope (handover messages carry it). */
  scope?: Scope;
  /** The event that last changed `owner`: released and adopted name it and take its sequence. */
  moved?: { eventId: string; sequence: string };
}

export interface Command {
  reconcileId: string;
  root: string;
  attempt: number;
  jobTemplate: { name: string; organization: string };
  /** A bounded sample of the covered events (event-sample.ts); the count says how many there were. */
  triggeringEvents: string[];
  triggeringEventCount: number;
  deadline: string;
  /** The root's desiredVersion when the command was made: the desired state this attempt applies (null: no projection). */
  desiredVersion: string | null;
}

export type Input =
  | { kind: 'change'; eventId: string; rule: ReconcileRule; now: number }
  | { kind: 'tick'; now: number }
  | { kind: 'started'; reconcileId: string; awxJobId: number | null; now: number }
  | {
      kind: 'finished';
      reconcileId: string;
      result: 'succeeded' | 'failed';
      class: FailureClass | null;
      message: string | null;
      awxJobId: number | null;
      now: number;
    };

export type Effect = { kind: 'command'; command: Command } | { kind: 'outcome'; outcome: Outcome };

export interface Step {
  record: RootRecord;
  effects: Effect[];
  /** False when the input did not apply (a stale or unknown reconcile id): nothing changed. */
  applied: boolean;
}

export function restingRecord(root: string): RootRecord {
  return {
    root,
    state: 'idle',
    rule: null,
    attempt: 0,
    inFlight: null,
    lastOutcome: null,
    pendingEvents: [],
    pendingEventCount: 0,
    followUpEvents: [],
    followUpEventCount: 0,
    dueAt: null,
  };
}

/**
 * The whole reconcile behaviour of one root as a pure function: no clock, no I/O, ids from
 * `newId`. At most one attempt in flight, and only while this cell owns the root (ownership.ts);
 * changes during flight coalesce into one follow-up;
 * retries only as the rule's budget for the failure class allows, each a new visible command;
 * silence past the deadline becomes an explicit `timed_out`. `desiredVersion` is the root's current
 * one (desired/): a command made by this step carries it, a success records it as applied.
 */
export function step(record: RootRecord, input: Input, newId: () => string, desiredVersion: string | null = null): Step {
  const r: RootRecord = { ...record };
  const effects: Effect[] = [];
  switch (input.kind) {
    case 'change': {
      if (r.ownership === 'adopting') {
        // Not this cell's to start until the release comes (ownership.ts): the changes wait, then become one pending reconcile.
        if (r.followUpEventCount === 0) r.rule = input.rule;
        r.followUpEvents = appendToSample(r.followUpEvents, input.eventId);
        r.followUpEventCount += 1;
      } else if (AT_REST.has(r.state)) {
        Object.assign(r, {
          state: 'pending',
          rule: input.rule,
          attempt: 0,
          pendingEvents: [input.eventId],
          pendingEventCount: 1,
          dueAt: input.now + input.rule.debounceMs,
        });
      } else if (r.state === 'pending') {
        r.pendingEvents = appendToSample(r.pendingEvents, input.eventId);
        r.pendingEventCount += 1;
      } else {
        r.followUpEvents = appendToSample(r.followUpEvents, input.eventId);
        r.followUpEventCount += 1;
      }
      return { record: r, effects, applied: true };
    }
    case 'tick': {
      if (r.state === 'pending' && r.dueAt !== null && input.now >= r.dueAt && mayStart(r)) {
        effects.push(launch(r, r.pendingEvents, r.pendingEventCount, input.now, newId, desiredVersion));
        return { record: r, effects, applied: true };
      }
      if ((r.state === 'requested' || r.state === 'running') && r.inFlight && input.now >= Date.parse(r.inFlight.deadline)) {
        conclude(
          r,
          effects,
          { result: 'timed_out', class: 'timeout', message: 'no outcome before the deadline', awxJobId: r.inFlight.awxJobId },
          input.now,
          newId,
          desiredVersion,
        );
        return { record: r, effects, applied: true };
      }
      return { record, effects, applied: false };
    }
    case 'started': {
      if (!r.inFlight || r.inFlight.reconcileId !== input.reconcileId || r.state !== 'requested') {
        return { record, effects, applied: false };
      }
      r.state = 'running';
      r.inFlight = { ...r.inFlight, awxJobId: input.awxJobId ?? r.inFlight.awxJobId };
      return { record: r, effects, applied: true };
    }
    case 'finished': {
      if (!r.inFlight || r.inFlight.reconcileId !== input.reconcileId) return { record, effects, applied: false };
      conclude(
        r,
        effects,
        { result: input.result, class: input.class, message: input.message, awxJobId: input.awxJobId ?? r.inFlight.awxJobId },
        input.now,
        newId,
        desiredVersion,
      );
      return { record: r, effects, applied: true };
    }
  }
}

function launch(r: RootRecord, events: string[], eventCount: number, now: number, newId: () => string, desiredVersion: string | null): Effect {
  const rule = r.rule;
  if (!rule) throw new Error(`root ${r.root} has no rule to launch with`);
  r.attempt += 1;
  const deadline = new Date(now + rule.deadlineMs).toISOString();
  const command: Command = {
    reconcileId: newId(),
    root: r.root,
    attempt: r.attempt,
    jobTemplate: rule.jobTemplate,
    triggeringEvents: events,
    triggeringEventCount: eventCount,
    deadline,
    desiredVersion,
  };
  r.state = 'requested';
  r.inFlight = {
    reconcileId: command.reconcileId,
    attempt: r.attempt,
    requestedAt: new Date(now).toISOString(),
    deadline,
    awxJobId: null,
    events,
    eventCount,
    desiredVersion,
  };
  r.pendingEvents = [];
  r.pendingEventCount = 0;
  r.dueAt = null;
  return { kind: 'command', command };
}

function conclude(
  r: RootRecord,
  effects: Effect[],
  verdict: Pick<Outcome, 'result' | 'class' | 'message' | 'awxJobId'>,
  now: number,
  newId: () => string,
  desiredVersion: string | null,
): void {
  const inFlight = r.inFlight;
  if (!inFlight || !r.rule) return;
  const applied = verdict.result === 'succeeded' ? (inFlight.desiredVersion ?? null) : null;
  const outcome: Outcome = {
    reconcileId: inFlight.reconcileId,
    root: r.root,
    attempt: inFlight.attempt,
    ...verdict,
    at: new Date(now).toISOString(),
    appliedVersion: applied,
  };
  if (verdict.result === 'succeeded') r.appliedVersion = applied;
  effects.push({ kind: 'outcome', outcome });
  r.lastOutcome = outcome;
  r.inFlight = null;
  r.state = verdict.result;
  const budget = verdict.class ? (r.rule.retry[verdict.class] ?? 0) : 0;
  const retries = r.attempt - 1;
  // A root moving to another cell starts nothing more here: no retry, no follow-up (ownership.ts releases it).
  if (!mayStart(r)) return;
  if (verdict.result !== 'succeeded' && retries < budget) {
    // A retry by policy: a new command with the next attempt number, never a silent relaunch.
    effects.push(launch(r, mergeSamples(inFlight.events, r.followUpEvents), inFlight.eventCount + r.followUpEventCount, now, newId, desiredVersion));
    Object.assign(r, { followUpEvents: [], followUpEventCount: 0 });
    return;
  }
  if (r.followUpEventCount > 0) {
    // Changes arrived during the attempt: exactly one follow-up cycle covers all of them.
    Object.assign(r, {
      state: 'pending',
      attempt: 0,
      pendingEvents: r.followUpEvents,
      pendingEventCount: r.followUpEventCount,
      followUpEvents: [],
      followUpEventCount: 0,
      dueAt: now + r.rule.debounceMs,
    });
  }
}
