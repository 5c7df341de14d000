import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDb } from '../../src/store/sqlite-db.js';

/*
 * FROZEN: the receiver's migrations as they were before each part had its own (one list for the
 * outbox and the reconciler, counted in SQLite's user_version), copied verbatim from commit
 * c53c674 `receiver/src/pipeline/outbox/database.ts`. Never edit: tests open databases made by
 * this list with the current code, as an upgraded receiver opens its existing data directory.
 */
export const SINGLE_LIST_MIGRATIONS: readonly string[] = [
  `CREATE TABLE outbox (
     pos INTEGER PRIMARY KEY AUTOINCREMENT,
     topic TEXT NOT NULL,
     key TEXT NOT NULL,
     message_id TEXT NOT NULL,
     value TEXT NOT NULL,
     accepted_at INTEGER NOT NULL,
     published_at INTEGER
   );
   CREATE INDEX outbox_pending ON outbox(pos) WHERE published_at IS NULL;
   CREATE TABLE events (
     id TEXT PRIMARY KEY,
     root TEXT NOT NULL,
     sequence INTEGER NOT NULL,
     subject TEXT NOT NULL,
     type TEXT NOT NULL,
     time TEXT NOT NULL,
     superseded INTEGER NOT NULL,
     outbox_pos INTEGER NOT NULL REFERENCES outbox(pos)
   );
   CREATE UNIQUE INDEX events_root_sequence ON events(root, sequence);
   CREATE TABLE roots (root TEXT PRIMARY KEY, last_sequence INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE object_versions (subject TEXT PRIMARY KEY, version_mark TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE rejects (
     id TEXT PRIMARY KEY,
     received_at INTEGER NOT NULL,
     code TEXT NOT NULL,
     message TEXT NOT NULL,
     details TEXT NOT NULL,
     body BLOB NOT NULL,
     outbox_pos INTEGER NOT NULL REFERENCES outbox(pos)
   );`,
  // v2, changelog catch-up: the NetBox request behind each event (a webhook and a changelog row of
  // the same request and object are the same change), the changelog rows already turned into
  // events, and the catch-up's high-water mark.
  `ALTER TABLE events ADD COLUMN request_id TEXT;
   CREATE INDEX events_request_subject ON events(request_id, subject) WHERE request_id IS NOT NULL;
   CREATE TABLE changelog_seen (changelog_id INTEGER PRIMARY KEY, event_id TEXT, seen_at INTEGER NOT NULL);
   CREATE TABLE catchup_state (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
  // v3, the reconciler: one record per root (JSON, see reconcile/state-machine.ts) with the times
  // its ticker looks for, every attempt (to correlate AWX outcomes), the events already applied
  // (consumption is at-least-once), and outcomes that matched no attempt.
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
  // v4, a relay cursor instead of a published_at per row: the relay publishes strictly in pos order,
  // so "published" is "pos <= cursor". Updating published_at rewrote every ~5 KB row once more.
  `CREATE TABLE relay_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), pos INTEGER NOT NULL);
   INSERT INTO relay_cursor (id, pos) VALUES (1, coalesce(
     (SELECT min(pos) - 1 FROM outbox WHERE published_at IS NULL),
     (SELECT max(pos) FROM outbox),
     0));
   DROP INDEX outbox_pending;`,
  // v5, whether the reconciler must rebuild its state from <prefix>.roots.state.v1 before it starts.
  // A database that existed before v5 kept its own state (needed = 0); openDatabase sets needed = 1
  // when it creates the file, which is what a lost data directory looks like.
  `CREATE TABLE reconcile_rebuild (id INTEGER PRIMARY KEY CHECK (id = 1), needed INTEGER NOT NULL, done_at INTEGER);
   INSERT INTO reconcile_rebuild (id, needed) VALUES (1, 0);`,
  // v6, retention (outbox/retention.ts): the ages and positions it prunes by, the child keys SQLite
  // checks before an outbox row may go (foreign keys), and a scratch table whose one-page write
  // tells the store health that the disk takes writes again.
  `CREATE INDEX outbox_accepted_at ON outbox(accepted_at);
   CREATE INDEX events_outbox_pos ON events(outbox_pos);
   CREATE INDEX rejects_outbox_pos ON rejects(outbox_pos);
   CREATE INDEX changelog_seen_at ON changelog_seen(seen_at);
   CREATE INDEX reconcile_events_seen_at ON reconcile_events_seen(seen_at);
   CREATE INDEX reconcile_attempts_concluded ON reconcile_attempts(requested_at) WHERE outcome IS NOT NULL;
   CREATE INDEX reconcile_orphans_received ON reconcile_orphans(received_at);
   CREATE TABLE store_probe (id INTEGER PRIMARY KEY, filler BLOB NOT NULL);`,
];

/**
 * Makes `<dir>/unicop.sqlite` as that receiver's openDatabase did, up to `version` (default all):
 * pending migrations in one transaction, user_version set, and a new file marked for a reconcile
 * rebuild once the list has the reconcile_rebuild table.
 */
export function singleListDatabase(dir: string, version = SINGLE_LIST_MIGRATIONS.length): SqliteDb {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'unicop.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.transaction(() => {
    for (let v = 0; v < version; v++) db.exec(SINGLE_LIST_MIGRATIONS[v] ?? '');
    db.pragma(`user_version = ${version}`);
    if (version >= 5) db.exec('UPDATE reconcile_rebuild SET needed = 1 WHERE id = 1');
  })();
  return new SqliteDb(db);
}
