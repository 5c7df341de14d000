import type { LaneLeases } from './lane-leases.js';
import type { RelayRow, RelayStore } from './relay.js';

/** The outbox's rows by lane (the outbox store). */
export interface LaneRows {
  pending(limit: number, lanes: readonly number[]): RelayRow[];
  advanceLane(lane: number, toPos: number, holder: string, generation: number): boolean;
}

/**
 * The outbox as the relay of one receiver sees it: the rows of the lanes it holds, in commit order,
 * and each acknowledged batch recorded per lane with the lane's lease generation (fenced: a lane
 * taken over meanwhile keeps the new holder's cursor, and this receiver lets the lane go).
 */
export function laneRelayStore(store: LaneRows, leases: LaneLeases): RelayStore {
  return {
    beforeBatch: () => leases.settle(),
    pending: (limit) => store.pending(limit, [...leases.publishable().keys()]),
    markPublished: (batch: readonly RelayRow[]) => {
      const last = new Map<number, number>();
      for (const row of batch) last.set(row.lane, row.pos);
      for (const [lane, pos] of last) {
        const generation = leases.generationOf(lane);
        if (generation === undefined || !store.advanceLane(lane, pos, leases.holder, generation)) leases.lost(lane);
      }
    },
  };
}
