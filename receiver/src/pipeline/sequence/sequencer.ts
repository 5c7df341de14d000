import { formatSequence, type DraftEvent, type EventEnvelope } from '../../model/event.js';

/** Read side of the per-root and per-object state; the outbox implements it inside its transaction. */
export interface SequenceState {
  /** Last sequence given to the root, 0 when none. */
  lastSequence(root: string): number;
  /** Newest version mark seen for the object, null when none. */
  newestVersion(subject: string): string | null;
}

export interface SequencedEvent {
  envelope: EventEnvelope;
  /** What the outbox records with the event: the root's new counter and the object's newest mark. */
  rootSequence: number;
  versionMark: string | null;
}

/** Same instant: a deletion outranks an update, an update a creation (NetBox coalesces per request). */
const ACTION_RANK: Readonly<Record<string, string>> = { created: '0', updated: '1', deleted: '2', reconcile: '3' };

/**
 * Gives the event the next number of its root and flags it `superseded` when a newer version of
 * the same object was already sequenced: NetBox delivers without order (RQ, retries, several
 * workers), so an older version can arrive late. It is still published, for the audit trail, but
 * reconcilers ignore it. Must run inside the transaction that stores the result.
 */
export function sequenceEvent(state: SequenceState, draft: DraftEvent): SequencedEvent {
  const { envelope } = draft;
  const rootSequence = state.lastSequence(envelope.partitionkey) + 1;
  const mark = draft.versionKey === null ? null : draft.versionKey + (ACTION_RANK[envelope.data.action] ?? '');
  const newest = state.newestVersion(envelope.subject);
  const superseded = envelope.data.action !== 'reconcile' && mark !== null && newest !== null && mark < newest;
  return {
    envelope: {
      ...envelope,
      sequence: formatSequence(rootSequence),
      // A reconcile request is never superseded: its data says so already (`superseded: false`).
      data: envelope.data.action === 'reconcile' ? envelope.data : { ...envelope.data, superseded },
    },
    rootSequence,
    versionMark: newest !== null && (mark === null || mark < newest) ? newest : mark,
  };
}
