import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { AwxClient } from '../clients/awx-client.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Db } from '../database.js';
import type { OutboxStore } from '../pipeline/outbox/outbox-store.js';
import { readTopicToEnd } from '../pipeline/publish/read-topic.js';
import { TopicConsumer } from '../pipeline/publish/topic-consumer.js';
import { topicNames } from '../pipeline/publish/topics.js';
import { every, type Schedule } from '../retry/schedule.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { OutcomePoller } from './outcome-poller.js';
import { loadReconcilePolicy, type ReconcilePolicy } from './reconcile-policy.js';
import type { ReconcileLoopMetrics } from './reconcile-metrics.js';
import { ReconcileStore } from './reconcile-store.js';
import { Reconciler } from './reconciler.js';
import { rebuildUntilDone } from './state-rebuild.js';
import type { StateMessage } from './state-restore.js';

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

export interface ReconcileLoopDeps {
  config: Config;
  db: Db;
  outbox: Pick<OutboxStore, 'insertMessage' | 'insertReject'>;
  onCommit: (rows: number) => void;
  kafka: Kafka;
  eventsTopic: string;
  registry: SchemaRegistry;
  metrics: ReconcileLoopMetrics;
  log: Logger;
  /** The root's current desiredVersion (desired/): commands carry it. */
  desiredVersion?: (root: string) => string | null;
  /**
   * Several receivers on one store: each ticks the roots of the events-topic partitions its consumer
   * holds (`partitionOf` maps a root to its partition), so a root's owner follows the group's
   * assignment; unset, one receiver ticks every root.
   */
  shared?: { partitionOf: (root: string) => number; pollerActive: () => boolean };
}

/**
 * Wires the reconcile loop when `UNICOP_RECONCILE_POLICY` is set: the consumer of the events topic
 * (its own group, offsets committed after the state is stored), the ticker, and — with `AWX_URL` —
 * the outcome poller. On a new database they start only after the state was rebuilt from the
 * compacted state topic (state-rebuild.ts). Null when no policy is configured.
 */
export function createReconcileLoop(deps: ReconcileLoopDeps): ReconcileLoop | null {
  const { config, metrics, log } = deps;
  if (!config.reconcilePolicyFile) return null;
  const store = new ReconcileStore(deps.db);
  const policy = loadReconcilePolicy(config.reconcilePolicyFile, deps.registry);
  const reconciler = new Reconciler({
    policy,
    store,
    outbox: deps.outbox,
    onCommit: deps.onCommit,
    source: config.source,
    registry: deps.registry,
    metrics: metrics.reconcile,
    log: log.child({ stage: 'reconcile' }),
    ...(deps.desiredVersion ? { desiredVersion: deps.desiredVersion } : {}),
  });
  const consumer = new TopicConsumer({
    kafka: deps.kafka,
    groupId: `${config.topicPrefix}.reconciler`,
    topic: deps.eventsTopic,
    handle: (m) => reconciler.handleEvent(m),
    onError: () => metrics.consumerErrors.inc(),
    log: log.child({ stage: 'reconcile-consumer' }),
  });
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
  const stateTopic = topicNames(config.topicPrefix).rootsState;
  const isStateMessage = deps.registry.validator<StateMessage>(STATE_SCHEMA);
  const rebuild = () =>
    rebuildUntilDone({
      read: (onMessage) =>
        readTopicToEnd({
          kafka: deps.kafka,
          topic: stateTopic,
          groupId: `${config.topicPrefix}.state-rebuild.${randomUUID()}`,
          onMessage,
          stopped: () => stopped,
        }),
      topic: stateTopic,
      store,
      isStateMessage,
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
  // Until the consumer joined its group this receiver owns no root of a shared store.
  const owns = shared && ((root: string) => consumer.assigned()?.has(shared.partitionOf(root)) ?? false);
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
        consumer.start();
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
      await consumer.stop();
    },
  };
}
