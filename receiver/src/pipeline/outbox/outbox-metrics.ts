import { Counter, Gauge, type Registry } from 'prom-client';
import type { RetentionMetrics } from './retention.js';
import type { StoreHealthMetrics } from './store-health.js';

/** The outbox's depth and its limit (the receiver sets both; the relay lowers the depth). */
export function createOutboxMetrics(registry: Registry) {
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
  return { outboxDepth, outboxLimit };
}

export function createRetentionMetrics(registry: Registry): RetentionMetrics {
  const pruned = new Counter({
    name: 'unicop_retention_pruned_rows_total',
    help: 'Rows pruned by retention (UNICOP_RETENTION_DAYS, the row caps), by table.',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const overCap = new Counter({
    name: 'unicop_retention_over_cap_total',
    help: 'Retention passes that ended with a table over its row cap because the rest may not go yet (events younger than the retention: the dedupe horizon is kept; rows unpublished or in flight).',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  return {
    pruned: (table, rows) => pruned.inc({ table }, rows),
    overCap: (table) => overCap.inc({ table }),
  };
}

export function createStoreHealthMetrics(registry: Registry): StoreHealthMetrics {
  const writeFailures = new Counter({
    name: 'unicop_store_write_failures_total',
    help: 'Failed store writes, by store code (SQLITE_FULL, SQLITE_IOERR_…, PG_UNAVAILABLE, PG_TIMEOUT, PG_<SQLSTATE>) and writer (outbox, relay_cursor, retention, probe).',
    labelNames: ['code', 'part'] as const,
    registers: [registry],
  });
  const writable = new Gauge({
    name: 'unicop_store_writable',
    help: '0 from a store-level write failure (disk full, I/O error, PostgreSQL unreachable) until a write succeeds again; /readyz is not ready meanwhile.',
    registers: [registry],
  });
  return {
    writeFailed: (code, part) => writeFailures.inc({ code, part }),
    writable: (up) => writable.set(up ? 1 : 0),
  };
}
