/**
 * The thread that talks to PostgreSQL for `PostgresDb` (postgres-db.ts): it runs one request at a
 * time on one connection, answers on the port, then raises the shared flag the main thread waits
 * on. A broken connection is dropped and the next request opens a new one: PostgreSQL coming back
 * needs no restart of the receiver.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import pg from 'pg';
import type { PgRequest, PgResponse } from './postgres-protocol.js';

// Counts, positions and times in ms fit a double; the stores read them as numbers, like SQLite's.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

const { url, port, flag, timeoutMs } = workerData as { url: string; port: MessagePort; flag: Int32Array; timeoutMs: number };
let client: pg.Client | null = null;
const names = new Map<string, { name: string; text: string }>();

async function connection(): Promise<pg.Client> {
  if (client) return client;
  const fresh = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    keepAlive: true,
    application_name: 'unicop-receiver',
  });
  // A connection that dies between requests is noticed here; the next request reconnects.
  fresh.on('error', () => {
    if (client === fresh) client = null;
  });
  try {
    await fresh.connect();
  } catch (error) {
    await fresh.end().catch(() => undefined);
    throw error;
  }
  client = fresh;
  return fresh;
}

/** `?` placeholders (the SQL both stores share) as `$n`, outside quoted strings; named once per text. */
function prepared(sql: string): { name: string; text: string } {
  let found = names.get(sql);
  if (!found) {
    let n = 0;
    let quoted = false;
    let text = '';
    for (const ch of sql) {
      if (ch === "'") quoted = !quoted;
      text += ch === '?' && !quoted ? `$${++n}` : ch;
    }
    found = { name: `unicop_${names.size + 1}`, text };
    names.set(sql, found);
  }
  return found;
}

async function handle(request: PgRequest): Promise<PgResponse> {
  try {
    const db = await connection();
    if (request.op === 'exec') {
      await db.query(request.sql);
      return { id: request.id, ok: true, rows: [], changes: 0 };
    }
    const { name, text } = prepared(request.sql);
    const result = await db.query({ name, text, values: request.params });
    return { id: request.id, ok: true, rows: result.rows as Record<string, unknown>[], changes: result.rowCount ?? 0 };
  } catch (error) {
    const e = error as { message?: string; code?: string };
    // Whatever failed on the wire leaves the connection in doubt: the next request opens a new one.
    if (!e.code || !/^[0-9A-Z]{5}$/.test(e.code) || /^(08|57P)/.test(e.code)) {
      const broken = client;
      client = null;
      void broken?.end().catch(() => undefined);
    }
    return { id: request.id, ok: false, message: e.message ?? String(error), code: e.code ?? null };
  }
}

port.on('message', (request: PgRequest) => {
  void handle(request).then((response) => {
    port.postMessage(response);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
});
parentPort?.on('message', () => undefined);
