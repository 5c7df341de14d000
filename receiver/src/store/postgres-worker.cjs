// @ts-check
/**
 * The thread that talks to PostgreSQL for `PostgresDb` (postgres-db.ts): it runs one request at a
 * time on one connection, answers on the port, then raises the shared flag the main thread waits
 * on. A broken connection is dropped and the next request opens a new one: PostgreSQL coming back
 * needs no restart of the receiver. Plain CommonJS, so it runs the same from the sources (tests)
 * and from the build (`npm run build` copies it), with no loader in the worker.
 * Requests and answers: postgres-protocol.ts.
 */
'use strict';
const { workerData } = require('node:worker_threads');
const pg = require('pg');

// Counts, positions and times in ms fit a double; the stores read them as numbers, like SQLite's.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

const { url, port, flag, timeoutMs, commits } = workerData;
/** @type {import('pg').Client | null} */
let client = null;
/** @type {Map<string, { name: string; text: string }>} */
const names = new Map();

async function connection() {
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
  // Any receiver's commit (postgres-db.ts COMMIT_CHANNEL) reaches the main thread as a message: its relay wakes.
  fresh.on('notification', () => commits.postMessage(null));
  try {
    await fresh.connect();
    await fresh.query(`LISTEN ${workerData.channel}`);
  } catch (error) {
    await fresh.end().catch(() => undefined);
    throw error;
  }
  client = fresh;
  return fresh;
}

/** `?` placeholders (the SQL both stores share) as `$n`, outside quoted strings; named once per text. */
function prepared(/** @type {string} */ sql) {
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

async function handle(/** @type {{ id: number; op: 'query' | 'exec'; sql: string; params?: unknown[] }} */ request) {
  try {
    const db = await connection();
    if (request.op === 'exec') {
      await db.query(request.sql);
      return { id: request.id, ok: true, rows: [], changes: 0 };
    }
    const { name, text } = prepared(request.sql);
    const result = await db.query({ name, text, values: request.params });
    return { id: request.id, ok: true, rows: result.rows, changes: result.rowCount ?? 0 };
  } catch (error) {
    const e = /** @type {{ message?: string; code?: string }} */ (error);
    // Whatever failed on the wire leaves the connection in doubt: the next request opens a new one.
    if (!e.code || !/^[0-9A-Z]{5}$/.test(e.code) || /^(08|57P)/.test(e.code)) {
      const broken = client;
      client = null;
      void broken?.end().catch(() => undefined);
    }
    return { id: request.id, ok: false, message: e.message ?? String(error), code: e.code ?? null };
  }
}

port.on('message', (/** @type {any} */ request) => {
  void handle(request).then((response) => {
    port.postMessage(response);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
});
