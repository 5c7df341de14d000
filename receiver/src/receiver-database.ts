import { ACCESS_SCHEMA } from './access/access-migrations.js';
import { openDatabase, type Db } from './database.js';
import { INVENTORY_SCHEMA } from './inventory/inventory-migrations.js';
import { OUTBOX_SCHEMA } from './pipeline/outbox/outbox-migrations.js';
import { RECONCILE_SCHEMA } from './reconcile/reconcile-migrations.js';

/**
 * The receiver's one SQLite file with every part's tables. The reconciler's exist even when no
 * reconciler runs: retention prunes them, and a reconciler configured later finds its own state.
 */
export function openReceiverDatabase(dataDir: string): Db {
  return openDatabase(dataDir, [OUTBOX_SCHEMA, RECONCILE_SCHEMA, ACCESS_SCHEMA, INVENTORY_SCHEMA]);
}
