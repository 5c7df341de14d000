import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { migrate, type Db, type SchemaComponent, type Statement } from '../database.js';
import type { PgRequest, PgResponse } from './postgres-protocol.js';

/**
 * The advisory lock every transaction takes first (transaction-scoped: PostgreSQL releases it at
 * COMMIT or ROLLBACK, also when the connection dies). Holding it, a transaction of any receiver is
 * the only writer of the shared store, exactly as a SQLite transaction is the only writer of its
 * file. Two things depend on it: outbox positions are assigned in commit order (a lane's cursor
 * never passes a lower position that commits later), and every read-check-write the parts do in a
 * transaction (a root's next sequence, "is this event id known", a cap's count, a reconcile record)
 * sees the last committed state of every receiver. The price is one writer at a time across the
 * receivers; group commit puts many webhooks into each of those transactions.
 */
export const WRITE_LOCK_KEY = 0x756e69636f70; // 'unicop'

/**
 * Every transaction notifies this channel at its commit (PostgreSQL delivers it only if the commit
 * happens, once per transaction; a transaction that wrote no outbox row wakes relays for nothing, a
 * cheap read); every receiver listens, so a relay wakes for rows another receiver committed in its
 * lanes instead of waiting for its next idle poll.
 */
export const COMMIT_CHANNEL = 'unicop_commit';

/** How long the receiver waits for one statement (or a connection) before it counts PostgreSQL as unreachable. */
export const STATEMENT_TIMEOUT_MS = 5000;

/** A PostgreSQL failure as the store health reads it: `PG_<SQLSTATE>`, `PG_UNAVAILABLE` (no connection), `PG_TIMEOUT`. */
export class PostgresError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'PostgresError';
  }
}

/**
 * The shared store, behind the same synchronous `Db` as SQLite: each statement is run by a worker
 * thread (postgres-worker.cjs) on its own connection while this thread waits for the answer
 * (Atomics.wait, bounded by STATEMENT_TIMEOUT_MS and a second). So every part keeps composing its writes into
 * one transaction that no other request of this process interleaves with, and WRITE_LOCK_KEY makes
 * that true across receivers. One connection per receiver: the transactions are sequential anyway.
 */
export class PostgresDb implements Db {
  readonly dialect = 'postgres';
  private worker!: Worker;
  private port!: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;
  private depth = 0;
  private commitsPort!: MessagePort;
  private readonly commitListeners: (() => void)[] = [];

  constructor(
    private readonly url: string,
    private readonly timeoutMs = STATEMENT_TIMEOUT_MS,
  ) {
    this.spawn();
  }

  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R> {
    return {
      run: (...params: P) => ({ changes: this.query(sql, params).changes }),
      get: (...params: P) => this.query(sql, params).rows[0] as R | undefined,
      all: (...params: P) => this.query(sql, params).rows as R[],
    };
  }

  exec(sql: string): void {
    this.call({ id: 0, op: 'exec', sql });
  }

  transaction<T>(fn: () => T): () => T {
    return () => {
      const outer = this.depth === 0;
      const savepoint = `unicop_${this.depth}`;
      this.exec(outer ? `BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})` : `SAVEPOINT ${savepoint}`);
      this.depth++;
      let result: T;
      try {
        result = fn();
      } catch (error) {
        this.depth--;
        try {
          this.exec(outer ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`);
        } catch {
          // The connection is gone: PostgreSQL rolled the transaction back itself.
        }
        throw error;
      }
      this.depth--;
      this.exec(outer ? `NOTIFY ${COMMIT_CHANNEL}; COMMIT` : `RELEASE SAVEPOINT ${savepoint}`);
      return result;
    };
  }

  /** Calls `listener` after any receiver's transaction on this database committed (including this one's). */
  onCommit(listener: () => void): void {
    this.commitListeners.push(listener);
  }

  close(): void {
    this.commitsPort.close();
    void this.worker.terminate();
  }

  private query(sql: string, params: unknown[]): { rows: Record<string, unknown>[]; changes: number } {
    const answer = this.call({ id: 0, op: 'query', sql, params });
    for (const row of answer.rows) {
      // A bytea column crosses the thread boundary as a plain Uint8Array; the stores expect a Buffer.
      for (const [k, v] of Object.entries(row)) if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
    return answer;
  }

  private call(request: PgRequest): Extract<PgResponse, { ok: true }> {
    const id = this.nextId++;
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ ...request, id });
    for (;;) {
      // A second more than PostgreSQL's own statement_timeout: a slow statement is normally cancelled
      // there (57014, the connection stays); this is for a server or network that does not answer at all.
      if (Atomics.wait(this.flag, 0, 0, this.timeoutMs + 1000) === 'timed-out') {
        // The worker is stuck on a statement or a connection: replace it (its connection closes,
        // PostgreSQL rolls back what it held) so the next request starts clean.
        this.depth = 0;
        void this.worker.terminate();
        this.spawn();
        throw new PostgresError(`PostgreSQL did not answer within ${this.timeoutMs + 1000} ms`, 'PG_TIMEOUT');
      }
      const message = receiveMessageOnPort(this.port)?.message as PgResponse | undefined;
      Atomics.store(this.flag, 0, 0);
      if (message?.id !== id) continue;
      if (message.ok) return message;
      throw new PostgresError(message.message, message.code && /^[0-9A-Z]{5}$/.test(message.code) ? `PG_${message.code}` : 'PG_UNAVAILABLE');
    }
  }

  private spawn(): void {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const commits = new MessageChannel();
    this.commitsPort?.close();
    this.commitsPort = commits.port1;
    this.commitsPort.on('message', () => this.commitListeners.forEach((listener) => listener()));
    this.commitsPort.unref();
    this.worker = new Worker(new URL('./postgres-worker.cjs', import.meta.url), {
      workerData: { url: this.url, port: port2, flag: this.flag, timeoutMs: this.timeoutMs, commits: commits.port2, channel: COMMIT_CHANNEL },
      transferList: [port2, commits.port2],
    });
    this.worker.unref();
  }
}

/**
 * Connects to `url` and brings every part's tables up to date, in one transaction under the write
 * lock: receivers starting together migrate once, the others find the work done. `timeoutMs`
 * bounds each statement (the SQLite import's bulk inserts get longer than a webhook's).
 */
export function openPostgres(url: string, components: readonly SchemaComponent[], timeoutMs = STATEMENT_TIMEOUT_MS): PostgresDb {
  const db = new PostgresDb(url, timeoutMs);
  try {
    db.transaction(() => {
      db.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)');
      const rows = db.prepare<[], { component: string; version: number }>('SELECT component, version FROM schema_versions').all();
      const versions = new Map(rows.map((r) => [r.component, r.version]));
      migrate(db, components, (c) => versions.get(c.name) ?? 0);
    })();
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
