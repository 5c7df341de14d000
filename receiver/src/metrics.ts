import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CatchupMetrics } from './catchup/changelog-catchup.js';
import type { RelayMetrics } from './pipeline/publish/relay.js';
import type { RetentionMetrics } from './pipeline/outbox/retention.js';
import type { StoreHealthMetrics } from './pipeline/outbox/store-health.js';
import type { ReconcilerMetrics } from './reconcile/reconciler.js';
import type { RebuildMetrics } from './reconcile/state-rebuild.js';

/** Every metric the receiver exports (`GET /metrics`); names follow Prometheus conventions. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'unicop_' });

  const webhookRequests = new Counter({
    name: 'unicop_webhook_requests_total',
    help: 'Webhook requests by HTTP status and result code (accepted, duplicate or an error code).',
    labelNames: ['status', 'code'] as const,
    registers: [registry],
  });
  const acceptSeconds = new Histogram({
    name: 'unicop_webhook_accept_seconds',
    help: 'Time from the end of the request body to the durable answer (202/200), including group commit.',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const outboxDepth = new Gauge({
    name: 'unicop_outbox_depth',
    help: 'Accepted messages not yet acknowledged by Kafka.',
    registers: [registry],
  });
  const outboxLimit = new Gauge({
    name: 'unicop_outbox_limit',
    help: 'Outbox depth at which webhooks are answered 503 (UNICOP_OUTBOX_LIMIT).',
    registers: [registry],
  });
  const published = new Counter({
    name: 'unicop_published_total',
    help: 'Messages acknowledged by Kafka, by topic.',
    labelNames: ['topic'] as const,
    registers: [registry],
  });
  const publishSeconds = new Histogram({
    name: 'unicop_publish_latency_seconds',
    help: 'Time from outbox commit to Kafka acknowledgement, for the oldest message of each batch.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const publishErrors = new Counter({
    name: 'unicop_publish_errors_total',
    help: 'Failed relay turns, by kind (broker_unavailable, fatal_sequence, too_large; cursor_write: Kafka acknowledged but SQLite could not record the position, nothing is resent). Each is followed by a backoff.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const kafkaUp = new Gauge({
    name: 'unicop_kafka_reachable',
    help: '1 while the last contact with Kafka succeeded.',
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'unicop_rejected_total',
    help: 'Inputs refused, by error code and whether they were authenticated (kept) or not (only counted).',
    labelNames: ['code', 'authenticated'] as const,
    registers: [registry],
  });

  const catchupRecovered = new Counter({
    name: 'unicop_catchup_recovered_total',
    help: 'Events made from the NetBox changelog because their webhook never arrived.',
    registers: [registry],
  });
  const catchupRejected = new Counter({
    name: 'unicop_catchup_rejected_total',
    help: 'Changelog rows that cannot become events (too large, unusable, object fetch failed too often): kept as rejects and passed.',
    registers: [registry],
  });
  const catchupLag = new Gauge({
    name: 'unicop_catchup_lag_seconds',
    help: 'Age of the oldest changelog row the catch-up has not handled yet (0 when caught up).',
    registers: [registry],
  });
  const catchupErrors = new Counter({
    name: 'unicop_catchup_errors_total',
    help: 'Failed changelog polls (NetBox unreachable, bad answer); the next interval tries again.',
    registers: [registry],
  });
  const catchupMark = new Gauge({
    name: 'unicop_catchup_high_water_mark',
    help: 'Highest changelog id below which every row is handled.',
    registers: [registry],
  });
  const catchup: CatchupMetrics = {
    recovered: (n) => catchupRecovered.inc(n),
    rejected: (n) => catchupRejected.inc(n),
    lag: (seconds) => catchupLag.set(seconds),
    failed: () => catchupErrors.inc(),
    highWaterMark: (id) => catchupMark.set(id),
  };

  const reconcileCommands = new Counter({
    name: 'unicop_reconcile_commands_total',
    help: 'Reconcile commands published, by attempt kind (first or retry).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const reconcileOutcomes = new Counter({
    name: 'unicop_reconcile_outcomes_total',
    help: 'Reconcile outcomes, by result and failure class.',
    labelNames: ['result', 'class'] as const,
    registers: [registry],
  });
  const reconcileOrphans = new Counter({
    name: 'unicop_reconcile_orphans_total',
    help: 'AWX notifications that matched no reconcile attempt (kept in reconcile_orphans), by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const awxNotifications = new Counter({
    name: 'unicop_awx_notifications_total',
    help: 'AWX notifications (and poll results) by job status: AWX\'s documented statuses, anything else as other.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const poisonRecords = new Counter({
    name: 'unicop_reconcile_poison_records_total',
    help: 'Records of the events topic the reconciler could not read (not JSON, too deep, not an envelope), kept as rejects and skipped, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const consumerErrors = new Counter({
    name: 'unicop_consumer_errors_total',
    help: 'Consumer start failures, failed reads of the state topic during a rebuild, and messages whose handling failed (redelivered by Kafka).',
    registers: [registry],
  });
  const reconcile: ReconcilerMetrics = {
    command: (attempt) => reconcileCommands.inc({ kind: attempt === 1 ? 'first' : 'retry' }),
    outcome: (result, failureClass) => reconcileOutcomes.inc({ result, class: failureClass ?? 'none' }),
    orphan: (reason) => reconcileOrphans.inc({ reason }),
    notification: (status) => awxNotifications.inc({ status }),
    poison: (code) => poisonRecords.inc({ code }),
  };

  const rebuilding = new Gauge({
    name: 'unicop_reconcile_rebuilding',
    help: '1 while the reconciler, started on a new database, waits for or reads <prefix>.roots.state.v1 (it neither consumes nor answers until done).',
    registers: [registry],
  });
  const rebuiltRoots = new Counter({
    name: 'unicop_reconcile_rebuilt_roots_total',
    help: 'Roots restored from <prefix>.roots.state.v1 after the data directory was lost, by their restored reconcile state (requested and running are in flight).',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const rebuildSkipped = new Counter({
    name: 'unicop_reconcile_rebuild_skipped_total',
    help: 'Roots whose latest state message could not be restored (not_json, schema, inconsistent); the log names each.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const rebuild: RebuildMetrics = {
    rebuilding: (on) => rebuilding.set(on ? 1 : 0),
    restored: (state) => rebuiltRoots.inc({ state }),
    skipped: (reason) => rebuildSkipped.inc({ reason }),
    failed: () => consumerErrors.inc(),
  };

  const retentionPruned = new Counter({
    name: 'unicop_retention_pruned_rows_total',
    help: 'Rows pruned by retention (UNICOP_RETENTION_DAYS, the row caps), by table.',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const retentionOverCap = new Counter({
    name: 'unicop_retention_over_cap_total',
    help: 'Retention passes that ended with a table over its row cap because the rest may not go yet (events younger than the retention: the dedupe horizon is kept; rows unpublished or in flight).',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const retention: RetentionMetrics = {
    pruned: (table, rows) => retentionPruned.inc({ table }, rows),
    overCap: (table) => retentionOverCap.inc({ table }),
  };

  const storeWriteFailures = new Counter({
    name: 'unicop_store_write_failures_total',
    help: 'Failed SQLite writes, by SQLite result code (SQLITE_FULL, SQLITE_IOERR_…) and writer (outbox, relay_cursor, retention, probe).',
    labelNames: ['code', 'part'] as const,
    registers: [registry],
  });
  const storeWritable = new Gauge({
    name: 'unicop_store_writable',
    help: '0 from a disk-level write failure (disk full, I/O error) until a write succeeds again; /readyz is not ready meanwhile.',
    registers: [registry],
  });
  const store: StoreHealthMetrics = {
    writeFailed: (code, part) => storeWriteFailures.inc({ code, part }),
    writable: (up) => storeWritable.set(up ? 1 : 0),
  };

  const relay: Omit<RelayMetrics, 'acknowledged'> = {
    published: (topic, count, oldestAcceptedAt) => {
      published.inc({ topic }, count);
      publishSeconds.observe(Math.max(0, Date.now() - oldestAcceptedAt) / 1000);
    },
    failed: (kind) => publishErrors.inc({ kind }),
    reachable: (up) => kafkaUp.set(up ? 1 : 0),
  };

  return { registry, webhookRequests, acceptSeconds, outboxDepth, outboxLimit, rejected, relay, catchup, reconcile, rebuild, consumerErrors, retention, store };
}

export type Metrics = ReturnType<typeof createMetrics>;
