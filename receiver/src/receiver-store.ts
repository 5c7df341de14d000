import { hostname } from 'node:os';
import type { Config } from './config.js';
import type { Db } from './database.js';
import { UnicopError } from './errors.js';
import type { Federation } from './federation/federation.js';
import type { Logger } from './log.js';
import { OutboxStore } from './pipeline/outbox/outbox-store.js';
import { LaneLeases, type LaneLeaseMetrics } from './pipeline/publish/lane-leases.js';
import { registerRouteLanes, type LaneMap } from './pipeline/publish/route-lanes.js';
import { openReceiverStore } from './receiver-database.js';
import { Lease } from './store/lease.js';
import { SqliteDb } from './store/sqlite-db.js';

/** The store, and what a receiver needs to share it with others: its name among them, the duties it may hold. */
export interface ReceiverStore {
  db: Db;
  outbox: OutboxStore;
  /** PostgreSQL, possibly with other receivers on it; false for the one receiver of a SQLite file. */
  shared: boolean;
  laneMap: LaneMap;
  /** This receiver among the live ones: the holder of its duty and lane leases (the lanes are the relay thread's: relay-worker.ts). */
  holder: string;
  /** Duties one receiver of a shared store does for all (store/lease.ts); the changelog catch-up is one per source. */
  duties: { awxPoller: Lease; changelogCatchup: ReadonlyMap<string, Lease>; snapshots: Lease };
  start(): void;
  /** Gives the duties back (the others take them at once), then closes the store. */
  close(): Promise<void>;
}

/** Unique among live receivers: one host cannot listen twice on a port, and a restart is a new process. */
export function receiverHolder(port: number): string {
  return `${hostname()}:${port}:${process.pid}`;
}

/**
 * The relay lanes this receiver may publish, per route (the relay thread holds them on its own
 * connection). Several receivers share the lanes of a PostgreSQL store (per route, one per partition
 * of its events topic); the one SQLite receiver publishes one lane per route and holds it from the start.
 */
export function openLaneLeases(
  db: Db,
  config: Pick<Config, 'laneLeaseS'>,
  laneMap: LaneMap,
  routes: readonly string[],
  holder: string,
  metrics: (route: string) => LaneLeaseMetrics,
  log: Logger,
): Map<string, LaneLeases> {
  return new Map(
    routes.map((route) => [
      route,
      new LaneLeases({
        db,
        route,
        lanes: laneMap.lanesOf(route),
        holder,
        ttlMs: config.laneLeaseS * 1000,
        exclusive: db.dialect !== 'postgres',
        metrics: metrics(route),
        log: log.child({ stage: 'publish', route }),
      }),
    ]),
  );
}

/**
 * Opens the store (`UNICOP_DATABASE_URL`: PostgreSQL, else SQLite) with its lanes registered and its
 * duty leases. Rows left unpublished in lanes of a route no longer configured stop start-up: they
 * would never be published.
 */
export function openStoreParts(config: Config, federation: Federation, log: Logger): ReceiverStore {
  const db = openReceiverStore(config);
  const shared = db.dialect === 'postgres';
  const routes = federation.routes.map((r) => r.name);
  let laneMap: LaneMap;
  try {
    laneMap = registerRouteLanes(db, routes, federation.home.name, shared ? config.topicPartitions : 1);
  } catch (error) {
    db.close();
    throw error;
  }
  if (laneMap.stranded.length > 0) {
    db.close();
    throw new UnicopError('UNICOP_FEDERATION_INVALID', 'unpublished rows wait in lanes of routes that are not configured', {
      details: laneMap.stranded.map((s) => ({
        pointer: `/routes`,
        message: `route "${s.route}" holds ${s.rows} unpublished row(s): configure it again (same name) until they are published`,
      })),
    });
  }
  // The relay thread copies the WAL back into the file (relay-worker.ts), so no request's commit pays for a checkpoint.
  if (db instanceof SqliteDb) db.pragma('wal_autocheckpoint = 0');
  const holder = receiverHolder(config.port);
  const ttlMs = config.laneLeaseS * 1000;
  const duty = (name: string): Lease => new Lease({ db, name, holder, ttlMs, exclusive: !shared, log: log.child({ stage: 'lease' }) });
  const catchupDuty = (source: string): string => (source === 'default' ? 'changelog-catchup' : `changelog-catchup:${source}`);
  const duties = {
    awxPoller: duty('awx-poller'),
    changelogCatchup: new Map(federation.sources.map((s) => [s.name, duty(catchupDuty(s.name))])),
    snapshots: duty('snapshots'),
  };
  const leases = (): Lease[] => [duties.awxPoller, duties.snapshots, ...duties.changelogCatchup.values()];
  return {
    db,
    outbox: new OutboxStore(db, laneMap),
    shared,
    laneMap,
    holder,
    duties,
    start() {
      for (const lease of leases()) lease.start();
    },
    async close() {
      await Promise.all(leases().map((lease) => lease.stop()));
      db.close();
    },
  };
}
