import { randomUUID } from 'node:crypto';
import type express from 'express';
import { AccessGrants } from './access/access-grants.js';
import { createAccessMetrics } from './access/access-metrics.js';
import type { Scope as IamScope } from './generated/iam-policy.js';
import { createTokenCheck } from './api/authenticate.js';
import { createNotifyCheck } from './api/notify-auth.js';
import { createRootsApi } from './api/roots-api.js';
import { DesiredProjection } from './desired/desired-projection.js';
import { DesiredStore } from './desired/desired-store.js';
import { buildApp } from './app.js';
import { ChangelogCatchup } from './catchup/changelog-catchup.js';
import { NetboxClient } from './clients/netbox-client.js';
import type { Config } from './config.js';
import type { Db } from './database.js';
import type { Logger } from './log.js';
import type { DraftEvent, EventEnvelope } from './model/event.js';
import type { Registry } from 'prom-client';
import { createCatchupMetrics } from './catchup/catchup-metrics.js';
import { createRegistry } from './metrics.js';
import { createBatchMetrics } from './pipeline/ingest/batch-metrics.js';
import { createIngestMetrics } from './pipeline/ingest/ingest-metrics.js';
import { createOutboxMetrics, createRetentionMetrics, createStoreHealthMetrics } from './pipeline/outbox/outbox-metrics.js';
import { createLaneLeaseMetrics, createRelayMetrics, createRouteDepthMetrics } from './pipeline/publish/relay-metrics.js';
import { laneOf } from './pipeline/publish/lanes.js';
import { loadFederation, type Federation, type SourceSpec } from './federation/federation.js';
import { sourceCatchupStore } from './catchup/source-store.js';
import { createReconcileMetrics } from './reconcile/reconcile-metrics.js';
import { DEFAULT_ROOT_POLICY_FILE } from './pipeline/normalize/default-root-policy.js';
import { createNormalizer, type NormalizeDeps } from './pipeline/normalize/normalize.js';
import { normalizeChangelog } from './pipeline/normalize/normalize-changelog.js';
import { createRootDisagreementMetrics, createRootDisagreementReporter } from './pipeline/normalize/root-disagreements.js';
import { createRootResolver, loadRootPolicy } from './pipeline/normalize/root-policy.js';
import { GroupCommit } from './pipeline/outbox/group-commit.js';
import type { OutboxStore } from './pipeline/outbox/outbox-store.js';
import { Retention } from './pipeline/outbox/retention.js';
import { StoreHealth } from './pipeline/outbox/store-health.js';
import { createBatchPipeline } from './pipeline/batch-pipeline.js';
import { createWebhookPipeline, type PipelineDeps } from './pipeline/pipeline.js';
import { MAX_MESSAGE_BYTES } from './pipeline/publish/topics.js';
import { createNotificationCheck } from './reconcile/awx-notification.js';
import { openRoutes } from './receiver-routes.js';
import type { RelayHandle } from './relay-thread.js';
import { openStoreParts } from './receiver-store.js';
import { createReconcileLoop } from './reconcile/reconcile-loop.js';
import { matchRule } from './reconcile/reconcile-policy.js';
import type { Reconciler } from './reconcile/reconciler.js';
import { sequenceEvent } from './pipeline/sequence/sequencer.js';
import { createBatchValidator } from './pipeline/validate/validate-batch.js';
import { createWebhookValidator } from './pipeline/validate/validate-webhook.js';
import { acceptUnsigned, createSourceVerifier } from './pipeline/verify/verify-signature.js';
import { SchemaRegistry } from './schema-registry.js';
import { UnicopError } from './errors.js';
import { discoverJwksUri } from './clients/oidc-discovery.js';
import { createApiAccess } from './iam/api-access.js';
import { createAuditTrail } from './iam/audit-trail.js';
import { createBearerAuthenticator } from './iam/authenticate-bearer.js';
import { createIamMetrics } from './iam/iam-metrics.js';
import { createOidcVerifier } from './iam/oidc-verifier.js';
import { PolicyHolder } from './iam/policy-holder.js';
import { readTopicToEnd } from './pipeline/publish/read-topic.js';
import { managedObjectTypes } from './snapshot/managed-types.js';
import { rateLimit } from './snapshot/rate-limit.js';
import { createSnapshotMetrics } from './snapshot/snapshot-metrics.js';
import { SnapshotRunner } from './snapshot/snapshot-runner.js';
import { SnapshotStore } from './snapshot/snapshot-store.js';
import { createSnapshotsApi } from './snapshot/snapshots-api.js';
import { spineView, type ObjectStateRecord } from './snapshot/spine-view.js';
import { InventoryAdmission } from './inventory/inventory-admission.js';
import { createInventoryMetrics } from './inventory/inventory-metrics.js';
import { loadInventoryPolicy } from './inventory/inventory-policy.js';
import { compileManagedSet } from './inventory/managed-set.js';
import { createTlsMetrics } from './listener/tls-metrics.js';

/**
 * Every stage's metrics on one registry (`GET /metrics`). `docs/metrics.md` is generated from what
 * this registers (`npm run generate:metrics`), so a metric added here shows up there.
 */
export function registerMetrics(registry: Registry) {
  return {
    registry,
    ...createIngestMetrics(registry),
    ...createBatchMetrics(registry),
    ...createRootDisagreementMetrics(registry),
    ...createOutboxMetrics(registry),
    relay: createRelayMetrics(registry),
    lanes: createLaneLeaseMetrics(registry),
    routes: createRouteDepthMetrics(registry),
    catchup: createCatchupMetrics(registry),
    ...createReconcileMetrics(registry),
    retention: createRetentionMetrics(registry),
    store: createStoreHealthMetrics(registry),
    iam: createIamMetrics(registry),
    access: createAccessMetrics(registry),
    inventory: createInventoryMetrics(registry),
    snapshot: createSnapshotMetrics(registry),
    tls: createTlsMetrics(registry),
  };
}

export type Metrics = ReturnType<typeof registerMetrics>;

export interface Receiver {
  app: express.Express;
  /** The home route's relay (the only one without a federation file); it runs in the relay thread. */
  relay: RelayHandle;
  /** One relay per route (Kafka destination), by route name. */
  relays: ReadonlyMap<string, RelayHandle>;
  federation: Federation;
  store: OutboxStore;
  /** The store: SQLite (tests lower its `max_page_count` to fill the disk) or the shared PostgreSQL. */
  db: Db;
  /** Whether the database takes writes (disk full, I/O errors); /readyz reports it. */
  storeHealth: StoreHealth;
  retention: Retention;
  /** Present when NETBOX_URL is set. */
  catchup: ChangelogCatchup | null;
  /** Present when UNICOP_RECONCILE_POLICY is set. */
  reconciler: Reconciler | null;
  /** Present when NETBOX_URL is set. */
  snapshots: SnapshotRunner | null;
  /** Temporary access grants from NetBox (extra IAM bindings until they expire). */
  access: AccessGrants;
  /** Caps on managed roots; present when UNICOP_INVENTORY_POLICY is set. */
  inventory: InventoryAdmission | null;
  metrics: Metrics;
  /**
   * Rereads `UNICOP_IAM_POLICY` (main.ts calls it on SIGHUP): true when the new policy is in force,
   * false when it was refused (the old one stays), null when no policy is configured.
   */
  reloadIamPolicy(): boolean | null;
  /** Refuse new webhooks (503), drain the relay for up to `drainMs`, close the database. */
  stop(drainMs: number): Promise<{ unpublished: number | null }>;
}

/** What the receiver takes from outside its config. */
export interface ReceiverOptions {
  /** Least time between two JWKS fetches (default 30 s; tests shorten it). */
  jwksCooldownMs?: number;
  /** Already read by main.ts (its secrets go to the logger's scrub); read from the config otherwise. */
  federation?: Federation;
}

/** Builds every part from the config and wires the stages together. Starts the relay; never listens. */
export function createReceiver(config: Config, log: Logger, options: ReceiverOptions = {}): Receiver {
  const registry = new SchemaRegistry();
  const metrics = registerMetrics(createRegistry());
  const policy = loadRootPolicy(config.rootPolicyFile ?? DEFAULT_ROOT_POLICY_FILE, registry);
  // Loaded before the database opens: a bad file stops start-up with every problem, touching nothing.
  const inventoryPolicy = config.inventoryPolicyFile ? loadInventoryPolicy(config.inventoryPolicyFile, registry) : null;
  const federation = options.federation ?? loadFederation(config, registry);
  if (federation.configured) {
    log.info(
      { cell: federation.cell, sources: federation.sources.map((s) => s.name), routes: federation.routes.map((r) => r.name) },
      'federation file read; KAFKA_BROKERS and UNICOP_TOPIC_PREFIX are not used',
    );
  }
  const parts = openStoreParts(config, federation, log);
  const { db, outbox: store, shared } = parts;

  let stopping = false;
  metrics.outboxLimit.set(config.outboxLimit);

  const storeHealth = new StoreHealth({ log: log.child({ stage: 'outbox' }), metrics: metrics.store, probe: () => store.probeWrite() });
  const retention = new Retention({
    db,
    publishedThrough: () => store.publishedThrough(),
    retentionDays: config.retentionDays,
    maxRows: config.retentionMaxRows,
    maxRejects: config.retentionMaxRejects,
    metrics: metrics.retention,
    writes: storeHealth,
    log: log.child({ stage: 'retention' }),
  });

  const routes = openRoutes({ config, federation, store, holder: parts.holder, onForeignCommit: db.onCommit?.bind(db), metrics, storeHealth, log });
  const { kafka, topics, relay } = routes.home;
  const committed = (): void => routes.committed();
  // Messages the receiver makes itself (audit, grants, projections, operators' requests) come from the cell.
  const cellSource = federation.configured ? `unicop://${federation.cell}` : config.source;
  const audit = createAuditTrail({
    source: cellSource,
    write: (key, id, value) => {
      store.transaction(() => store.insertMessage('audit', key, id, value, Date.now()));
      committed();
    },
    metrics: metrics.iam,
    log: log.child({ stage: 'audit' }),
  });
  const access = new AccessGrants({
    db,
    outbox: store,
    source: cellSource,
    maxMs: config.accessGrantMaxS * 1000,
    validScope: registry.validator<IamScope>('iam-policy.schema.json#/$defs/scope'),
    onCommit: committed,
    metrics: metrics.access,
    audit,
    log: log.child({ stage: 'access' }),
  });
  const desiredStore = new DesiredStore(db);
  const desired = new DesiredProjection({ store: desiredStore, outbox: store, source: cellSource, log: log.child({ stage: 'desired' }) });
  const inventory = inventoryPolicy
    ? new InventoryAdmission({ db, policy: inventoryPolicy, outbox: store, metrics: metrics.inventory, log: log.child({ stage: 'inventory' }) })
    : null;
  const groupCommit = new GroupCommit({
    store,
    sequence: sequenceEvent,
    onCommit: committed,
    maxValueBytes: MAX_MESSAGE_BYTES - 1024,
    writes: storeHealth,
    projections: [
      (event, now) => access.project(event, now),
      (event, now) => desired.project(event, now),
      ...(inventory ? [(event: EventEnvelope, now: number) => inventory.project(event, now)] : []),
    ],
    settlers: [desired],
    ...(inventory && { admission: (draft: DraftEvent, now: number) => inventory.admit(draft, now) }),
  });

  const reconcile = createReconcileLoop({
    config,
    db,
    outbox: store,
    onCommit: committed,
    // every route's cluster, the home route last (the route of roots whose own is not known yet)
    routes: [...routes.relays.values()]
      .sort((a, b) => Number(a.route === federation.home) - Number(b.route === federation.home))
      .map((r) => ({ name: r.route.name, kafka: r.kafka, topics: r.topics })),
    federation,
    registry,
    metrics,
    log,
    desiredVersion: (root) => desiredStore.desiredVersion(root),
    ...(shared && { shared: { partitionOf: laneOf(config.topicPartitions), pollerActive: () => parts.duties.awxPoller.held() } }),
  });

  if (federation.sources.some((source) => source.secrets.length === 0)) {
    log.warn({ setting: 'UNICOP_INSECURE_NO_SIGNATURE' }, 'INSECURE: webhook signatures are NOT verified; anyone who can reach this port can inject events');
  }

  const baseDeps: NormalizeDeps = {
    source: config.source,
    resolveRoot: createRootResolver(policy),
    ...(inventoryPolicy && { managed: compileManagedSet(inventoryPolicy) }),
    onRootDisagreement: createRootDisagreementReporter(metrics.rootDisagreements, log),
  };
  // Per source: its CloudEvents source, its key prefix, and (federated) its name and the routes of scopes.
  const sourceDeps = (source: SourceSpec): NormalizeDeps => ({
    ...baseDeps,
    source: source.source,
    keyPrefix: source.keyPrefix,
    ...(federation.configured && { federated: { sourceName: source.name, routeOf: (scope) => federation.routeOf(scope).name } }),
  });
  const normalizeDeps = sourceDeps(federation.sources[0]!);
  const netboxes = new Map(federation.sources.flatMap((s) => (s.netbox ? [[s.name, new NetboxClient(s.netbox.url, s.netbox.token)] as const] : [])));
  const catchups = federation.sources.flatMap((source) => {
    if (!source.netbox) return [];
    // A client of its own: the pacing and the request count are the catch-up's alone.
    const client = new NetboxClient(source.netbox.url, source.netbox.token, { beforeRequest: rateLimit(config.catchupRate) });
    const deps = sourceDeps(source);
    return [
      new ChangelogCatchup({
        client,
        store: sourceCatchupStore(store, source),
        append: (draft) => groupCommit.appendEvent(draft),
        reject: (record) => groupCommit.appendReject(record),
        source: source.source,
        normalize: (row, rest, version) => normalizeChangelog(deps, row, rest, version),
        intervalMs: config.catchupIntervalMs,
        graceMs: config.catchupGraceMs,
        overlap: config.catchupOverlap,
        objectTypes: config.catchupObjectTypes,
        eventRule: config.catchupEventRule,
        from: config.catchupFrom,
        metrics: metrics.catchup(source.name),
        active: () => parts.duties.changelogCatchup.get(source.name)!.held(),
        log: log.child({ stage: 'catchup', source: source.name }),
      }),
    ];
  });
  const catchup = catchups[0] ?? null;

  // Snapshots compare one NetBox with the one objects topic: not run under a federation file (docs/federation.md).
  const snapshots =
    !federation.configured && config.netboxUrl && config.netboxToken
      ? new SnapshotRunner({
          store: new SnapshotStore(db),
          outbox: store,
          // A client of its own: the rate cap and the request count are the snapshot's alone.
          netbox: new NetboxClient(config.netboxUrl, config.netboxToken, { beforeRequest: rateLimit(config.snapshotRate) }),
          readSpine: async () => {
            const records: ObjectStateRecord[] = [];
            const groupId = `${config.topicPrefix}.snapshot.${randomUUID()}`;
            await readTopicToEnd({ kafka, topic: topics.objects, groupId, onMessage: (r) => records.push(r), stopped: () => stopping });
            return spineView(records);
          },
          append: (draft) => groupCommit.appendEvent(draft),
          normalize: normalizeDeps,
          source: config.source,
          objectTypes:
            config.snapshotObjectTypes.length > 0 ? config.snapshotObjectTypes : managedObjectTypes(policy, inventoryPolicy?.managed.objectTypes ?? null),
          intervalS: config.snapshotIntervalS,
          onCommit: committed,
          metrics: metrics.snapshot,
          pageSize: config.snapshotPageSize,
          ...(shared && { active: () => parts.duties.snapshots.held() }),
          log: log.child({ stage: 'snapshot' }),
        })
      : null;

  const pipelineDeps: PipelineDeps = {
    sources: federation.sources.map((source) => ({ source: source.source, normalize: createNormalizer(sourceDeps(source)) })),
    verify: federation.sources.some((source) => source.secrets.length > 0) ? createSourceVerifier(federation.sources) : acceptUnsigned,
    validate: createWebhookValidator(registry),
    groupCommit,
    full: (route) => routes.depths.full(route ?? federation.home.name, groupCommit.queued),
    stopping: () => stopping,
    known: (eventId) => store.event(eventId) !== undefined,
    replayWindowMs: config.replayWindowS * 1000,
    metrics,
    log,
  };
  const acceptWebhook = createWebhookPipeline(pipelineDeps);
  const acceptBatch = createBatchPipeline({ ...pipelineDeps, validateBatch: createBatchValidator(registry), batchMetrics: metrics });

  const iamPolicy = config.iamPolicyFile
    ? new PolicyHolder({ path: config.iamPolicyFile, registry, metrics: metrics.iam, audit, log: log.child({ stage: 'iam' }) })
    : null;
  if (iamPolicy && config.apiTokens.length > 0) {
    log.warn({ setting: 'UNICOP_API_TOKENS' }, "UNICOP_IAM_POLICY is set: UNICOP_API_TOKENS is ignored (service tokens are the policy's tokens)");
  }
  const oidc =
    config.oidcIssuer && config.oidcAudience
      ? createOidcVerifier({
          issuer: config.oidcIssuer,
          audience: config.oidcAudience,
          jwksUrl: config.oidcJwksUrl ?? null,
          discover: discoverJwksUri,
          groupsClaim: config.oidcGroupsClaim,
          usernameClaim: config.oidcUsernameClaim,
          onJwksFetch: () => metrics.iam.jwksFetched(),
          cooldownMs: options.jwksCooldownMs,
        })
      : null;
  const apiAccess = createApiAccess({
    authenticate: iamPolicy
      ? createBearerAuthenticator({ kind: 'policy', policy: () => iamPolicy.current, oidc })
      : createBearerAuthenticator({ kind: 'static', check: createTokenCheck(config.apiTokens) }),
    policy: iamPolicy,
    grants: access,
    rootScope: (root) => store.rootScope(root),
    audit,
  });

  const checkNotification = createNotificationCheck(registry);
  const app = buildApp({
    acceptWebhook,
    acceptBatch,
    snapshots: createSnapshotsApi(snapshots),
    roots: createRootsApi({
      source: cellSource,
      index: store,
      desired: desiredStore,
      append: (draft) => groupCommit.appendEvent(draft),
      existsInNetbox:
        netboxes.size > 0 ? async (source, type, id) => (await netboxes.get(source ?? federation.sources[0]!.name)?.objectExists(type, id)) ?? false : null,
      ...(federation.configured && { routeOf: (root: string) => federation.routeOf(store.rootScope(root)).name }),
      reconcile: reconcile && {
        record: (root) => reconcile.reconciler.record(root),
        inState: (state, limit) => reconcile.store.inState(state, limit),
        attempts: (root, limit) => reconcile.store.recentAttempts(root, limit),
        ruleFor: (rootType) => matchRule(reconcile.policy, rootType, null),
      },
    }),
    inventory: { policy: inventoryPolicy, counts: () => inventory?.counts() ?? [] },
    notifyAwx: (body) => {
      if (!reconcile) throw new UnicopError('UNICOP_RECONCILE_DISABLED', 'no reconciler runs: set UNICOP_RECONCILE_POLICY');
      return reconcile.reconciler.notify(checkNotification(body));
    },
    checkNotify: createNotifyCheck(config.awxNotifyToken, config.awxNotifyUser),
    access: apiAccess,
    readiness: () => ({
      routes: new Map(
        [...routes.relays].map(([name, r]) => [
          name,
          { reachable: r.relay.reachable, ...(r.relay.fault !== null && { code: r.relay.fault }), depth: routes.depths.of(name), limit: r.route.outboxLimit },
        ]),
      ),
      outboxDepth: routes.depths.total,
      outboxLimit: config.outboxLimit,
      storeFault: storeHealth.fault,
    }),
    maxBodyBytes: config.maxBodyBytes,
    metrics,
    log,
  });

  parts.start();
  routes.start();
  storeHealth.start();
  retention.start();
  for (const c of catchups) c.start();
  reconcile?.start();
  access.start();
  snapshots?.start();

  return {
    app,
    relay,
    relays: new Map([...routes.relays].map(([name, r]) => [name, r.relay])),
    federation,
    store,
    db,
    storeHealth,
    retention,
    catchup,
    reconciler: reconcile?.reconciler ?? null,
    snapshots,
    access,
    inventory,
    metrics,
    reloadIamPolicy: () => iamPolicy?.reload() ?? null,
    async stop(drainMs) {
      stopping = true;
      for (const c of catchups) await c.stop();
      await snapshots?.stop();
      await reconcile?.stop();
      await access.stop();
      await new Promise((resolve) => setImmediate(resolve));
      await retention.stop();
      storeHealth.stop();
      const unpublished = await routes.stop(drainMs);
      await parts.close();
      return { unpublished };
    },
  };
}
