import type { Kafka } from 'kafkajs';
import type { Config } from './config.js';
import type { Federation, RouteSpec } from './federation/federation.js';
import type { Logger } from './log.js';
import type { Metrics } from './receiver.js';
import type { OutboxStore } from './pipeline/outbox/outbox-store.js';
import { RouteDepths } from './pipeline/outbox/route-depths.js';
import type { StoreHealth } from './pipeline/outbox/store-health.js';
import { createKafka } from './pipeline/publish/kafka-client.js';
import { kafkaSecurity } from './pipeline/publish/kafka-security.js';
import type { RelayMetrics } from './pipeline/publish/relay.js';
import { topicNames, type TopicNames } from './pipeline/publish/topics.js';
import { RelayThread, type RelayHandle } from './relay-thread.js';
import { every, type Schedule } from './retry/schedule.js';

/** One route (Kafka destination) as the receiver runs it. */
export interface RouteRelay {
  route: RouteSpec;
  /** This thread's client of the route's cluster (reconciler, snapshots); the relay thread has its own. */
  kafka: Kafka;
  topics: TopicNames;
  relay: RelayHandle;
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
  /** This receiver among the live ones (receiver-store.ts): the relay thread's lane leases are its. */
  holder: string;
  /** Whether another receiver may commit rows to this store (PostgreSQL): its commits wake every relay. */
  onForeignCommit?: (listener: () => void) => void;
  metrics: Metrics;
  storeHealth: StoreHealth;
  log: Logger;
}

/**
 * One relay per route, all in the relay thread (relay-thread.ts): per route its own Kafka client,
 * topics, lanes and metrics, so a cluster away holds only its own route's rows. Depths are counted per route as rows are queued (OutboxStore.onRow) and
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

  const relayMetrics = new Map(
    federation.routes.map((route): [string, RelayMetrics] => [
      route.name,
      {
        ...metrics.relay(route.name),
        acknowledged: (rows) => {
          depths.add(route.name, -rows);
          showDepth();
        },
      },
    ]),
  );
  const laneMetrics = new Map(federation.routes.map((route) => [route.name, metrics.lanes(route.name)]));
  // Read once (certificate files too): this thread's clients and the relay thread's use the same.
  const security = kafkaSecurity(config);
  const thread = new RelayThread({
    config,
    security,
    routes: federation.routes,
    home: federation.home.name,
    cell: federation.cell,
    holder: deps.holder,
    metrics: { relay: (route) => relayMetrics.get(route)!, lanes: (route) => laneMetrics.get(route)! },
    writes: storeHealth,
    log,
  });
  const relays = new Map(
    federation.routes.map((route) => {
      const kafka = createKafka(route.brokers, log.child({ route: route.name }), security);
      return [route.name, { route, kafka, topics: topicNames(route.topicPrefix), relay: thread.relays.get(route.name)! }] as const;
    }),
  );
  // Rows another receiver committed may be in this receiver's lanes: publish them now, not at the next idle poll.
  deps.onForeignCommit?.(() => thread.wake());
  let depthSync: Schedule | null = null;

  return {
    relays,
    home: relays.get(federation.home.name)!,
    depths,
    committed() {
      showDepth();
      if (touched.size === 0) return;
      thread.wake(touched);
      touched.clear();
    },
    start() {
      thread.start();
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
      return thread.stop(drainMs);
    },
  };
}
