import { hostname } from 'node:os';
import type { Config } from './config.js';
import type { Db } from './database.js';
import type { Logger } from './log.js';
import { OutboxStore } from './pipeline/outbox/outbox-store.js';
import { LaneLeases, type LaneLeaseMetrics } from './pipeline/publish/lane-leases.js';
import { laneOf } from './pipeline/publish/lanes.js';
import { openReceiverStore } from './receiver-database.js';
import { Lease } from './store/lease.js';

/** The store, and what a receiver needs to share it with others: the relay lanes it publishes, the duties it may hold. */
export interface ReceiverStore {
  db: Db;
  outbox: OutboxStore;
  /** PostgreSQL, possibly with other receivers on it; false for the one receiver of a SQLite file. */
  shared: boolean;
  lanes: LaneLeases;
  /** Duties one receiver of a shared store does for all (store/lease.ts). */
  duties: { awxPoller: Lease; changelogCatchup: Lease; snapshots: Lease };
  start(): void;
  /** Gives lanes and duties back (the others take them at once), then closes the store. */
  close(): Promise<void>;
}

/**
 * Opens the store (`UNICOP_DATABASE_URL`: PostgreSQL, else SQLite) with its lanes and duty leases.
 * Several receivers share the lanes of a PostgreSQL store (one per partition of the events topic);
 * the one SQLite receiver publishes one lane and holds every lease from the start.
 */
export function openStoreParts(config: Config, metrics: LaneLeaseMetrics, log: Logger): ReceiverStore {
  const db = openReceiverStore(config);
  const shared = db.dialect === 'postgres';
  const laneCount = shared ? config.topicPartitions : 1;
  // Unique among live receivers: one host cannot listen twice on a port, and a restart is a new process.
  const holder = `${hostname()}:${config.port}:${process.pid}`;
  const ttlMs = config.laneLeaseS * 1000;
  const lanes = new LaneLeases({ db, lanes: laneCount, holder, ttlMs, exclusive: !shared, metrics, log: log.child({ stage: 'publish' }) });
  const duty = (name: string): Lease => new Lease({ db, name, holder, ttlMs, exclusive: !shared, log: log.child({ stage: 'lease' }) });
  const duties = { awxPoller: duty('awx-poller'), changelogCatchup: duty('changelog-catchup'), snapshots: duty('snapshots') };
  return {
    db,
    outbox: new OutboxStore(db, laneOf(laneCount)),
    shared,
    lanes,
    duties,
    start() {
      lanes.start();
      for (const lease of Object.values(duties)) lease.start();
    },
    async close() {
      await Promise.all([lanes.stop(), ...Object.values(duties).map((lease) => lease.stop())]);
      db.close();
    },
  };
}
