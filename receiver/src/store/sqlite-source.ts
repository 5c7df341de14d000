import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SchemaComponent } from '../database.js';
import { UnicopError, type ErrorDetail } from '../errors.js';

/** A stopped receiver's SQLite file, held exclusively while it is read: nothing writes or opens it meanwhile. */
export interface SqliteSource {
  readonly raw: Database.Database;
  /** Gives the file back untouched (the import only reads it). */
  close(): void;
}

/**
 * Opens `<dataDir>/unicop.sqlite` for the import, or refuses with a code:
 * - no file, or not SQLite → `UNICOP_STORE_SOURCE_UNREADABLE` (it is never created here);
 * - another connection has it open → `UNICOP_STORE_SOURCE_IN_USE`. A receiver keeps its WAL-mode
 *   connection open while idle, so a write lock alone (`BEGIN IMMEDIATE`) would succeed between its
 *   transactions. In `locking_mode = EXCLUSIVE` the first transaction needs the file to itself and
 *   keeps it until close (https://www.sqlite.org/pragma.html#pragma_locking_mode): an open receiver
 *   makes it fail at once, and no receiver can open the file while the import reads it;
 * - a part's schema version other than this build's last → `UNICOP_STORE_SOURCE_NOT_CURRENT`.
 */
export function openSqliteSource(dataDir: string, components: readonly SchemaComponent[]): SqliteSource {
  const path = join(dataDir, 'unicop.sqlite');
  if (!existsSync(path)) throw new UnicopError('UNICOP_STORE_SOURCE_UNREADABLE', `no SQLite store at ${path}`);
  let raw: Database.Database;
  try {
    raw = new Database(path, { fileMustExist: true });
  } catch (cause) {
    throw new UnicopError('UNICOP_STORE_SOURCE_UNREADABLE', `cannot open ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    raw.pragma('busy_timeout = 0');
    raw.pragma('locking_mode = EXCLUSIVE');
    try {
      raw.exec('BEGIN EXCLUSIVE');
    } catch (cause) {
      const code = (cause as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        throw new UnicopError('UNICOP_STORE_SOURCE_IN_USE', `${path} is open in another process (a receiver running on it?): stop it first`, { cause });
      }
      throw new UnicopError('UNICOP_STORE_SOURCE_UNREADABLE', `cannot read ${path}: ${(cause as Error).message}`, { cause });
    }
    checkCurrent(raw, path, components);
  } catch (error) {
    raw.close();
    throw error;
  }
  return {
    raw,
    close: () => {
      if (raw.inTransaction) raw.exec('ROLLBACK');
      raw.close();
    },
  };
}

function checkCurrent(raw: Database.Database, path: string, components: readonly SchemaComponent[]): void {
  let stored: Map<string, number>;
  try {
    const table = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'").get();
    const rows = table ? (raw.prepare('SELECT component, version FROM schema_versions').all() as { component: string; version: number }[]) : [];
    stored = new Map(rows.map((r) => [r.component, r.version]));
  } catch (cause) {
    throw new UnicopError('UNICOP_STORE_SOURCE_UNREADABLE', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  const details: ErrorDetail[] = components
    .filter((c) => stored.get(c.name) !== c.migrations.length)
    .map((c) => ({ pointer: c.name, message: `schema version ${stored.get(c.name) ?? 'none'}, this build's is ${c.migrations.length}` }));
  if (details.length > 0) {
    throw new UnicopError(
      'UNICOP_STORE_SOURCE_NOT_CURRENT',
      `${path} is not at this build's schema: start a receiver of this version on it once, stop it, then import`,
      { details },
    );
  }
}
