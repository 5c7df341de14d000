import type { Kafka } from 'kafkajs';
import type { Config } from './config.js';
import type { Federation, RouteSpec } from './federation/federation.js';
import type { Logger } from './log.js';
import type { Metrics } from './receiver.js';
import type { OutboxStore } from './pipeline/outbox/outbox-store.js';
import { RouteDepths } from './pipeline/outbox/route-depths.js';
import type { StoreHealth } from './pipeline/outbox/store-health.js';
import { createKafka } from './pipeline/publish/kafka-client.js';
import type { LaneLeases } from './pipeline/publish/lane-leases.js';
import { laneRelayStore } from './pipeline/publish/lane-relay-store.js';
import { Relay } from './pipeline/publish/relay.js';
import { topicNames, type TopicNames } from './pipeline/publish/topics.js';
import { every, type Schedule } from './retry/schedule.js';

/** One route (Kafka destination) as the receiver runs it. */
export interface RouteRelay {
  route: RouteSpec;
  kafka: Kafka;
  topics: TopicNames;
  relay: Relay;
}

export interface ReceiverRoutes {
  /** By route name. */
  relays: ReadonlyMap<string, RouteRelay>;
  /** The `"*"` entry's route (the only one without a federation file). */
  home: RouteRelay;
  /** Unpublished rows per route. */
  depths: RouteDepths;
  /** Rows were committed: the relays of the routes they took wake, the depth gauge shows the total. */
  committed(): void;
  start(): void;
  /** Drains every relay for up to `drainMs`; the rows left unpublished, null when the store could not say. */
  stop(drainMs: number): Promise<number | null>;
}

export interface ReceiverRoutesDeps {
  config: Config;
  federation: Federation;
  store: OutboxStore;
  lanes: ReadonlyMap<string, LaneLeases>;
  /** Whether another receiver may commit rows to this store (PostgreSQL): its commits wake every relay. */
  onForeignCommit?: (listener: () => void) => void;
  metrics: Metrics;
  storeHealth: StoreHealth;
  log: Logger;
}

/**
 * UNICOP_TEST_KILL_AFTER_COMMITS (tests only): the process dies by SIGKILL right after its n-th
 * committed relay transaction, before the cursor write — the crash exactly-once publication must survive.
 */
function killAfterCommits(n: number, log: Logger): (() => void) | undefined {
  if (n <= 0) return undefined;
  let commits = 0;
  return () => {
    if (++commits < n) return;
    log.warn({ commits }, 'UNICOP_TEST_KILL_AFTER_COMMITS reached: killing this process before the cursor write (test hook)');
    process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * One relay per route: its own Kafka client, topics, lanes and metrics, so a cluster away holds only its
 * own route's rows. Depths are counted per route as rows are queued (OutboxStore.onRow) and
 * acknowledged, and read again from the store every second (other receivers of a shared store queue
 * and publish too; a rolled-back row was counted).
 */
export function openRoutes(deps: ReceiverRoutesDeps): ReceiverRoutes {
  const { config, federation, store, metrics, storeHealth, log } = deps;
  const depths = new RouteDepths(federation.routes, metrics.routes);
  depths.reset(store.depthByRoute());
  const showDepth = (): void => void metrics.outboxDepth.set(depths.total);
  showDepth();
  // Rows queued since the last commit, by route: only those routes' relays are woken (50 routes, one event: one relay).
  const touched = new Set<string>();
  store.onRow = (route) => {
    depths.add(route, 1);
    touched.add(route);
  };

  const afterCommit = killAfterCommits(config.testKillAfterCommits, log);
  const relays = new Map(
    federation.routes.map((route) => {
      const kafka = createKafka(route.brokers, log.child({ route: route.name }));
      const topics = topicNames(route.topicPrefix);
      const relay = new Relay({
        kafka,
        store: laneRelayStore(store, deps.lanes.get(route.name)!, route.topicPrefix),
        topics,
        recoveryGroupPrefix: `${route.topicPrefix}.relay.recovery.`,
        afterCommit,
        partitions: config.topicPartitions,
        replication: config.topicReplication,
        metrics: {
          ...metrics.relay(route.name),
          acknowledged: (rows) => {
            depths.add(route.name, -rows);
            showDepth();
          },
        },
        writes: storeHealth,
        log: log.child({ stage: 'publish', route: route.name }),
      });
      return [route.name, { route, kafka, topics, relay }] as const;
    }),
  );
  // Rows another receiver committed may be in this receiver's lanes: publish them now, not at the next idle poll.
  deps.onForeignCommit?.(() => {
    for (const r of relays.values()) r.relay.wake();
  });
  let depthSync: Schedule | null = null;

  return {
    relays,
    home: relays.get(federation.home.name)!,
    depths,
    committed() {
      showDepth();
      for (const route of touched) relays.get(route)?.relay.wake();
      touched.clear();
    },
    start() {
      for (const r of relays.values()) r.relay.start();
      depthSync = every({
        everyMs: 1000,
        unref: true,
        round: () => {
          try {
            depths.reset(store.depthByRoute());
            showDepth();
          } catch (error) {
            storeHealth.failed('depth', error);
          }
        },
      });
    },
    async stop(drainMs) {
      await depthSync?.stop();
      const left = await Promise.all([...relays.values()].map((r) => r.relay.stop(drainMs)));
      return left.some((n) => n === null) ? null : left.reduce<number>((sum, n) => sum + (n ?? 0), 0);
    },
  };
}
