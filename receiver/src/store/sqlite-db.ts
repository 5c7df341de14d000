import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, migrationsOf, type Db, type SchemaComponent, type Statement } from '../database.js';

/** The embedded store: better-sqlite3 behind the `Db` interface, its pragmas within reach (tests fill the disk with them). */
export class SqliteDb implements Db {
  readonly dialect = 'sqlite';

  constructor(readonly raw: Database.Database) {}

  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R> {
    return this.raw.prepare<P, R>(sql);
  }

  exec(sql: string): void {
    this.raw.exec(sql);
  }

  /**
   * BEGIN IMMEDIATE: the relay thread writes the same file on a second connection, and a deferred
   * transaction that read before it writes fails at once with SQLITE_BUSY (no busy wait) when the
   * other connection wrote meanwhile; taking the write lock first waits (busy_timeout) instead.
   */
  transaction<T>(fn: () => T): () => T {
    return this.raw.transaction(fn).immediate as () => T;
  }

  pragma(source: string, options?: Database.PragmaOptions): unknown {
    return this.raw.pragma(source, options);
  }

  close(): void {
    this.raw.close();
  }
}

/**
 * Opens (and migrates) `<dataDir>/unicop.sqlite`. WAL lets the relay thread's own connection read while ingest writes;
 * `synchronous=FULL` makes every commit durable before a 202 leaves, group commit pays the fsync
 * once per batch of requests.
 */
export function openDatabase(dataDir: string, components: readonly SchemaComponent[]): SqliteDb {
  mkdirSync(dataDir, { recursive: true });
  const db = new SqliteDb(new Database(join(dataDir, 'unicop.sqlite')));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const stored = storedVersions(db, components);
  const versionOf = (c: SchemaComponent): number => stored.versions.get(c.name) ?? 0;
  // Nothing to write when every part is current (a full disk must not stop a restart).
  if (!stored.legacy && components.every((c) => versionOf(c) >= migrationsOf(c, db).length)) return db;
  try {
    migrate(db, components, versionOf);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** The parts' versions: from `schema_versions`, or, once, from a single-list database's `user_version`. */
function storedVersions(db: SqliteDb, components: readonly SchemaComponent[]): { versions: Map<string, number>; legacy: boolean } {
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
