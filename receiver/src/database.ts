import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * One part's tables in the shared SQLite file (the outbox's, the reconciler's): its migrations in
 * order, version n = the first n applied. Each part counts its own version in `schema_versions`.
 */
export interface SchemaComponent {
  /** Its row in `schema_versions`. */
  name: string;
  migrations: readonly string[];
  /**
   * Its version in a database made before the parts had their own migrations, indexed by that
   * database's `user_version` (receivers up to c53c674 ran one list of 6 migrations for all parts).
   */
  legacyVersions: readonly number[];
  /** Runs in the migration transaction when the part had no tables here yet (its version was 0). */
  created?: (db: Db) => void;
}

/**
 * Opens (and migrates) `<dataDir>/unicop.sqlite`. WAL lets the relay read while ingest writes;
 * `synchronous=FULL` makes every commit durable before a 202 leaves, group commit pays the fsync
 * once per batch of requests.
 *
 * Every pending migration of every part runs in ONE transaction, with the versions it reaches: a
 * part at version 0 then means "nothing of it was ever committed here", even after a crash during
 * the first start — the honest sign that its state is not in this file (`created`).
 */
export function openDatabase(dataDir: string, components: readonly SchemaComponent[]): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'unicop.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const stored = storedVersions(db, components);
  const versionOf = (c: SchemaComponent): number => stored.versions.get(c.name) ?? 0;
  // Nothing to write when every part is current (a full disk must not stop a restart).
  if (!stored.legacy && components.every((c) => versionOf(c) >= c.migrations.length)) return db;
  try {
    migrate(db, components, versionOf);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Every pending migration of every part, and the versions they reach, in one transaction. */
function migrate(db: Db, components: readonly SchemaComponent[], versionOf: (c: SchemaComponent) => number): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID');
    const setVersion = db.prepare<[string, number]>(
      'INSERT INTO schema_versions (component, version) VALUES (?, ?) ON CONFLICT(component) DO UPDATE SET version = excluded.version',
    );
    for (const c of components) {
      const from = versionOf(c);
      for (let v = from; v < c.migrations.length; v++) db.exec(c.migrations[v] ?? '');
      setVersion.run(c.name, Math.max(from, c.migrations.length));
      if (from === 0) c.created?.(db);
    }
  })();
}

/** The parts' versions: from `schema_versions`, or, once, from a single-list database's `user_version`. */
function storedVersions(db: Db, components: readonly SchemaComponent[]): { versions: Map<string, number>; legacy: boolean } {
  const table = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'").get();
  if (table) {
    const rows = db.prepare<[], { component: string; version: number }>('SELECT component, version FROM schema_versions').all();
    return { versions: new Map(rows.map((r) => [r.component, r.version])), legacy: false };
  }
  const userVersion = db.pragma('user_version', { simple: true }) as number;
  if (userVersion === 0) return { versions: new Map(), legacy: false };
  // A database of the single list: each part says which of its versions that list had reached
  // (a number beyond the list's last is read as its last, as the single list itself did).
  return {
    versions: new Map(components.map((c) => [c.name, c.legacyVersions[Math.min(userVersion, c.legacyVersions.length - 1)] ?? 0])),
    legacy: true,
  };
}
