import type { Db } from '../database.js';
import type { Logger } from '../log.js';
import type { Schedule } from '../retry/schedule.js';
import { renewing, usable } from './lease-timing.js';

export interface LeaseOptions {
  db: Db;
  /** What the lease is for (its row in `leases`), e.g. `awx-poller`. */
  name: string;
  holder: string;
  ttlMs: number;
  /** The only receiver of its store (SQLite): takes the lease at once whoever held it last. */
  exclusive: boolean;
  log: Logger;
  now?: () => number;
}

/**
 * A duty one receiver does for all of them on a shared store — polling AWX for lost outcomes,
 * reading NetBox's changelog — held by a lease row renewed every ttl/4 and taken over by another
 * receiver once it ran out (its holder died). The duty's loop asks `held()` before each round;
 * a round already running when the lease is lost finishes, which is harmless for these duties:
 * what they write goes through transactions that re-check the state (a second poll result for a
 * concluded attempt is stale, a changelog row already seen is skipped).
 */
export class Lease {
  private generation: number | null = null;
  private expiresAt = 0;
  private schedule: Schedule | null = null;
  private readonly now: () => number;
  private readonly q;

  constructor(private readonly options: LeaseOptions) {
    this.now = options.now ?? Date.now;
    const db = options.db;
    this.q = {
      add: db.prepare<[string]>('INSERT INTO leases (name) VALUES (?) ON CONFLICT DO NOTHING'),
      row: db.prepare<[string], { holder: string | null; generation: number; expires_at: number }>(
        'SELECT holder, generation, expires_at FROM leases WHERE name = ?',
      ),
      renew: db.prepare<[number, string, string, number]>('UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND generation = ?'),
      take: db.prepare<[string, number, string, number]>(
        'UPDATE leases SET holder = ?, generation = generation + 1, expires_at = ? WHERE name = ? AND generation = ?',
      ),
      release: db.prepare<[string, string, number]>('UPDATE leases SET holder = NULL, expires_at = 0 WHERE name = ? AND holder = ? AND generation = ?'),
    };
  }

  /** True while this receiver holds the lease with more than a third of it left. */
  held(): boolean {
    return this.generation !== null && usable(this.expiresAt, this.now(), this.options.ttlMs);
  }

  start(): void {
    this.schedule = renewing(this.options.ttlMs, () => this.tick());
  }

  async stop(): Promise<void> {
    await this.schedule?.stop();
    this.schedule = null;
    const generation = this.generation;
    this.generation = null;
    if (generation === null) return;
    try {
      this.options.db.transaction(() => this.q.release.run(this.options.name, this.options.holder, generation))();
    } catch (error) {
      this.options.log.warn({ err: error, lease: this.options.name }, 'could not give the lease back; it moves when it runs out');
    }
  }

  /** Renews or takes the lease. Failures are logged; the lease then runs out. */
  tick(): void {
    const { db, name, holder, ttlMs, exclusive } = this.options;
    const now = this.now();
    const was = this.generation;
    try {
      db.transaction(() => {
        this.q.add.run(name);
        const row = this.q.row.get(name);
        if (!row) return;
        if (this.generation !== null && this.q.renew.run(now + ttlMs, name, holder, this.generation).changes === 1) {
          this.expiresAt = now + ttlMs;
          return;
        }
        this.generation = null;
        const free = row.holder === null || row.expires_at <= now || exclusive;
        if (free && this.q.take.run(holder, now + ttlMs, name, row.generation).changes === 1) {
          this.generation = row.generation + 1;
          this.expiresAt = now + ttlMs;
          if (row.holder !== null && row.holder !== holder)
            this.options.log.warn({ lease: name, previousHolder: row.holder, expiredForMs: now - row.expires_at }, 'lease taken over');
        }
      })();
    } catch (error) {
      this.options.log.warn({ err: error, lease: name }, 'lease not renewed');
      return;
    }
    if (was !== null && this.generation === null) this.options.log.warn({ lease: name, holder }, 'lease lost to another receiver');
  }
}
