import type { Db } from '../../database.js';
import type { Logger } from '../../log.js';
import type { Schedule } from '../../retry/schedule.js';
import { renewing, usable } from '../../store/lease-timing.js';

export interface LaneLeaseMetrics {
  held(lanes: number): void;
  /** A lane taken from a holder whose lease had run out (it died or lost the store). */
  takenOver(lane: number): void;
  /** A lane this receiver found taken by another: its cursor write was fenced off, or renewing failed. */
  lost(lane: number): void;
}

export interface LaneLeasesOptions {
  db: Db;
  /** The route whose lanes these are (pipeline/publish/route-lanes.ts). */
  route: string;
  /** Its lane numbers: one per partition of its events topic (one for a SQLite receiver). */
  lanes: readonly number[];
  /** This receiver, unique among the live ones (host, port, process). */
  holder: string;
  /** A lease lasts this long unless renewed; a dead holder's lanes move after it ran out. */
  ttlMs: number;
  /**
   * The only receiver of its store (SQLite): it takes every lane at start whoever held it last —
   * that was this same store's previous process — instead of waiting for the old lease to run out.
   */
  exclusive: boolean;
  metrics: LaneLeaseMetrics;
  log: Logger;
  now?: () => number;
}

interface Lease {
  generation: number;
  /** By this receiver's clock: the lease is renewed well before, and used only while time is left. */
  expiresAt: number;
}

/**
 * Which relay lanes this receiver publishes. Each lane has at most one holder at a time: a lease
 * row (holder, generation, expiry) taken and renewed in store transactions. Every receiver renews
 * its own membership and leases every ttl/4, takes free or expired lanes up to its fair share
 * (lanes / live receivers, rounded up) and gives back what is beyond it between batches (`settle`),
 * so lanes spread out when a receiver joins and move when one dies.
 *
 * Fencing: a taker bumps the lane's generation, and the relay records a published position only
 * with the generation it read (OutboxStore.advanceLane), so a holder that lost its lane can never
 * move the lane's cursor. It stops sending on a lane once less than a third of its lease is left.
 * Kafka fences too: the new holder initialises the lane's transactional id before publishing
 * (relay.ts), so a transaction the old holder still has in flight is aborted or refused, and what
 * it committed is found in Kafka and never published again.
 */
export class LaneLeases {
  private readonly leases = new Map<number, Lease>();
  private schedule: Schedule | null = null;
  private share: number;
  private readonly now: () => number;
  private readonly q;

  constructor(private readonly options: LaneLeasesOptions) {
    this.now = options.now ?? Date.now;
    this.share = options.lanes.length;
    const db = options.db;
    this.q = {
      heartbeat: db.prepare<[string, number]>(
        'INSERT INTO relay_members (holder, expires_at) VALUES (?, ?) ON CONFLICT(holder) DO UPDATE SET expires_at = excluded.expires_at',
      ),
      leave: db.prepare<[string]>('DELETE FROM relay_members WHERE holder = ?'),
      forget: db.prepare<[number]>('DELETE FROM relay_members WHERE expires_at < ?'),
      members: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM relay_members WHERE expires_at > ?'),
      lanes: db.prepare<[string], { lane: number; holder: string | null; generation: number; expires_at: number }>(
        'SELECT lane, holder, generation, expires_at FROM relay_lanes WHERE route = ? ORDER BY lane',
      ),
      renew: db.prepare<[number, number, string, number]>('UPDATE relay_lanes SET expires_at = ? WHERE lane = ? AND holder = ? AND generation = ?'),
      take: db.prepare<[string, number, number, number]>(
        'UPDATE relay_lanes SET holder = ?, generation = generation + 1, expires_at = ? WHERE lane = ? AND generation = ?',
      ),
      release: db.prepare<[number, string, number]>('UPDATE relay_lanes SET holder = NULL, expires_at = 0 WHERE lane = ? AND holder = ? AND generation = ?'),
    };
  }

  get holder(): string {
    return this.options.holder;
  }

  /** The route whose lanes these are. */
  get route(): string {
    return this.options.route;
  }

  /** The route's lane numbers, by partition. */
  get lanes(): readonly number[] {
    return this.options.lanes;
  }

  /** Renews now, then every ttl/4. */
  start(): void {
    this.schedule = renewing(this.options.ttlMs, () => this.tick());
  }

  /** Gives every lane back at once (a clean stop): the others take them without waiting for the lease to run out. */
  async stop(): Promise<void> {
    await this.schedule?.stop();
    this.schedule = null;
    try {
      this.options.db.transaction(() => {
        for (const [lane, lease] of this.leases) this.q.release.run(lane, this.options.holder, lease.generation);
        this.q.leave.run(this.options.holder);
      })();
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not give the relay lanes back; they move when their leases run out');
    }
    this.leases.clear();
    this.options.metrics.held(0);
  }

  /** The generation of this receiver's lease on `lane`, if it holds it. */
  generationOf(lane: number): number | undefined {
    return this.leases.get(lane)?.generation;
  }

  /** The lanes this receiver may send on now (more than a third of their lease left), with their generations. */
  publishable(): Map<number, number> {
    const now = this.now();
    const lanes = new Map<number, number>();
    for (const [lane, lease] of this.leases) if (usable(lease.expiresAt, now, this.options.ttlMs)) lanes.set(lane, lease.generation);
    return lanes;
  }

  /** The relay found `lane` taken by another (its cursor write was fenced). */
  lost(lane: number): void {
    if (!this.leases.delete(lane)) return;
    this.options.metrics.lost(lane);
    this.options.metrics.held(this.leases.size);
    this.options.log.warn({ route: this.options.route, lane, holder: this.options.holder }, 'relay lane lost to another receiver; not publishing it any more');
  }

  /** Between batches: gives back the lanes beyond this receiver's fair share (another receiver joined). */
  settle(): void {
    const surplus = this.leases.size - this.share;
    if (surplus <= 0) return;
    const give = [...this.leases].slice(-surplus);
    this.options.db.transaction(() => {
      for (const [lane, lease] of give) this.q.release.run(lane, this.options.holder, lease.generation);
    })();
    for (const [lane] of give) this.leases.delete(lane);
    this.options.metrics.held(this.leases.size);
    this.options.log.info({ lanes: give.map(([lane]) => lane), share: this.share }, 'relay lanes given back for another receiver');
  }

  /** One round: heartbeat, renew, take free or expired lanes up to the fair share. Failures are logged; leases then run out. */
  tick(): void {
    const { db, holder, ttlMs, lanes, exclusive } = this.options;
    const started = this.now();
    const expiresAt = started + ttlMs;
    const taken: { lane: number; from: string | null; expiredMs: number }[] = [];
    const lost: number[] = [];
    try {
      db.transaction(() => {
        this.q.heartbeat.run(holder, expiresAt);
        this.q.forget.run(started - ttlMs);
        this.share = exclusive ? lanes.length : Math.ceil(lanes.length / Math.max(1, this.q.members.get(started)?.n ?? 1));
        for (const row of this.q.lanes.all(this.options.route)) {
          const mine = this.leases.get(row.lane);
          if (mine) {
            if (this.q.renew.run(expiresAt, row.lane, holder, mine.generation).changes === 1) mine.expiresAt = expiresAt;
            else lost.push(row.lane);
            continue;
          }
          const free = row.holder === null || row.expires_at <= started || exclusive;
          if (!free || this.leases.size >= this.share || !lanes.includes(row.lane)) continue;
          if (this.q.take.run(holder, expiresAt, row.lane, row.generation).changes !== 1) continue;
          this.leases.set(row.lane, { generation: row.generation + 1, expiresAt });
          if (row.holder !== null && row.holder !== holder) taken.push({ lane: row.lane, from: row.holder, expiredMs: started - row.expires_at });
        }
      })();
    } catch (error) {
      // Nothing renewed: `publishable` stops offering the lanes before their leases run out.
      this.options.log.warn({ err: error, lanes: [...this.leases.keys()] }, 'relay lane leases not renewed');
      return;
    }
    for (const lane of lost) this.lost(lane);
    for (const t of taken) {
      this.options.metrics.takenOver(t.lane);
      this.options.log.warn(
        { lane: t.lane, previousHolder: t.from, expiredForMs: t.expiredMs, holder },
        'relay lane taken over from a receiver whose lease ran out',
      );
    }
    this.options.metrics.held(this.leases.size);
  }
}
