import type { SchemaComponent } from '../database.js';

/**
 * The bounded inventory's tables (inventory-admission.ts). `inventory_roots`: one row per root the
 * receiver decided on under an inventory policy — `admitted` (holds a slot of every cap its scope
 * matches), `refused` (a cap was full: its events are `managed: false`) or `released` (admitted, then
 * its root object was deleted: the slot is free again). Rows are never pruned (one small row per
 * root, like the sequencer's `roots`): a late event of a deleted root must not admit it again.
 * `notice` holds a refusal's `unicop.inventory.cap_exceeded` data until it is in the outbox.
 * `inventory_cap_counts`: admitted roots per cap (its canonical scope), rebuilt from the roots at
 * every start so a changed policy counts right.
 */
export const INVENTORY_SCHEMA: SchemaComponent = {
  name: 'inventory',
  migrations: [
    `CREATE TABLE inventory_roots (
       root TEXT PRIMARY KEY,
       state TEXT NOT NULL CHECK (state IN ('admitted', 'refused', 'released')),
       tenant TEXT,
       site TEXT,
       regions TEXT NOT NULL,
       caps TEXT NOT NULL,
       event_id TEXT NOT NULL,
       notice TEXT,
       decided_at INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE inventory_cap_counts (cap_key TEXT PRIMARY KEY, admitted INTEGER NOT NULL) WITHOUT ROWID;`,
  ],
  postgres: [
    `CREATE TABLE inventory_roots (
       root TEXT PRIMARY KEY,
       state TEXT NOT NULL CHECK (state IN ('admitted', 'refused', 'released')),
       tenant TEXT,
       site TEXT,
       regions TEXT NOT NULL,
       caps TEXT NOT NULL,
       event_id TEXT NOT NULL,
       notice TEXT,
       decided_at BIGINT NOT NULL
     );
     CREATE TABLE inventory_cap_counts (cap_key TEXT PRIMARY KEY, admitted BIGINT NOT NULL);`,
  ],
  // Databases from before parts had their own migrations never had these tables.
  legacyVersions: [0, 0, 0, 0, 0, 0, 0],
};
