import type Database from 'better-sqlite3';
import type { Db, SchemaComponent } from '../database.js';
import { UnicopError } from '../errors.js';
import { laneOf } from '../pipeline/publish/lanes.js';
import { openPostgres } from './postgres-db.js';
import { openSqliteSource } from './sqlite-source.js';

/** SQLite tables the import leaves behind, and why. */
const NOT_COPIED: Readonly<Record<string, string>> = {
  schema_versions: 'each store counts its own migrations',
  sqlite_sequence: "SQLite's own; its highs move the identity columns instead",
  store_probe: "the store health's scratch table, empty between probes",
  relay_lanes: "the lane count differs: each route's lanes get fresh rows with the route's one SQLite cursor",
  relay_members: 'the receivers alive belong to the running processes, not to the data',
  leases: "a named duty's holder is a running process too (store/lease.ts)",
};

/**
 * Rows the target's own migrations or a receiver's start wrote on a new database: SQLite's state
 * replaces them (`reconcile_rebuild` must stay what SQLite says, or the reconciler would rebuild a
 * state it has; cap counts are rebuilt at every start anyway).
 */
const REPLACED = new Set(['reconcile_rebuild', 'inventory_cap_counts']);

/** How long one bulk statement may take (a batch of large outbox rows on a slow disk). */
const IMPORT_STATEMENT_TIMEOUT_MS = 120_000;

export interface ImportOptions {
  /** The stopped receiver's `UNICOP_DATA_DIR` (its `unicop.sqlite`). */
  dataDir: string;
  /** The new PostgreSQL store, `UNICOP_DATABASE_URL` of the receivers that will run on it. */
  databaseUrl: string;
  /** Their lane count, `UNICOP_TOPIC_PARTITIONS` (pipeline/publish/lanes.ts). */
  lanes: number;
  /** Every part's tables (RECEIVER_SCHEMA). */
  components: readonly SchemaComponent[];
  /** Rows per INSERT (fewer when a table has many columns: PostgreSQL takes at most 65535 parameters). */
  batchRows?: number;
}

export interface ImportSummary {
  /** Rows copied per table, in copy order. */
  tables: { table: string; rows: number }[];
  outboxRows: number;
  events: number;
  /** Every lane's cursor: the SQLite relay's; rows at or below it were published. */
  cursor: number;
  /** Outbox rows above the cursor, now pending in their lanes. */
  pending: number;
}

/**
 * Copies a stopped single-node SQLite store into an empty PostgreSQL store so that nothing is
 * sequenced or published again: every table of every part by its column list, outbox positions and
 * other identity values as they were (the identities then continue past them), each outbox row in
 * the lane the PostgreSQL receivers compute for its key, and every lane's cursor at the SQLite
 * relay's — a row at or below it was published whatever its lane, one above it is pending in its
 * lane, still in commit order. One PostgreSQL transaction under the write lock: all or nothing, and
 * the emptiness check holds until the commit. Refusals: sqlite-source.ts, and
 * `UNICOP_STORE_TARGET_NOT_EMPTY`.
 */
export function importSqliteStore(options: ImportOptions): ImportSummary {
  const source = openSqliteSource(options.dataDir, options.components);
  try {
    const target = openPostgres(options.databaseUrl, options.components, IMPORT_STATEMENT_TIMEOUT_MS);
    try {
      return target.transaction(() => copy(source.raw, target, options))();
    } finally {
      target.close();
    }
  } finally {
    source.close();
  }
}

interface Column {
  name: string;
  identity: boolean;
}

function copy(source: Database.Database, target: Db, options: ImportOptions): ImportSummary {
  const tables = sourceTables(source).map((table) => ({ table, columns: targetColumns(source, target, table) }));
  refuseFilled(
    target,
    tables.map((t) => t.table).filter((t) => !REPLACED.has(t)),
  );
  // A SQLite receiver has one lane per route; here each route gets one lane per partition, numbered route by route.
  const perRoute = Math.max(1, options.lanes);
  const keyLane = laneOf(options.lanes);
  const sqliteLanes = source.prepare('SELECT lane, route, cursor FROM relay_lanes ORDER BY lane').all() as { lane: number; route: string; cursor: number }[];
  const routeIndex = new Map(sqliteLanes.map((l, i) => [l.lane, i]));
  const copied: ImportSummary['tables'] = [];
  for (const { table, columns } of tables) {
    if (REPLACED.has(table)) target.exec(`DELETE FROM "${table}"`);
    const lane = table === 'outbox' ? (row: Record<string, unknown>) => (routeIndex.get(Number(row.lane)) ?? 0) * perRoute + keyLane(String(row.key)) : null;
    copied.push({ table, rows: copyRows(source, target, table, columns, lane, options.batchRows ?? 500) });
    for (const c of columns.filter((col) => col.identity)) continueIdentity(source, target, table, c.name);
  }
  // Fresh lanes with no holder; a bumped generation fences off whatever held a lane row before.
  const upsertLane = target.prepare<[number, string, number, number]>(
    `INSERT INTO relay_lanes (lane, route, kafka_partition, cursor, holder, generation, expires_at) VALUES (?, ?, ?, ?, NULL, 0, 0)
     ON CONFLICT(lane) DO UPDATE SET route = excluded.route, kafka_partition = excluded.kafka_partition, cursor = excluded.cursor,
       holder = NULL, generation = relay_lanes.generation + 1, expires_at = 0`,
  );
  target.prepare<[number]>('DELETE FROM relay_lanes WHERE lane >= ?').run(sqliteLanes.length * perRoute);
  sqliteLanes.forEach((l, i) => {
    for (let p = 0; p < perRoute; p++) upsertLane.run(i * perRoute + p, l.route, p, l.cursor);
  });
  const cursor = sqliteLanes[0]?.cursor ?? 0;
  const countPending = source.prepare('SELECT count(*) AS n FROM outbox WHERE lane = ? AND pos > ?');
  const pending = sqliteLanes.reduce((sum, l) => sum + (countPending.get(l.lane, l.cursor) as { n: number }).n, 0);
  const rowsOf = (table: string): number => copied.find((c) => c.table === table)?.rows ?? 0;
  return { tables: copied, outboxRows: rowsOf('outbox'), events: rowsOf('events'), cursor, pending };
}

/** Every table to copy, the outbox first: events and rejects reference its positions. */
function sourceTables(source: Database.Database): string[] {
  const names = (source.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid").all() as { name: string }[]).map((r) => r.name);
  return names.filter((n) => !(n in NOT_COPIED)).sort((a, b) => Number(b === 'outbox') - Number(a === 'outbox'));
}

/** The target table's columns, each of which the SQLite table must have (SQLite's extra ones, like the outbox's old `published_at`, stay behind). */
function targetColumns(source: Database.Database, target: Db, table: string): Column[] {
  const columns = target
    .prepare<[string], { name: string; identity: string }>(
      `SELECT column_name AS name, is_identity AS identity FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
    )
    .all(table)
    .map((c) => ({ name: c.name, identity: c.identity === 'YES' }));
  const own = new Set((source.pragma(`table_info("${table}")`) as { name: string }[]).map((c) => c.name));
  const missing = columns.length === 0 ? ['the table'] : columns.filter((c) => !own.has(c.name)).map((c) => `column ${c.name}`);
  if (missing.length > 0) {
    throw new UnicopError('UNICOP_STORE_SOURCE_NOT_CURRENT', `SQLite table ${table} and this build's PostgreSQL schema differ`, {
      details: missing.map((m) => ({ pointer: table, message: `${m}: only on one side` })),
    });
  }
  return columns;
}

function refuseFilled(target: Db, tables: string[]): void {
  const filled = tables.filter((t) => target.prepare(`SELECT 1 AS one FROM "${t}" LIMIT 1`).get() !== undefined);
  const live = target.prepare<[number], { n: number }>('SELECT count(*) AS n FROM relay_members WHERE expires_at > ?').get(Date.now())?.n ?? 0;
  if (filled.length === 0 && live === 0) return;
  throw new UnicopError('UNICOP_STORE_TARGET_NOT_EMPTY', 'the PostgreSQL store is not empty: import only into a new database, before any receiver runs on it', {
    details: [
      ...filled.map((t) => ({ pointer: t, message: 'holds rows' })),
      ...(live > 0 ? [{ pointer: 'relay_members', message: `${live} receiver(s) running on it` }] : []),
    ],
  });
}

function copyRows(
  source: Database.Database,
  target: Db,
  table: string,
  columns: Column[],
  lane: ((row: Record<string, unknown>) => number) | null,
  batchRows: number,
): number {
  const names = columns.map((c) => `"${c.name}"`).join(', ');
  const overriding = columns.some((c) => c.identity) ? ' OVERRIDING SYSTEM VALUE' : '';
  const perBatch = Math.max(1, Math.min(batchRows, Math.floor(30_000 / columns.length)));
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  let batch: unknown[][] = [];
  let rows = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    target.prepare(`INSERT INTO "${table}" (${names})${overriding} VALUES ${batch.map(() => tuple).join(', ')}`).run(...batch.flat());
    rows += batch.length;
    batch = [];
  };
  for (const row of source.prepare(`SELECT ${names} FROM "${table}"`).iterate() as IterableIterator<Record<string, unknown>>) {
    batch.push(columns.map((c) => (lane && c.name === 'lane' ? lane(row) : row[c.name])));
    if (batch.length >= perBatch) flush();
  }
  flush();
  return rows;
}

/** The identity continues past every value SQLite ever gave (AUTOINCREMENT remembers the highest, even of pruned rows). */
function continueIdentity(source: Database.Database, target: Db, table: string, column: string): void {
  const highest = (source.prepare(`SELECT max("${column}") AS n FROM "${table}"`).get() as { n: number | null }).n ?? 0;
  const sequence = source.prepare("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'").get()
    ? ((source.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table) as { seq: number } | undefined)?.seq ?? 0)
    : 0;
  const last = Math.max(highest, sequence);
  if (last > 0) target.prepare<[string, string, number]>('SELECT setval(pg_get_serial_sequence(?, ?), ?)').run(table, column, last);
}
