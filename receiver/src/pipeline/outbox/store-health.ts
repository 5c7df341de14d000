import type { Logger } from '../../log.js';
import { every, type Schedule } from '../../retry/schedule.js';

/**
 * Codes that blame the store, not the statement: SQLite's disk faults (https://sqlite.org/rescode.html)
 * and PostgreSQL out of reach — no connection, no answer in time, a connection exception (SQLSTATE
 * class 08), shutting down (57P), out of resources such as disk (53).
 */
const STORAGE_FAULT = /^(SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)|PG_(UNAVAILABLE|TIMEOUT|08|57P|53))/;
/** Writers whose success needs free pages, so it shows space came back (see `succeeded`). */
const PROVES_SPACE: ReadonlySet<string> = new Set(['outbox', 'probe']);
/** While a fault lasts, one error line per this many ms (each failure is still counted). */
const LOG_EVERY_MS = 10_000;

/**
 * The store's code behind an error, looked up the cause chain: SQLite's result code (better-sqlite3
 * puts it in `code`) or `PG_…` (store/postgres-db.ts).
 */
export function storeCode(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^(SQLITE|PG)_[A-Z0-9_]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return 'unknown';
}

/** Whether `error` blames the store (disk, PostgreSQL out of reach) rather than the statement. */
export const isStoreFault = (error: unknown): boolean => STORAGE_FAULT.test(storeCode(error));

export interface StoreFault {
  code: string;
  /** Which writer met it first: outbox, relay_cursor, retention, probe. */
  part: string;
  since: number;
}

export interface StoreHealthMetrics {
  writeFailed(code: string, part: string): void;
  writable(up: boolean): void;
}

export interface StoreHealthOptions {
  log: Logger;
  metrics: StoreHealthMetrics;
  /** A small write that needs a free page: tells whether space came back while nothing else writes. */
  probe: () => void;
  probeIntervalMs?: number;
  now?: () => number;
}

/**
 * Whether the database takes writes. A disk-level failure (disk full, I/O error) makes the
 * receiver not ready, with the reason, until a write succeeds again — a webhook's, the relay's or
 * the probe's (which runs only during a fault, so an instance out of rotation still recovers).
 */
export class StoreHealth {
  private current: StoreFault | null = null;
  private lastLogAt = 0;
  private unlogged = 0;
  private schedule: Schedule | null = null;
  private readonly now: () => number;

  constructor(private readonly options: StoreHealthOptions) {
    this.now = options.now ?? Date.now;
    options.metrics.writable(true);
  }

  get fault(): StoreFault | null {
    return this.current;
  }

  failed(part: string, cause: unknown): void {
    const code = storeCode(cause);
    this.options.metrics.writeFailed(code, part);
    const storage = isStoreFault(cause);
    const now = this.now();
    if (storage && !this.current) {
      this.current = { code, part, since: now };
      this.options.metrics.writable(false);
    } else if (storage && now - this.lastLogAt < LOG_EVERY_MS) {
      this.unlogged++;
      return;
    }
    this.options.log.error(
      { err: cause, code, part, storage, failuresNotLogged: this.unlogged },
      storage ? 'store write failed: the disk refuses writes; not ready until a write succeeds' : 'store write failed',
    );
    this.lastLogAt = now;
    this.unlogged = 0;
  }

  /**
   * A write went through. Only one that needed new space ends a fault: the outbox's inserts or the
   * probe's page. An in-place update (the relay cursor) or a delete (retention) succeeds on a full
   * disk too, and would report space that is not there.
   */
  succeeded(part: string): void {
    if (!this.current || !PROVES_SPACE.has(part)) return;
    const fault = this.current;
    this.current = null;
    this.options.metrics.writable(true);
    this.options.log.info({ code: fault.code, part, faultMs: this.now() - fault.since, failuresNotLogged: this.unlogged }, 'store writable again');
    this.unlogged = 0;
  }

  start(): void {
    this.schedule = every({
      everyMs: this.options.probeIntervalMs ?? 5000,
      unref: true,
      round: () => {
        if (!this.current) return;
        try {
          this.options.probe();
          this.succeeded('probe');
        } catch (error) {
          this.failed('probe', error);
        }
      },
    });
  }

  stop(): void {
    void this.schedule?.stop();
    this.schedule = null;
  }
}
