import { ACCESS_SCHEMA } from './access/access-migrations.js';
import { openDatabase, type Db } from './database.js';
import { DESIRED_SCHEMA } from './desired/desired-migrations.js';
import { INVENTORY_SCHEMA } from './inventory/inventory-migrations.js';
import { OUTBOX_SCHEMA } from './pipeline/outbox/outbox-migrations.js';
import { RECONCILE_SCHEMA } from './reconcile/reconcile-migrations.js';
import { SNAPSHOT_SCHEMA } from './snapshot/snapshot-migrations.js';

/**
 * The receiver's one SQLite file with every part's tables. The reconciler's exist even when no
 * reconciler runs: retention prunes them, and a reconciler configured later finds its own state.
 */
export function openReceiverDatabase(dataDir: string): Db {
  return openDatabase(dataDir, [OUTBOX_SCHEMA, RECONCILE_SCHEMA, ACCESS_SCHEMA, SNAPSHOT_SCHEMA, DESIRED_SCHEMA, INVENTORY_SCHEMA]);
}
