import { ACCESS_SCHEMA } from './access/access-migrations.js';
import type { Config } from './config.js';
import { openDatabase, type Db, type SchemaComponent, type SqliteDb } from './database.js';
import { DESIRED_SCHEMA } from './desired/desired-migrations.js';
import { INVENTORY_SCHEMA } from './inventory/inventory-migrations.js';
import { OUTBOX_SCHEMA } from './pipeline/outbox/outbox-migrations.js';
import { RECONCILE_SCHEMA } from './reconcile/reconcile-migrations.js';
import { SNAPSHOT_SCHEMA } from './snapshot/snapshot-migrations.js';
import { openPostgres } from './store/postgres-db.js';

/**
 * Every part's tables. The reconciler's exist even when no reconciler runs: retention prunes them,
 * and a reconciler configured later finds its own state.
 */
export const RECEIVER_SCHEMA: readonly SchemaComponent[] = [OUTBOX_SCHEMA, RECONCILE_SCHEMA, ACCESS_SCHEMA, SNAPSHOT_SCHEMA, DESIRED_SCHEMA, INVENTORY_SCHEMA];

/** The receiver's SQLite file in `dataDir`. */
export function openReceiverDatabase(dataDir: string): SqliteDb {
  return openDatabase(dataDir, RECEIVER_SCHEMA);
}

/** The receiver's store: PostgreSQL when `UNICOP_DATABASE_URL` is set (shared by several receivers), else SQLite in `UNICOP_DATA_DIR`. */
export function openReceiverStore(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Db {
  return config.databaseUrl ? openPostgres(config.databaseUrl, RECEIVER_SCHEMA) : openReceiverDatabase(config.dataDir);
}
