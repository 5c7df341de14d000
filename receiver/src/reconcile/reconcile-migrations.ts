import type { Db, SchemaComponent } from '../database.js';

/** The same statement in both dialects. */
const OWNERSHIP_COLUMN = `ALTER TABLE reconcile_roots ADD COLUMN ownership TEXT;
  CREATE INDEX reconcile_roots_waiting ON reconcile_roots(ownership) WHERE ownership IN ('releasing', 'adopting');`;

/**
 * The reconciler's tables: one record per root (JSON, see state-machine.ts) with the times its
 * ticker looks for, every attempt (to correlate AWX outcomes), the events already applied
 * (consumption is at-least-once), outcomes that matched no attempt, and whether the state must be
 * rebuilt from `<prefix>.roots.state.v1` (state-rebuild.ts).
 */
export const RECONCILE_SCHEMA: SchemaComponent = {
  name: 'reconcile',
  migrations: [
    `CREATE TABLE reconcile_roots (
       root TEXT PRIMARY KEY,
       state TEXT NOT NULL,
       record TEXT NOT NULL,
       due_at INTEGER,
       updated_at INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX reconcile_roots_state ON reconcile_roots(state);
     CREATE INDEX reconcile_roots_due ON reconcile_roots(due_at) WHERE due_at IS NOT NULL;
     CREATE TABLE reconcile_attempts (
       reconcile_id TEXT PRIMARY KEY,
       root TEXT NOT NULL,
       attempt INTEGER NOT NULL,
       requested_at INTEGER NOT NULL,
       deadline_at INTEGER NOT NULL,
       awx_job_id INTEGER,
       outcome TEXT
     );
     CREATE INDEX reconcile_attempts_root ON reconcile_attempts(root, requested_at);
     CREATE TABLE reconcile_events_seen (event_id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL) WITHOUT ROWID;
     CREATE TABLE reconcile_orphans (
       id INTEGER PRIMARY KEY AUTOINCREMENT,
       received_at INTEGER NOT NULL,
       reconcile_id TEXT,
       reason TEXT NOT NULL,
       body TEXT NOT NULL
     );`,
    // v2, whether the reconciler must rebuild its state before it starts. A database that had the
    // reconciler's tables before v2 kept its own state (needed = 0); `created` sets needed = 1 when
    // the tables are new here, which is what a lost data directory looks like.
    `CREATE TABLE reconcile_rebuild (id INTEGER PRIMARY KEY CHECK (id = 1), needed INTEGER NOT NULL, done_at INTEGER);
     INSERT INTO reconcile_rebuild (id, needed) VALUES (1, 0);`,
    // v3, retention (pipeline/outbox/retention.ts) prunes these by age; attempts only once concluded.
    `CREATE INDEX reconcile_events_seen_at ON reconcile_events_seen(seen_at);
     CREATE INDEX reconcile_attempts_concluded ON reconcile_attempts(requested_at) WHERE outcome IS NOT NULL;
     CREATE INDEX reconcile_orphans_received ON reconcile_orphans(received_at);`,
    // v4, federation: this cell's part in the root when it is not plainly owned (ownership.ts), so
    // the roots waiting for a handover are counted without reading every record.
    OWNERSHIP_COLUMN,
  ],
  postgres: [
    `CREATE TABLE reconcile_roots (
       root TEXT PRIMARY KEY,
       state TEXT NOT NULL,
       record TEXT NOT NULL,
       due_at BIGINT,
       updated_at BIGINT NOT NULL
     );
     CREATE INDEX reconcile_roots_state ON reconcile_roots(state);
     CREATE INDEX reconcile_roots_due ON reconcile_roots(due_at) WHERE due_at IS NOT NULL;
     CREATE TABLE reconcile_attempts (
       reconcile_id TEXT PRIMARY KEY,
       root TEXT NOT NULL,
       attempt INTEGER NOT NULL,
       requested_at BIGINT NOT NULL,
       deadline_at BIGINT NOT NULL,
       awx_job_id BIGINT,
       outcome TEXT
     );
     CREATE INDEX reconcile_attempts_root ON reconcile_attempts(root, requested_at);
     CREATE INDEX reconcile_attempts_concluded ON reconcile_attempts(requested_at) WHERE outcome IS NOT NULL;
     CREATE TABLE reconcile_events_seen (event_id TEXT PRIMARY KEY, seen_at BIGINT NOT NULL);
     CREATE INDEX reconcile_events_seen_at ON reconcile_events_seen(seen_at);
     CREATE TABLE reconcile_orphans (
       id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       received_at BIGINT NOT NULL,
       reconcile_id TEXT,
       reason TEXT NOT NULL,
       body TEXT NOT NULL
     );
     CREATE INDEX reconcile_orphans_received ON reconcile_orphans(received_at);
     CREATE TABLE reconcile_rebuild (id INTEGER PRIMARY KEY CHECK (id = 1), needed INTEGER NOT NULL, done_at BIGINT);
     INSERT INTO reconcile_rebuild (id, needed) VALUES (1, 0);`,
    // v2: the SQLite list's v4.
    OWNERSHIP_COLUMN,
  ],
  // The single list's v3, v5 and the reconcile half of v6 are this list's v1..v3.
  legacyVersions: [0, 0, 0, 1, 1, 2, 3],
  // No reconcile state in this file: on a first start the state topic is empty or missing, after a
  // lost data directory it holds the state to restore. Either way, read it.
  created: (db: Db) => db.exec('UPDATE reconcile_rebuild SET needed = 1 WHERE id = 1'),
};
