import type { Db } from '../../database.js';
import { laneOf } from './lanes.js';

/** A message's lane: its route and the partition its key maps to there, numbered once per store. */
export interface LaneMap {
  /** The route of messages about no root (rejects, audit, access, snapshot frames). */
  readonly home: string;
  laneOf(route: string, key: string): number;
  /** The lane numbers of a route, by partition. */
  lanesOf(route: string): readonly number[];
  /** Unpublished rows in lanes no configured route has (a route removed from the file, a partition count lowered). */
  stranded: readonly { route: string; rows: number }[];
}

/**
 * Registers every route's lanes in the store — (route, partition) → a lane number, new ones after
 * the highest so far — and maps message keys to them. Receivers sharing a store register under its
 * write lock, so all of them agree on every number; the default route of a store older than routes
 * keeps its numbers (lane = partition). One SQLite receiver has one lane per route.
 */
export function registerRouteLanes(db: Db, routes: readonly string[], home: string, partitions: number): LaneMap {
  const add = db.prepare<[string, number, string, number]>(
    // The aggregate yields a row even over no rows: the condition goes outside it.
    `INSERT INTO relay_lanes (lane, route, kafka_partition, cursor)
     SELECT next.lane, ?, ?, 0 FROM (SELECT coalesce(max(lane) + 1, 0) AS lane FROM relay_lanes) next
     WHERE NOT EXISTS (SELECT 1 FROM relay_lanes WHERE route = ? AND kafka_partition = ?)`,
  );
  const read = db.prepare<[], { lane: number; route: string; kafka_partition: number }>('SELECT lane, route, kafka_partition FROM relay_lanes');
  const pendingByRoute = db.prepare<[], { route: string; kafka_partition: number; n: number }>(
    `SELECT l.route, l.kafka_partition, count(*) AS n FROM outbox o JOIN relay_lanes l ON l.lane = o.lane
      WHERE o.pos > l.cursor GROUP BY l.route, l.kafka_partition`,
  );
  const byRoute = new Map<string, number[]>();
  const stranded = new Map<string, number>();
  db.transaction(() => {
    for (const route of routes) for (let p = 0; p < partitions; p++) add.run(route, p, route, p);
    for (const row of read.all()) {
      if (row.kafka_partition >= partitions || !routes.includes(row.route)) continue;
      const lanes = byRoute.get(row.route) ?? [];
      lanes[row.kafka_partition] = row.lane;
      byRoute.set(row.route, lanes);
    }
    for (const row of pendingByRoute.all()) {
      if (row.kafka_partition < partitions && routes.includes(row.route)) continue;
      stranded.set(row.route, (stranded.get(row.route) ?? 0) + Number(row.n));
    }
  })();
  const partitionOf = laneOf(partitions);
  const lanesOf = (route: string): readonly number[] => {
    const lanes = byRoute.get(route);
    if (!lanes) throw new Error(`unknown route "${route}"`);
    return lanes;
  };
  return {
    home,
    laneOf: (route, key) => lanesOf(route)[partitionOf(key)]!,
    lanesOf,
    stranded: [...stranded].map(([route, rows]) => ({ route, rows })),
  };
}
