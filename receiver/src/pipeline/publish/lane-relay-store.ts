import type { LaneLeases } from './lane-leases.js';
import { DEFAULT_CELL } from '../../federation/federation.js';
import { transactionalIdOf } from './lane-transactions.js';
import type { RelayLane } from './lane-recovery.js';
import type { RecordOrigin } from './outbox-headers.js';
import type { RelayRow, RelayStore } from './relay.js';

/** The outbox's rows by lane (the outbox store). */
export interface LaneRows {
  pending(limit: number, lanes: readonly number[]): RelayRow[];
  advanceLane(lane: number, toPos: number, holder: string, generation: number): boolean;
  /** The lane's cursor: every row of it at or below is published. */
  laneCursor(lane: number): number;
  /** The lane and message id of the row at `pos`, if the store has it. */
  rowAt(pos: number): { lane: number; messageId: string } | undefined;
}

/**
 * The outbox as the relay of one receiver sees it: the rows of the lanes it holds, in commit order,
 * and each acknowledged batch recorded per lane with the lane's lease generation (fenced: a lane
 * taken over meanwhile keeps the new holder's cursor, and this receiver lets the lane go).
 */
export function laneRelayStore(store: LaneRows, leases: LaneLeases, topicPrefix: string, cell = DEFAULT_CELL): RelayStore {
  const fencedAdvance = (lane: number, pos: number): boolean => {
    const generation = leases.generationOf(lane);
    return generation !== undefined && store.advanceLane(lane, pos, leases.holder, generation);
  };
  return {
    beforeBatch: () => leases.settle(),
    lanes: () =>
      [...leases.publishable()].map(([lane, generation]): RelayLane => {
        const partition = leases.lanes.indexOf(lane);
        return { lane, generation, partition, of: leases.lanes.length, transactionalId: transactionalIdOf(topicPrefix, leases.route, partition, cell) };
      }),
    pending: (limit, lanes) => store.pending(limit, lanes),
    markPublished: (batch: readonly RelayRow[]) => {
      const last = new Map<number, number>();
      for (const row of batch) last.set(row.lane, row.pos);
      for (const [lane, pos] of last) if (!fencedAdvance(lane, pos)) leases.lost(lane);
    },
    recognises: (lane: RelayLane, origin: RecordOrigin) => {
      const row = store.rowAt(origin.pos);
      return row !== undefined && row.lane === lane.lane && row.messageId === origin.messageId;
    },
    recover: (lane: RelayLane, pos: number) => {
      const cursor = store.laneCursor(lane.lane);
      if (!fencedAdvance(lane.lane, pos)) {
        leases.lost(lane.lane);
        return 'lost';
      }
      return pos > cursor ? { from: cursor } : 'current';
    },
    lost: (lane) => leases.lost(lane),
  };
}
