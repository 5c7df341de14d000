import { randomUUID } from 'node:crypto';
import type { ObjectPage } from '../clients/netbox-client.js';
import { UnicopError, isUnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DraftEvent } from '../model/event.js';
import type { NormalizeDeps } from '../pipeline/normalize/normalize.js';
import type { AppendResult } from '../pipeline/outbox/group-commit.js';
import type { OutboxStore } from '../pipeline/outbox/outbox-store.js';
import { Backoff, type BackoffOverrides } from '../retry/backoff.js';
import { Pause } from '../retry/pause.js';
import { every, type Schedule } from '../retry/schedule.js';
import { comparePage, type NetboxObject } from './compare.js';
import { repairEvent } from './repair-event.js';
import { snapshotFrame } from './snapshot-frames.js';
import type { SnapshotMetrics } from './snapshot-metrics.js';
import type { SnapshotCounts, SnapshotRow, SnapshotStore, SnapshotTrigger } from './snapshot-store.js';
import { readSpineRetrying } from './spine-read.js';
import type { SpineView } from './spine-view.js';

/** How often the holder of the snapshots lease looks for a snapshot to take up (shared store). */
const ADOPT_EVERY_MS = 1000;

/** NetBox's default MAX_PAGE_SIZE: the largest page it serves. */
export const SNAPSHOT_PAGE_SIZE = 1000;

/** What a snapshot reads from NetBox (a `NetboxClient` of its own, rate-capped). */
export interface SnapshotSource {
  version(): Promise<string>;
  listPage(objectType: string, afterId: number, limit: number): Promise<ObjectPage>;
  readonly requests: number;
}

export interface SnapshotRunnerOptions {
  store: SnapshotStore;
  /** Frames go through the outbox; `newestVersion` tells what it already holds of an object, `event` whether a repair is in. */
  outbox: Pick<OutboxStore, 'insertMessage' | 'newestVersion' | 'event'>;
  netbox: SnapshotSource;
  /** `<prefix>.objects.v1` read to its end. */
  readSpine: () => Promise<SpineView>;
  /** The group commit: repairs are ordinary events (projections and reconciler see them). */
  append: (draft: DraftEvent) => Promise<AppendResult>;
  normalize: NormalizeDeps;
  /** CloudEvents `source` of the frames (UNICOP_SOURCE). */
  source: string;
  objectTypes: readonly string[];
  /** UNICOP_SNAPSHOT_INTERVAL_S; 0 = no schedule. */
  intervalS: number;
  onCommit: (rows: number) => void;
  metrics: SnapshotMetrics;
  log: Logger;
  /** UNICOP_SNAPSHOT_PAGE_SIZE. */
  pageSize?: number;
  /**
   * Whether this receiver runs snapshots now: on a shared store one receiver does, holding the
   * `snapshots` lease (store/lease.ts). A snapshot requested at another receiver, or left running by
   * one that died, is taken up by the holder within a second. Unset: this receiver runs its own.
   */
  active?: () => boolean;
  /** The `snapshot-spine` backoff's delays (tests shorten them). */
  spineRetry?: Pick<BackoffOverrides, 'initialMs' | 'maxMs'>;
  now?: () => number;
}

/**
 * Snapshots with repair, one at a time: every managed object type is read from NetBox page by page
 * (keyset, id order) and compared with what the spine holds; each difference becomes an object
 * event with `data.netbox.via = "snapshot"`. Progress (type + last id + counts) is saved after
 * every page, so a stopped receiver continues an unfinished run at its next start; the repair ids
 * are deterministic, so a repeated page repairs nothing twice.
 */
export class SnapshotRunner {
  private current: Promise<void> | null = null;
  /** The snapshot this receiver is executing now. */
  private executing: string | null = null;
  private schedule: Schedule | null = null;
  private watcher: Schedule | null = null;
  private stopping = false;
  /** The spine read's backoff sleeps in it; a stop wakes it. */
  private readonly pause = new Pause();
  private readonly now: () => number;

  constructor(private readonly options: SnapshotRunnerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Continues an unfinished snapshot, and starts the periodic schedule when one is configured. */
  start(): void {
    const { active } = this.options;
    if (active) this.watcher = every({ everyMs: ADOPT_EVERY_MS, unref: true, round: () => this.adopt(active) });
    const unfinished = active ? null : this.options.store.running();
    if (unfinished) {
      this.options.log.info(
        { snapshotId: unfinished.id, objectType: unfinished.objectTypes[unfinished.typeIndex], lastId: unfinished.lastId },
        'continuing an unfinished snapshot',
      );
      this.current = this.run(unfinished.id);
    }
    if (this.options.intervalS > 0) {
      this.schedule = every({
        everyMs: this.options.intervalS * 1000,
        round: async () => {
          if (this.options.active?.() === false || this.options.store.running()) return;
          this.request('schedule', null);
          await this.current;
        },
      });
    }
  }

  /** Starts a snapshot; throws `UNICOP_SNAPSHOT_RUNNING` (409) while one runs. */
  request(trigger: SnapshotTrigger, requestedBy: string | null): string {
    const id = randomUUID();
    const now = this.now();
    const { store, objectTypes } = this.options;
    try {
      store.transaction(() => {
        const running = store.running();
        if (running) throw runningError(running.id);
        store.insert(id, trigger, requestedBy, objectTypes, now);
        this.frame('started', store.get(id) as SnapshotRow, now);
      });
    } catch (error) {
      // Another receiver on the same database may have won the race: the unique index says so.
      if (!isUnicopError(error) && /^(SQLITE_CONSTRAINT|PG_23505)/.test(String((error as { code?: unknown }).code)))
        throw runningError(store.running()?.id ?? null);
      throw error;
    }
    this.options.onCommit(1);
    const here = this.options.active?.() !== false;
    this.options.log.info({ snapshotId: id, trigger, requestedBy, runsHere: here }, 'snapshot started');
    // Elsewhere: the holder of the snapshots lease takes it up (`adopt`).
    if (here) this.current = this.run(id);
    return id;
  }

  get(id: string): SnapshotRow | undefined {
    return this.options.store.get(id);
  }

  /** Waits for the snapshot in progress (tests, the scheduled round). */
  async idle(): Promise<void> {
    await this.current;
  }

  /** Stops after the current page; an unfinished snapshot stays `running` and continues at the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.pause.wake();
    await this.schedule?.stop();
    await this.watcher?.stop();
    await this.current;
  }

  /** Holding the lease and executing nothing: continue the snapshot the store says is running, whoever started it. */
  private adopt(active: () => boolean): void {
    if (this.stopping || this.executing !== null || !active()) return;
    const running = this.options.store.running();
    if (!running) return;
    this.options.log.info(
      { snapshotId: running.id, typeIndex: running.typeIndex, lastId: running.lastId },
      'running the snapshot this receiver holds the lease for',
    );
    this.current = this.run(running.id);
  }

  private async run(id: string): Promise<void> {
    const { store, log, metrics } = this.options;
    metrics.progress(0);
    this.executing = id;
    try {
      const done = await this.execute(id);
      if (!done) return;
      const now = this.now();
      const row = store.get(id) as SnapshotRow;
      store.transaction(() => {
        store.finish(id, 'completed', row.counts, null, now);
        this.frame('completed', row, now);
      });
      this.options.onCommit(1);
      metrics.ended('completed');
      log.info({ snapshotId: id, ...row.counts, durationMs: now - row.startedAt }, 'snapshot completed');
    } catch (error) {
      if (this.stopping) {
        log.warn({ snapshotId: id, err: error }, 'snapshot interrupted by the stop; it continues at the next start');
        return;
      }
      const cause = error instanceof Error ? error.message : String(error);
      const failure = new UnicopError('UNICOP_SNAPSHOT_FAILED', `snapshot failed: ${cause}`, { cause: error });
      const row = store.get(id) as SnapshotRow;
      store.finish(id, 'failed', row.counts, { code: failure.code, message: failure.message }, this.now());
      metrics.ended('failed');
      log.error({ snapshotId: id, code: failure.code, err: error }, 'snapshot failed');
    } finally {
      this.executing = null;
      metrics.progress(null);
    }
  }

  /** Reads and repairs from the saved progress on; false when stopped before the end. */
  private async execute(id: string): Promise<boolean> {
    const { store, netbox, outbox, metrics } = this.options;
    const pageSize = this.options.pageSize ?? SNAPSHOT_PAGE_SIZE;
    const row = store.get(id) as SnapshotRow;
    const counts: SnapshotCounts = { ...row.counts };
    const requestsBefore = netbox.requests - counts.requests;
    let requestsMetered = netbox.requests;
    const meterRequests = (): void => {
      metrics.requested(netbox.requests - requestsMetered);
      requestsMetered = netbox.requests;
    };
    const spine = await readSpineRetrying({
      read: this.options.readSpine,
      backoff: new Backoff('snapshot-spine', { ...this.options.spineRetry, pause: this.pause }),
      stopped: () => this.stopping,
      log: this.options.log.child({ snapshotId: id }),
    });
    const netboxVersion = await netbox.version();
    meterRequests();
    const types = row.objectTypes.length;
    let firstPage = true;
    for (let typeIndex = row.typeIndex; typeIndex < types; typeIndex++) {
      const objectType = row.objectTypes[typeIndex] as string;
      const held = spine.get(objectType) ?? new Map();
      let lastId = typeIndex === row.typeIndex ? row.lastId : 0;
      // What was left of this type when this process reached it (NetBox's count), and read since.
      let left: number | null = null;
      let readOfType = 0;
      metrics.progress(typeIndex / types);
      for (;;) {
        if (this.stopping) return false;
        if (this.options.active?.() === false) {
          this.options.log.warn({ snapshotId: id }, 'snapshots lease lost; the receiver holding it continues this snapshot');
          return false;
        }
        const page = await netbox.listPage(objectType, lastId, pageSize);
        meterRequests();
        left ??= page.remaining;
        const toId = page.more ? (page.results.at(-1)?.id ?? lastId) : Number.POSITIVE_INFINITY;
        const queued = (objectId: number): string | null => outbox.newestVersion(`${objectType}:${objectId}`);
        const context = { snapshotId: id, objectType, netboxVersion, now: this.now };
        const results = page.results as NetboxObject[];
        const repairs = comparePage(held, results, lastId, toId, queued);
        if (firstPage) {
          // Only the first page of a continued run can hold repairs this snapshot committed before a crash
          // whose progress was not saved: `queued` leaves them out (never made twice); their own ids in the
          // outbox say they are this run's, so they are counted now (the saved counts lack them).
          const kept = new Set(repairs.map((r) => r.id));
          for (const repair of comparePage(held, results, lastId, toId, () => null)) {
            if (!kept.has(repair.id) && outbox.event(repairEvent(this.options.normalize, context, repair).envelope.id)) counts[repair.action]++;
          }
          firstPage = false;
        }
        for (const repair of repairs) {
          await this.options.append(repairEvent(this.options.normalize, context, repair));
          counts[repair.action]++;
          metrics.repaired(repair.action);
        }
        counts.read += page.results.length;
        readOfType += page.results.length;
        if (page.more && left) metrics.progress((typeIndex + Math.min(1, readOfType / left)) / types);
        counts.requests = netbox.requests - requestsBefore;
        lastId = page.more ? toId : 0;
        store.progress(id, page.more ? typeIndex : typeIndex + 1, lastId, counts);
        if (!page.more) break;
      }
    }
    return true;
  }

  private frame(kind: 'started' | 'completed', row: SnapshotRow, now: number): void {
    const frame = snapshotFrame(this.options.source, kind, row, now);
    this.options.outbox.insertMessage('snapshots', row.id, frame.id, JSON.stringify(frame), now);
  }
}

function runningError(running: string | null): UnicopError {
  return new UnicopError('UNICOP_SNAPSHOT_RUNNING', 'a snapshot is running: one at a time', {
    details: running ? [{ pointer: '/snapshotId', message: running }] : [],
  });
}
