import type { SqliteDb } from './store/sqlite-db.js';

/** A prepared statement: the part of better-sqlite3's API both stores offer. */
export interface Statement<P extends unknown[] = unknown[], R = unknown> {
  run(...params: P): { changes: number };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

/**
 * The receiver's database, SQLite (one receiver, the embedded default) or PostgreSQL (several
 * receivers sharing it: `UNICOP_DATABASE_URL`). Synchronous on purpose: a part composes its writes
 * into one transaction that nothing else in the process interleaves with (store/postgres-db.ts says
 * how PostgreSQL keeps that promise across receivers). SQL written for it runs on both: `?`
 * placeholders, `ON CONFLICT`, `RETURNING`, integer columns for flags, no SQLite-only functions.
 */
export interface Db {
  readonly dialect: 'sqlite' | 'postgres';
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R>;
  /** Statements without parameters, several at once (migrations). */
  exec(sql: string): void;
  /** Like better-sqlite3: returns a function that runs `fn` in a transaction (a savepoint when nested). */
  transaction<T>(fn: () => T): () => T;
  close(): void;
  /** A shared store only: calls `listener` after any receiver's transaction committed (wakes relays). */
  onCommit?(listener: () => void): void;
}

/**
 * One part's tables (the outbox's, the reconciler's): its migrations in order per dialect, version
 * n = the first n applied. Each part counts its own version in `schema_versions`.
 */
export interface SchemaComponent {
  /** Its row in `schema_versions`. */
  name: string;
  migrations: readonly string[];
  /**
   * The same tables in PostgreSQL's dialect. Its list started with this store (its v1 is the
   * SQLite list's last state); it grows by the same discipline: append, never edit.
   */
  postgres: readonly string[];
  /**
   * Its version in a database made before the parts had their own migrations, indexed by that
   * database's `user_version` (receivers up to c53c674 ran one list of 6 migrations for all parts).
   */
  legacyVersions: readonly number[];
  /** Runs in the migration transaction when the part had no tables here yet (its version was 0). */
  created?: (db: Db) => void;
}

/** The migrations of a part in the database's dialect. */
export const migrationsOf = (c: SchemaComponent, db: Db): readonly string[] => (db.dialect === 'postgres' ? c.postgres : c.migrations);

/**
 * Every pending migration of every part, and the versions they reach, in ONE transaction: a part at
 * version 0 then means "nothing of it was ever committed here", even after a crash during the first
 * start — the honest sign that its state is not in this database (`created`).
 */
export function migrate(db: Db, components: readonly SchemaComponent[], versionOf: (c: SchemaComponent) => number): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)');
    const setVersion = db.prepare<[string, number]>(
      'INSERT INTO schema_versions (component, version) VALUES (?, ?) ON CONFLICT(component) DO UPDATE SET version = excluded.version',
    );
    for (const c of components) {
      const list = migrationsOf(c, db);
      const from = versionOf(c);
      for (let v = from; v < list.length; v++) db.exec(list[v] ?? '');
      setVersion.run(c.name, Math.max(from, list.length));
      if (from === 0) c.created?.(db);
    }
  })();
}

export type { SqliteDb };
export { openDatabase } from './store/sqlite-db.js';
