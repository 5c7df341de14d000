import { sampleOf } from './event-sample.js';
import type { AttemptRow } from './reconcile-store.js';
import type { RootRecord } from './state-machine.js';
import { DEFAULT_CELL } from '../federation/federation.js';
import type { stateData } from './reconcile-messages.js';

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
 * The newest value per key across several topics' latest values (one map per route): a root whose
 * route changed has a state on each, and the later `time` is its state now. A value that is not
 * JSON counts as oldest (kept only when it is the only one: restoreRoot then says why it is skipped).
 */
export function newestAcross(perTopic: readonly Map<string, string>[]): StateTopicMessage[] {
  if (perTopic.length === 1) return [...(perTopic[0] ?? [])].map(([key, value]) => ({ key, value }));
  const newest = new Map<string, { value: string; at: number }>();
  for (const latest of perTopic) {
    for (const [key, value] of latest) {
      const at = timeOf(value);
      const kept = newest.get(key);
      if (!kept || at > kept.at) newest.set(key, { value, at });
    }
  }
  return [...newest].map(([key, { value }]) => ({ key, value }));
}

function timeOf(value: string): number {
  try {
    const at = Date.parse((JSON.parse(value) as { time?: string }).time ?? '');
    return Number.isNaN(at) ? -Infinity : at;
  } catch {
    return -Infinity;
  }
}

/**
 * One root's record (and its attempt in flight) from its latest state message, or why it cannot
 * be restored. `isStateMessage` is the schema's validator; `schemaErrors` describes its last failure.
 * Cells share a route's state topic and only a root's holder publishes its state (reconciler.ts), so
 * the latest message may be another cell's (`data.cell`; absent: the single cell `default` of
 * receivers before federation): then this cell restores only that it does not hold the root —
 * foreign, or adopting when the message names this cell as the owner — never the other's attempt.
 */
export function restoreRoot(
  key: string,
  value: string,
  isStateMessage: (v: unknown) => v is StateMessage,
  schemaErrors: () => string,
  cell: string = DEFAULT_CELL,
): Restored {
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
    ...(data.owner === undefined ? {} : { owner: data.owner }),
    ...(data.ownership === undefined ? {} : { ownership: data.ownership }),
    ...(data.route === undefined ? {} : { route: data.route }),
    ...(data.scope === undefined ? {} : { scope: data.scope }),
    ...(data.moved === undefined ? {} : { moved: data.moved }),
  };
  if ((data.cell ?? DEFAULT_CELL) !== cell) return { kind: 'restored', root: { record: bystander(record, cell), attempt: null, at: Date.parse(parsed.time) } };
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

/**
 * Another cell's state of a root, as this cell keeps it: its outcomes for the record, nothing of its
 * cycle (the attempt in flight and the waiting changes are the other cell's), and this cell holding
 * nothing — it adopts only through a release, so two cells never hold the root.
 */
function bystander(r: RootRecord, cell: string): RootRecord {
  return {
    ...r,
    state: r.state === 'requested' || r.state === 'running' || r.state === 'pending' ? (r.lastOutcome?.result ?? 'idle') : r.state,
    attempt: 0,
    inFlight: null,
    pendingEvents: [],
    pendingEventCount: 0,
    followUpEvents: [],
    followUpEventCount: 0,
    dueAt: null,
    ownership: r.owner === cell ? 'adopting' : 'foreign',
  };
}
