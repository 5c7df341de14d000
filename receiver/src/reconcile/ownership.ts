import type { Scope } from '../model/event.js';
import type { RootRecord } from './state-machine.js';

/**
 * This cell's part in a root (ARCHITECTURE.md "Federation"). A root has one *holder*: the only cell
 * that may have an attempt in flight. The holder is `owned` while the root's scope gives it to this
 * cell and `releasing` once it moved away (its attempt in flight ends, then `unicop.root.released`);
 * a non-holder is `adopting` while the scope gives the root to this cell (it waits for a release
 * naming it) and `foreign` otherwise. Holding passes only through a released message, so two cells
 * never hold one root at once.
 */
export const OWNERSHIP_STATES = ['owned', 'releasing', 'adopting', 'foreign'] as const;
export type Ownership = (typeof OWNERSHIP_STATES)[number];

/** Which cell this is and which cell owns a scope (federation/federation.ts). */
export interface CellOwnership {
  cell: string;
  ownerOf(scope: Scope | null): string;
}

/** What one object event tells about ownership. */
export interface Sighting {
  /** ownerOf(the event's scope) */
  owner: string;
  eventId: string;
  sequence: string;
  scope: Scope;
  /** `data.route`: messages about the root take it (absent without federation). */
  route: string | undefined;
}

/** A release the reconciler read on the events topic. */
export interface Release {
  id: string;
  from: string;
  to: string;
  eventId: string;
  sequence: string;
  scope: Scope;
}

/** What a transition asks the reconciler to log, count and publish. */
export type OwnershipNote =
  | { kind: 'releasing'; to: string }
  | { kind: 'cancelled' }
  | { kind: 'adopting'; from: string | null }
  | { kind: 'abandoned'; to: string; dropped: number }
  | { kind: 'released'; to: string; dropped: number }
  | { kind: 'adopted'; release: Release }
  | { kind: 'passed'; release: Release; to: string };

/** Records from before ownership existed were reconciled here, by the only cell there was: owned. */
export function ownershipOf(r: RootRecord): Ownership {
  return r.ownership ?? 'owned';
}

/** The holder: the only cell that may have an attempt in flight for the root. */
export function holds(r: RootRecord): boolean {
  const o = ownershipOf(r);
  return o === 'owned' || o === 'releasing';
}

/** Whether the state machine may start an attempt (a first one, a retry or a follow-up). */
export function mayStart(r: RootRecord): boolean {
  return ownershipOf(r) === 'owned';
}

/**
 * An object event of the root (superseded ones never get here: they never move ownership). `known`
 * is false for a root this cell never recorded: it is simply owned by whoever `owner` says, no
 * release needed. Returns whether the change enters the state machine: not for a foreign root, whose
 * changes are the owner's to reconcile.
 */
export function sight(record: RootRecord, known: boolean, s: Sighting, cell: string): { record: RootRecord; reconcile: boolean; note: OwnershipNote | null } {
  const here = s.owner === cell;
  const before = known ? ownershipOf(record) : null;
  const t = transition(before, here, record);
  const r: RootRecord = { ...record, owner: s.owner, ownership: t.ownership, scope: s.scope };
  if (s.route === undefined) delete r.route;
  else r.route = s.route;
  // The event that moved the owner (or this cell's part): released and adopted name it and take its sequence.
  if (s.owner !== record.owner || t.ownership !== before) r.moved = { eventId: s.eventId, sequence: s.sequence };
  if (t.dropWaiting) Object.assign(r, { followUpEvents: [], followUpEventCount: 0 });
  const note: OwnershipNote | null =
    before === 'owned' && !here
      ? { kind: 'releasing', to: s.owner }
      : before === 'releasing' && here
        ? { kind: 'cancelled' }
        : before === 'foreign' && here
          ? { kind: 'adopting', from: record.owner ?? null }
          : before === 'adopting' && !here
            ? { kind: 'abandoned', to: s.owner, dropped: record.followUpEventCount }
            : null;
  return { record: r, reconcile: t.reconcile, note };
}

/**
 * The table of `sight`: this cell's part before (null: never recorded) and whether the event's scope
 * gives the root to this cell → the part after, whether the change enters the state machine, and
 * whether the changes that waited for an adoption are dropped.
 */
function transition(before: Ownership | null, here: boolean, r: RootRecord): { ownership: Ownership; reconcile: boolean; dropWaiting?: boolean } {
  switch (before) {
    case null:
      return { ownership: here ? 'owned' : 'foreign', reconcile: here };
    case 'owned':
      // Moving away with an attempt in flight: the change waits as a frozen follow-up, run only if the root moves back first.
      return here ? { ownership: 'owned', reconcile: true } : { ownership: 'releasing', reconcile: inFlight(r) };
    case 'releasing':
      // Not released yet: moving back needs no handover, and the frozen follow-up changes run again.
      return { ownership: here ? 'owned' : 'releasing', reconcile: true };
    case 'adopting':
      // It never held the root: nothing to end. The release it waited for is passed on when it comes.
      return here ? { ownership: 'adopting', reconcile: true } : { ownership: 'foreign', reconcile: false, dropWaiting: true };
    case 'foreign':
      return { ownership: here ? 'adopting' : 'foreign', reconcile: here };
  }
}

/**
 * A reconcile request carries no scope: it acts only where the root's last known owner is this cell.
 * A root never recorded is owned by whoever owns no scope (`"*"`), the same answer on every cell.
 */
export function sightRequest(record: RootRecord, known: boolean, ownerOfNoScope: string, cell: string): { record: RootRecord; reconcile: boolean } {
  if (known) return { record, reconcile: ownershipOf(record) === 'owned' };
  const ownership: Ownership = ownerOfNoScope === cell ? 'owned' : 'foreign';
  return { record: { ...record, owner: ownerOfNoScope, ownership }, reconcile: ownership === 'owned' };
}

/**
 * After every step: a releasing root with nothing in flight is released now. What waited (a debounce
 * window, follow-up changes) is dropped here, counted in the note: the new owner reconciles the root.
 */
export function settle(record: RootRecord): { record: RootRecord; note: OwnershipNote | null } {
  if (record.ownership !== 'releasing' || inFlight(record)) return { record, note: null };
  const dropped = record.pendingEventCount + record.followUpEventCount;
  const r: RootRecord = {
    ...record,
    ownership: 'foreign',
    state: record.state === 'pending' ? (record.lastOutcome?.result ?? 'idle') : record.state,
    pendingEvents: [],
    pendingEventCount: 0,
    followUpEvents: [],
    followUpEventCount: 0,
    dueAt: null,
  };
  return { record: r, note: { kind: 'released', to: record.owner ?? '', dropped } };
}

/**
 * A release naming this cell. Adopting: this cell holds the root from now on, and the changes that
 * waited become one pending reconcile, debounced as usual. Foreign (the root moved on before the
 * release came): the release is passed on to the owner now, so holding follows the owner. Holding
 * already, or a root never recorded: nothing to take (the note is null; the reconciler logs it).
 */
export function receiveRelease(record: RootRecord, known: boolean, release: Release, now: number): { record: RootRecord; note: OwnershipNote | null } {
  const o = known ? ownershipOf(record) : null;
  if (o === 'foreign' && record.owner !== undefined) return { record, note: { kind: 'passed', release, to: record.owner } };
  if (o !== 'adopting') return { record, note: null };
  const r: RootRecord = { ...record, ownership: 'owned' };
  if (r.followUpEventCount > 0 && r.rule) {
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
  return { record: r, note: { kind: 'adopted', release } };
}

function inFlight(r: RootRecord): boolean {
  return r.state === 'requested' || r.state === 'running';
}
