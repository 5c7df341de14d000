/**
 * The relay thread's entry (node:worker_threads; relay-thread.ts starts it). It publishes the outbox
 * to Kafka with a store connection of its own — SQLite in WAL mode takes a second connection, the
 * PostgreSQL store another worker of its own — so neither Kafka's encoding nor the cursor writes
 * take time from the ingest thread. Metrics, store health and log lines go back as messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Writable } from 'node:stream';
import { secretValues } from './config.js';
import { createLogger } from './log.js';
import { storeCode } from './pipeline/outbox/store-health.js';
import { OutboxStore } from './pipeline/outbox/outbox-store.js';
import { createKafka } from './pipeline/publish/kafka-client.js';
import type { LaneLeaseMetrics } from './pipeline/publish/lane-leases.js';
import { laneRelayStore } from './pipeline/publish/lane-relay-store.js';
import { Relay, type RelayMetrics } from './pipeline/publish/relay.js';
import { registerRouteLanes } from './pipeline/publish/route-lanes.js';
import { topicNames } from './pipeline/publish/topics.js';
import { openReceiverStore } from './receiver-database.js';
import type { FromRelay, RelayWorkerData, ToRelay } from './relay-protocol.js';
import { openLaneLeases } from './receiver-store.js';
import { every } from './retry/schedule.js';
import { SqliteDb } from './store/sqlite-db.js';

/**
 * How often this thread copies SQLite's WAL back into the database file. The ingest connection never
 * checkpoints (receiver-store.ts): done inside a commit, it held up every request waiting for it.
 * PASSIVE neither waits for nor blocks a writer; the WAL stays about this long.
 */
const CHECKPOINT_EVERY_MS = 500;

if (!parentPort) throw new Error('relay-worker.ts runs as a worker thread (relay-thread.ts starts it)');
const port = parentPort;
const post = (message: FromRelay): void => port.postMessage(message);
const { config, security, routes, home, cell, holder, logLevel } = workerData as RelayWorkerData;

/** Every call of the interface becomes a `metric` message (the registry lives in the ingest thread). */
function forwarded<T extends object>(group: 'relay' | 'lanes', route: string): T {
  return new Proxy({} as T, {
    get:
      (_target, name) =>
      (...args: unknown[]) =>
        post({ type: 'metric', group, route, name: String(name), args }),
  });
}

const lines = new Writable({
  write(chunk: Buffer | string, _encoding, done) {
    post({ type: 'log', line: chunk.toString() });
    done();
  },
});
const log = createLogger(logLevel, lines, secretValues(config)).child({ thread: 'relay' });
const writes = {
  failed: (part: string, cause: unknown) =>
    post({ type: 'store', outcome: 'failed', part, cause: { message: cause instanceof Error ? cause.message : String(cause), code: storeCode(cause) } }),
  succeeded: (part: string) => post({ type: 'store', outcome: 'succeeded', part }),
};

const db = openReceiverStore(config);
const routeNames = routes.map((r) => r.name);
const laneMap = registerRouteLanes(db, routeNames, home, db.dialect === 'postgres' ? config.topicPartitions : 1);
const outbox = new OutboxStore(db, laneMap);
const lanes = openLaneLeases(db, config, laneMap, routeNames, holder, (route) => forwarded<LaneLeaseMetrics>('lanes', route), log);
/**
 * UNICOP_TEST_KILL_AFTER_COMMITS (tests only): the process dies by SIGKILL right after its n-th
 * committed relay transaction, before the cursor write — the crash exactly-once publication must survive.
 */
function killAfterCommits(n: number): (() => void) | undefined {
  if (n <= 0) return undefined;
  let commits = 0;
  return () => {
    if (++commits < n) return;
    log.warn({ commits }, 'UNICOP_TEST_KILL_AFTER_COMMITS reached: killing this process before the cursor write (test hook)');
    process.kill(process.pid, 'SIGKILL');
  };
}
const afterCommit = killAfterCommits(config.testKillAfterCommits);

const relays = new Map(
  routes.map((route) => [
    route.name,
    new Relay({
      kafka: createKafka(route.brokers, log.child({ route: route.name }), security),
      store: laneRelayStore(outbox, lanes.get(route.name)!, route.topicPrefix, cell),
      topics: topicNames(route.topicPrefix),
      recoveryGroupPrefix: `${route.topicPrefix}.relay.recovery.`,
      afterCommit,
      partitions: config.topicPartitions,
      replication: config.topicReplication,
      metrics: forwarded<RelayMetrics>('relay', route.name),
      writes,
      log: log.child({ stage: 'publish', route: route.name }),
    }),
  ]),
);

function checkpoint(sqlite: SqliteDb): void {
  try {
    sqlite.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    log.warn({ err: error, code: storeCode(error) }, 'WAL checkpoint failed; tried again at the next round');
  }
}
const checkpoints = db instanceof SqliteDb ? every({ everyMs: CHECKPOINT_EVERY_MS, unref: true, round: () => checkpoint(db) }) : null;

async function stop(drainMs: number): Promise<void> {
  let unpublished: number | null = null;
  try {
    await checkpoints?.stop();
    const left = await Promise.all([...relays.values()].map((r) => r.stop(drainMs)));
    unpublished = left.some((n) => n === null) ? null : left.reduce<number>((sum, n) => sum + (n ?? 0), 0);
    // Given back at once: another receiver of a shared store takes them without waiting for the leases to run out.
    await Promise.all([...lanes.values()].map((l) => l.stop()));
    db.close();
  } finally {
    post({ type: 'stopped', unpublished });
    port.close();
  }
}

port.on('message', (message: ToRelay) => {
  if (message.type === 'wake') {
    for (const name of message.routes ?? routeNames) relays.get(name)?.wake();
  } else if (message.type === 'stop') {
    void stop(message.drainMs);
  }
});
for (const l of lanes.values()) l.start();
for (const r of relays.values()) r.start();
post({ type: 'started' });
