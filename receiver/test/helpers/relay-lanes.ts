import type { Db } from '../../src/database.js';
import { OutboxStore } from '../../src/pipeline/outbox/outbox-store.js';

/**
 * What the relay of the one receiver records once Kafka acknowledged every row up to `toPos`: the
 * position, through the store's fenced write, under a lease on every lane (taken here, as the
 * receiver's LaneLeases would).
 */
export function markPublished(db: Db, toPos: number): void {
  db.prepare("UPDATE relay_lanes SET holder = 'test', generation = 1 WHERE holder IS NULL").run();
  const store = new OutboxStore(db);
  for (const { lane } of db.prepare<[], { lane: number }>('SELECT lane FROM relay_lanes').all()) store.advanceLane(lane, toPos, 'test', 1);
}
