import type { Logger } from '../../log.js';
import type { Db } from '../../database.js';
import { every, type Schedule } from '../../retry/schedule.js';

/**
 * Tables retention prunes, in the order of a pass: `events` and `rejects` before `outbox` (their
 * rows reference outbox rows; foreign keys are on). Never `roots` (a root's record: "known root"
 * in the contract) nor `object_versions` (superseded detection): they hold one row per object.
 */
export const RETENTION_TABLES = ['events', 'rejects', 'outbox', 'changelog_seen', 'reconcile_events_seen', 'reconcile_attempts', 'reconcile_orphans'] as const;
export type RetentionTable = (typeof RETENTION_TABLES)[number];

/** Tables keyed by time alone: the oldest eligible rows go first, by age and by row cap. */
const TIMED: readonly { table: RetentionTable; key: string; time: string; eligible: string }[] = [
  { table: 'changelog_seen', key: 'source, changelog_id', time: 'seen_at', eligible: 'TRUE' },
  { table: 'reconcile_events_seen', key: 'event_id', time: 'seen_at', eligible: 'TRUE' },
  // An attempt without an outcome is in flight (AWX may still answer, the deadline still runs).
  { table: 'reconcile_attempts', key: 'reconcile_id', time: 'requested_at', eligible: 'outcome IS NOT NULL' },
  { table: 'reconcile_orphans', key: 'id', time: 'received_at', eligible: 'TRUE' },
];

const DAY_MS = 86_400_000;

export interface RetentionMetrics {
  pruned(table: RetentionTable, rows: number): void;
  /** A pass ended with the table still over its cap (rows younger than the retention, unpublished or in flight). */
  overCap(table: RetentionTable): void;
}

export interface RetentionOptions {
  db: Db;
  /** Every outbox row at or below it is published (OutboxStore.publishedThrough). */
  publishedThrough: () => number;
  retentionDays: number;
  /** Row cap of every table but `rejects`. `events` never goes below the retention by age for it. */
  maxRows: number;
  /** Row cap of `rejects` (they keep whole bodies, up to UNICOP_MAX_BODY_BYTES each). */
  maxRejects: number;
  metrics: RetentionMetrics;
  log: Logger;
  writes?: { failed(part: string, cause: unknown): void; succeeded(part: string): void };
  /** Rows deleted per step; the event loop (ingest) runs between steps. */
  batchRows?: number;
  intervalMs?: number;
  now?: () => number;
}

type Counts = Record<RetentionTable, number>;

/**
 * Prunes what UNICOP no longer needs, incrementally: each step deletes at most `batchRows` rows in
 * its own statement and yields to the event loop, so a webhook waits for one small step at worst.
 *
 * - By age: rows older than `retentionDays`. Outbox rows, events and rejects only once published
 *   (their lane's cursor is past them): an unpublished row is never pruned.
 * - By row cap: the oldest eligible rows beyond the cap, except `events`: it is the webhook dedupe
 *   index, so an event younger than the retention stays even over the cap (warned and counted:
 *   the dedupe horizon is never shortened silently). Outbox rows stay while an event or reject
 *   references them (foreign keys).
 */
export class Retention {
  private schedule: Schedule | null = null;
  private running: Promise<Counts> | null = null;
  private stopped = false;
  private readonly batchRows: number;
  private readonly now: () => number;

  constructor(private readonly options: RetentionOptions) {
    this.batchRows = options.batchRows ?? 500;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.schedule = every({ everyMs: this.options.intervalMs ?? 60_000, unref: true, round: () => this.pass() });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.schedule?.stop();
    await this.running?.catch(() => undefined);
  }

  /** One pass over every table; resolves with the rows pruned per table. Never throws (failures are logged). */
  pass(): Promise<Counts> {
    this.running ??= this.prune().finally(() => (this.running = null));
    return this.running;
  }

  private async prune(): Promise<Counts> {
    const pruned = Object.fromEntries(RETENTION_TABLES.map((t) => [t, 0])) as Counts;
    const started = this.now();
    const cutoff = started - this.options.retentionDays * DAY_MS;
    try {
      const db = this.options.db;
      const cursor = this.options.publishedThrough();
      const firstYoung = db.prepare<[number], { pos: number | null }>('SELECT min(pos) AS pos FROM outbox WHERE accepted_at >= ?').get(cutoff)?.pos ?? null;
      // Every row at or below agedPos is published and older than the retention.
      const agedPos = Math.min(cursor, firstYoung === null ? cursor : firstYoung - 1);

      await this.steps('events', pruned, 'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE outbox_pos <= ? ORDER BY outbox_pos LIMIT ?)', agedPos);
      const rejectsPos = Math.min(cursor, Math.max(agedPos, this.capPos('rejects', 'outbox_pos', this.options.maxRejects)));
      await this.steps(
        'rejects',
        pruned,
        'DELETE FROM rejects WHERE id IN (SELECT id FROM rejects WHERE outbox_pos <= ? ORDER BY outbox_pos LIMIT ?)',
        rejectsPos,
      );
      // Below the oldest event and reject still kept, no outbox row is referenced.
      const referenced =
        db
          .prepare<[], { pos: number | null }>(
            'SELECT min(pos) AS pos FROM (SELECT min(outbox_pos) AS pos FROM events UNION ALL SELECT min(outbox_pos) FROM rejects) AS kept',
          )
          .get()?.pos ?? null;
      const outboxPos = Math.min(
        cursor,
        Math.max(agedPos, this.capPos('outbox', 'pos', this.options.maxRows)),
        referenced === null ? Infinity : referenced - 1,
      );
      await this.steps('outbox', pruned, 'DELETE FROM outbox WHERE pos IN (SELECT pos FROM outbox WHERE pos <= ? ORDER BY pos LIMIT ?)', outboxPos);

      for (const t of TIMED) {
        const pick = `SELECT ${t.key} FROM ${t.table} WHERE ${t.eligible} AND ${t.time} < ? ORDER BY ${t.time} LIMIT ?`;
        await this.steps(t.table, pruned, `DELETE FROM ${t.table} WHERE (${t.key}) IN (${pick})`, cutoff);
        const excess = this.count(t.table) - this.options.maxRows;
        if (excess > 0) {
          // The cap's rows: the oldest eligible ones whatever their age (no time bound), at most the excess.
          await this.steps(t.table, pruned, `DELETE FROM ${t.table} WHERE (${t.key}) IN (${pick})`, Number.MAX_SAFE_INTEGER, excess);
        }
      }
      this.warnOverCap();
      this.options.writes?.succeeded('retention');
    } catch (error) {
      this.options.writes?.failed('retention', error);
      this.options.log.warn({ err: error, pruned }, 'retention pass failed; the next pass tries again');
    }
    if (Object.values(pruned).some((n) => n > 0)) {
      this.options.log.info({ pruned, retentionDays: this.options.retentionDays, durationMs: this.now() - started }, 'retention pass pruned rows');
    }
    return pruned;
  }

  /** Deletes in steps of `batchRows` until a step deletes fewer (or `limit` rows are gone), yielding between steps. */
  private async steps(table: RetentionTable, pruned: Counts, sql: string, bound: number, limit = Infinity): Promise<void> {
    const remove = this.options.db.prepare<[number, number]>(sql);
    let left = limit;
    while (!this.stopped && left > 0) {
      const step = Math.min(this.batchRows, left);
      const n = remove.run(bound, step).changes;
      pruned[table] += n;
      left -= n;
      if (n > 0) this.options.metrics.pruned(table, n);
      await new Promise((resolve) => setImmediate(resolve));
      if (n < step) return;
    }
  }

  /** The position at or below which a pos-ordered table is over `cap` rows (0 when it is not). */
  private capPos(table: 'rejects' | 'outbox', column: string, cap: number): number {
    const row = this.options.db.prepare<[number], { pos: number }>(`SELECT ${column} AS pos FROM ${table} ORDER BY ${column} DESC LIMIT 1 OFFSET ?`).get(cap);
    return row?.pos ?? 0;
  }

  private count(table: RetentionTable): number {
    return this.options.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()?.n ?? 0;
  }

  private warnOverCap(): void {
    for (const table of RETENTION_TABLES) {
      const cap = table === 'rejects' ? this.options.maxRejects : this.options.maxRows;
      const rows = this.count(table);
      if (rows <= cap) continue;
      this.options.metrics.overCap(table);
      const why =
        table === 'events' ? 'younger than the retention (the dedupe index is never shortened)' : 'unpublished, in flight or referenced by kept events';
      this.options.log.warn({ table, rows, cap, retentionDays: this.options.retentionDays, why }, 'table over its row cap; its remaining rows are kept');
    }
  }
}
