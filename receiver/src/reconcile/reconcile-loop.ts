import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { AwxClient } from '../clients/awx-client.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Db } from '../database.js';
import type { OutboxStore } from '../pipeline/outbox/outbox-store.js';
import { readTopicToEnd } from '../pipeline/publish/read-topic.js';
import { TopicConsumer } from '../pipeline/publish/topic-consumer.js';
import type { TopicNames } from '../pipeline/publish/topics.js';
import type { Federation } from '../federation/federation.js';
import { every, type Schedule } from '../retry/schedule.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { OutcomePoller } from './outcome-poller.js';
import { loadReconcilePolicy, type ReconcilePolicy } from './reconcile-policy.js';
import type { ReconcileLoopMetrics } from './reconcile-metrics.js';
import { ReconcileStore } from './reconcile-store.js';
import { Reconciler } from './reconciler.js';
import { rebuildUntilDone } from './state-rebuild.js';
import { keepLatest, newestAcross, type StateMessage } from './state-restore.js';

/** The state machines' clock: debounce windows and deadlines live in SQLite, so they survive restarts. */
const TICK_MS = 250;
const STATE_SCHEMA = 'root-state.v1.schema.json';

export interface ReconcileLoop {
  reconciler: Reconciler;
  store: ReconcileStore;
  /** The loaded policy: the roots API tells which rule (if any) a root would be reconciled by. */
  policy: ReconcilePolicy;
  start(): void;
  stop(): Promise<void>;
}

export interface ReconcileRoute {
  name: string;
  kafka: Kafka;
  topics: TopicNames;
}

export interface ReconcileLoopDeps {
  config: Config;
  db: Db;
  outbox: Pick<OutboxStore, 'insertMessage' | 'insertReject'>;
  onCommit: (rows: number) => void;
  /**
   * Every route's cluster and topics (federation/federation.ts `routes`, the home route — `"*"` —
   * last): each route's events topic is consumed, each route's state topic is read by a rebuild.
   */
  routes: readonly ReconcileRoute[];
  /** This cell, which cell owns a scope, and whether UNICOP_FEDERATION configured them. */
  federation: Pick<Federation, 'configured' | 'cell' | 'ownerOf'>;
  registry: SchemaRegistry;
  metrics: ReconcileLoopMetrics;
  log: Logger;
  /** The root's current desiredVersion (desired/): commands carry it. */
  desiredVersion?: (root: string) => string | null;
  /**
   * Several receivers on one store: each ticks the roots of the events-topic partitions its consumer
   * of the root's route holds (`partitionOf` maps a root to its partition), so a root's owner
   * follows the group's assignment; unset, one receiver ticks every root.
   */
  shared?: { partitionOf: (root: string) => number; pollerActive: () => boolean };
}

/**
 * Wires the reconcile loop when `UNICOP_RECONCILE_POLICY` is set: one consumer per route's events
 * topic (its own group per cell, offsets committed after the state is stored), the ticker, and —
 * with `AWX_URL` — the outcome poller. On a new database they start only after the state was
 * rebuilt from every route's compacted state topic (state-rebuild.ts). Null when no policy is configured.
 */
export function createReconcileLoop(deps: ReconcileLoopDeps): ReconcileLoop | null {
  const { config, metrics, log, federation } = deps;
  if (!config.reconcilePolicyFile) return null;
  const home = deps.routes.at(-1);
  if (!home) throw new Error('the reconcile loop needs at least one route');
  const store = new ReconcileStore(deps.db);
  metrics.countWaiting(() => store.waiting());
  const policy = loadReconcilePolicy(config.reconcilePolicyFile, deps.registry);
  const reconciler = new Reconciler({
    policy,
    store,
    outbox: deps.outbox,
    onCommit: deps.onCommit,
    source: config.source,
    ownership: { cell: federation.cell, ownerOf: (scope) => federation.ownerOf(scope) },
    registry: deps.registry,
    metrics: metrics.reconcile,
    log: log.child({ stage: 'reconcile' }),
    ...(deps.desiredVersion ? { desiredVersion: deps.desiredVersion } : {}),
  });
  const consumers = new Map(
    deps.routes.map((route) => [
      route.name,
      new TopicConsumer({
        kafka: route.kafka,
        // Each cell reads every event as its own group; a single cell keeps the group (and offsets) it always had.
        groupId: federation.configured ? `${prefixOf(route)}.reconciler.${federation.cell}` : `${prefixOf(route)}.reconciler`,
        topic: route.topics.events,
        handle: (m) => reconciler.handleEvent(m),
        onError: () => metrics.consumerErrors.inc(),
        log: log.child({ stage: 'reconcile-consumer', route: route.name }),
      }),
    ]),
  );
  const poller =
    config.awxUrl && config.awxToken
      ? new OutcomePoller({
          awx: new AwxClient(config.awxUrl, config.awxToken),
          unresolved: (now) => store.unresolvedPastHalf(now, 100),
          notify: (body) => reconciler.notify(body),
          intervalMs: config.awxPollIntervalMs,
          failed: () => metrics.consumerErrors.inc(),
          ...(deps.shared && { active: deps.shared.pollerActive }),
          log: log.child({ stage: 'awx-poller' }),
        })
      : null;
  let ticker: Schedule | null = null;
  let stopped = false;
  let starting: Promise<unknown> = Promise.resolve();
  const stateTopics = deps.routes.map((r) => r.topics.rootsState);
  const isStateMessage = deps.registry.validator<StateMessage>(STATE_SCHEMA);
  const rebuild = () =>
    rebuildUntilDone({
      // Every route's state topic, each to its end; a root found on two (its route changed) keeps its newest state.
      read: async (onMessage) => {
        const total = { exists: false, partitions: 0, messages: 0 };
        const perRoute: Map<string, string>[] = [];
        for (const route of deps.routes) {
          const latest = new Map<string, string>();
          const read = await readTopicToEnd({
            kafka: route.kafka,
            topic: route.topics.rootsState,
            groupId: `${prefixOf(route)}.state-rebuild.${randomUUID()}`,
            onMessage: (m) => keepLatest(latest, m),
            stopped: () => stopped,
          });
          perRoute.push(latest);
          Object.assign(total, {
            exists: total.exists || read.exists,
            partitions: total.partitions + read.partitions,
            messages: total.messages + read.messages,
          });
        }
        for (const m of newestAcross(perRoute)) onMessage(m);
        return total;
      },
      topic: stateTopics.join(','),
      store,
      isStateMessage,
      cell: federation.cell,
      schemaErrors: () =>
        deps.registry
          .lastErrors(STATE_SCHEMA, 3)
          .map((e) => `${e.pointer}: ${e.message}`)
          .join('; '),
      stopped: () => stopped,
      metrics: metrics.rebuild,
      log: log.child({ stage: 'reconcile-rebuild' }),
    });
  const shared = deps.shared;
  // Until the consumer of the root's route joined its group this receiver owns no root of a shared store.
  const owns =
    shared &&
    ((root: string, route: string | undefined) =>
      (consumers.get(route ?? home.name) ?? consumers.get(home.name))?.assigned()?.has(shared.partitionOf(root)) ?? false);
  const tick = (): void => {
    try {
      reconciler.tick(owns);
    } catch (error) {
      log.error({ err: error }, 'reconcile tick failed; the next tick tries again');
    }
  };

  return {
    reconciler,
    store,
    policy,
    start() {
      const run = (): void => {
        if (stopped) return;
        for (const consumer of consumers.values()) consumer.start();
        poller?.start();
        ticker = every({ everyMs: TICK_MS, round: tick });
      };
      // Nothing may consume, tick or poll before the state is complete; the store refuses reads (503) until then.
      if (!store.rebuildNeeded()) return run();
      starting = rebuild().then(run, (error: unknown) => log.fatal({ err: error }, 'reconcile state rebuild failed; the reconciler does not run'));
    },
    async stop() {
      stopped = true;
      await starting;
      await ticker?.stop();
      await poller?.stop();
      await Promise.all([...consumers.values()].map((c) => c.stop()));
    },
  };
}

/** The route's topic prefix (`<prefix>.events.v1`): its consumer groups are named after it. */
function prefixOf(route: ReconcileRoute): string {
  return route.topics.events.slice(0, -'.events.v1'.length);
}
