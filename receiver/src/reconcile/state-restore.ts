import { sampleOf } from './event-sample.js';
import type { AttemptRow } from './reconcile-store.js';
import type { RootRecord } from './state-machine.js';
import type { stateData } from './reconciler.js';

/** One message of the compacted state topic; `value` null is a tombstone. */
export interface StateTopicMessage {
  key: string;
  value: string | null;
}

type PublishedData = ReturnType<typeof stateData>;
type PublishedInFlight = NonNullable<PublishedData['inFlight']>;

/**
 * What a `unicop.root.state` message carries (`schemas/root-state.v1.schema.json`). The counts
 * came with the bounded event samples; messages published before them carry plain id lists.
 */
export interface StateMessage {
  subject: string;
  time: string;
  data: Omit<PublishedData, 'inFlight' | 'pendingEventCount' | 'followUpEventCount'> & {
    inFlight: (Omit<PublishedInFlight, 'triggeringEventCount'> & { triggeringEventCount?: number }) | null;
    pendingEventCount?: number;
    followUpEventCount?: number;
  };
}

/** An attempt in flight as the store keeps it (reconcile_attempts), to correlate AWX outcomes. */
export type RestoredAttempt = Omit<AttemptRow, 'outcome'>;

export interface RestoredRoot {
  record: RootRecord;
  attempt: RestoredAttempt | null;
  /** When the state was published: the record's updated_at, so `GET /v1/roots?state=` keeps its order. */
  at: number;
}

export type Restored = { kind: 'restored'; root: RestoredRoot } | { kind: 'skipped'; reason: SkipReason; detail: string };

/** Few and fixed: the metric's label. The detail goes to the log. */
export type SkipReason = 'not_json' | 'schema' | 'inconsistent';

/**
 * Compaction semantics while reading: the last value per key wins, a tombstone deletes the key.
 * Keys live on one partition, so per-partition order is the order that counts.
 */
export function keepLatest(latest: Map<string, string>, m: StateTopicMessage): void {
  if (m.value === null) latest.delete(m.key);
  else latest.set(m.key, m.value);
}

/**
 * One root's record (and its attempt in flight) from its latest state message, or why it cannot
 * be restored. `isStateMessage` is the schema's validator; `schemaErrors` describes its last failure.
 */
export function restoreRoot(key: string, value: string, isStateMessage: (v: unknown) => v is StateMessage, schemaErrors: () => string): Restored {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { kind: 'skipped', reason: 'not_json', detail: 'the value is not JSON' };
  }
  if (!isStateMessage(parsed)) return { kind: 'skipped', reason: 'schema', detail: schemaErrors() };
  const { data } = parsed;
  const problem = inconsistency(key, parsed);
  if (problem) return { kind: 'skipped', reason: 'inconsistent', detail: problem };
  const f = data.inFlight;
  const triggering = f && sampled(f.triggeringEvents, f.triggeringEventCount);
  const pending = sampled(data.pendingEvents, data.pendingEventCount);
  const followUp = sampled(data.followUpEvents, data.followUpEventCount);
  const record: RootRecord = {
    root: data.root,
    state: data.state,
    rule: data.rule,
    attempt: data.attempt,
    inFlight: f &&
      triggering && {
        reconcileId: f.reconcileId,
        attempt: f.attempt,
        requestedAt: f.requestedAt,
        deadline: f.deadline,
        awxJobId: f.awxJobId,
        events: triggering.sample,
        eventCount: triggering.count,
        ...(f.desiredVersion === undefined ? {} : { desiredVersion: f.desiredVersion }),
      },
    lastOutcome: data.lastOutcome,
    pendingEvents: pending.sample,
    pendingEventCount: pending.count,
    followUpEvents: followUp.sample,
    followUpEventCount: followUp.count,
    dueAt: data.dueAt === null ? null : Date.parse(data.dueAt),
    ...(data.appliedVersion === undefined ? {} : { appliedVersion: data.appliedVersion }),
  };
  const attempt = f && {
    reconcileId: f.reconcileId,
    root: data.root,
    attempt: f.attempt,
    requestedAt: Date.parse(f.requestedAt),
    deadlineAt: Date.parse(f.deadline),
    awxJobId: f.awxJobId,
  };
  return { kind: 'restored', root: { record, attempt, at: Date.parse(parsed.time) } };
}

/** What the schema cannot say: the invariants `step` (state-machine.ts) keeps between fields. */
function inconsistency(key: string, m: StateMessage): string | null {
  const data = m.data;
  if (data.root !== key || m.subject !== key) return `key ${key} differs from data.root ${data.root} or subject ${m.subject}`;
  const inFlightState = data.state === 'requested' || data.state === 'running';
  if (inFlightState !== (data.inFlight !== null)) return `state ${data.state} with inFlight ${data.inFlight === null ? 'null' : 'set'}`;
  if ((inFlightState || data.state === 'pending') && data.rule === null) return `state ${data.state} without the rule of its cycle`;
  if ((data.state === 'pending') !== (data.dueAt !== null)) return `state ${data.state} with dueAt ${String(data.dueAt)}`;
  if (data.inFlight && data.inFlight.attempt !== data.attempt) return `inFlight.attempt ${data.inFlight.attempt} differs from attempt ${data.attempt}`;
  const followUps = data.followUpEventCount ?? data.followUpEvents.length;
  if (data.pendingFollowUp !== followUps > 0) return 'pendingFollowUp disagrees with followUpEvents';
  const samples: Array<[string, string[], number | undefined]> = [
    ['pendingEvents', data.pendingEvents, data.pendingEventCount],
    ['followUpEvents', data.followUpEvents, data.followUpEventCount],
    ['inFlight.triggeringEvents', data.inFlight?.triggeringEvents ?? [], data.inFlight?.triggeringEventCount],
  ];
  for (const [name, ids, count] of samples) if (count !== undefined && count < ids.length) return `${name} holds ${ids.length} ids but counts ${count}`;
  return null;
}

/** A message's id list and count as a sample; a list without a count (an older message) is the whole list. */
function sampled(ids: string[], count: number | undefined): { sample: string[]; count: number } {
  return count === undefined ? sampleOf(ids) : { sample: [...ids], count };
}
