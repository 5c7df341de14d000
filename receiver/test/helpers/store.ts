import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { PostgresDb } from '../../src/store/postgres-db.js';

/**
 * The store the suite runs on: SQLite in each receiver's data dir (the default), or PostgreSQL when
 * `UNICOP_TEST_STORE=postgres` — then `UNICOP_TEST_DATABASE_URL` names a role that may create
 * databases, and each test receiver gets a database of its own (`scripts/test` runs the integration
 * suite both ways).
 */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.UNICOP_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

const databases = new Map<string, string>();

/** The store settings of the receiver whose data dir is `dataDir` (the same database each time it is asked). */
export function storeEnv(dataDir: string): Record<string, string> {
  if (TEST_STORE === 'sqlite') return { UNICOP_DATA_DIR: dataDir };
  let url = databases.get(dataDir);
  if (!url) {
    url = createDatabase();
    databases.set(dataDir, url);
  }
  return { UNICOP_DATA_DIR: dataDir, UNICOP_DATABASE_URL: url };
}

/**
 * A new, empty database on the server of `admin` (a role that may create databases; the test server
 * by default), named `<prefix>_<random>`; its URL.
 */
export function createDatabase(admin = process.env.UNICOP_TEST_DATABASE_URL, prefix = 'unicop_test'): string {
  if (!admin) throw new Error('PostgreSQL tests need UNICOP_TEST_DATABASE_URL (scripts/postgres up prints one; scripts/test exports it)');
  const name = `${prefix}_${randomUUID().replaceAll('-', '')}`;
  adminExec(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops the database made for `dataDir`, if any. */
export function dropStore(dataDir: string): void {
  const url = databases.get(dataDir);
  if (!url || !process.env.UNICOP_TEST_DATABASE_URL) return;
  databases.delete(dataDir);
  adminExec(process.env.UNICOP_TEST_DATABASE_URL, `DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
}

function adminExec(admin: string, sql: string): void {
  const db = new PostgresDb(admin);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/**
 * What losing a receiver's data directory means for its store: the SQLite file goes with the
 * directory; a PostgreSQL database is emptied (dropped and made again, same name and URL).
 */
export function loseStore(dataDir: string): void {
  rmSync(dataDir, { recursive: true, force: true });
  const url = databases.get(dataDir);
  const admin = process.env.UNICOP_TEST_DATABASE_URL;
  if (!url || !admin) return;
  const name = new URL(url).pathname.slice(1);
  adminExec(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  adminExec(admin, `CREATE DATABASE ${name}`);
}
