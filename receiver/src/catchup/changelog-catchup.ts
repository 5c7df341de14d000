import type { NetboxClient } from '../clients/netbox-client.js';
import type { Logger } from '../log.js';
import type { DraftEvent } from '../model/event.js';
import type { ObjectChangeRow } from '../model/netbox-changelog.js';
import type { JsonObject } from '../model/netbox-webhook.js';

/** The catch-up's view of the outbox store. */
export interface CatchupStore {
  changelogSeen(changelogId: number): boolean;
  markChangelogSeen(changelogId: number, eventId: string | null, now: number): void;
  eventForRequest(requestId: string, subject: string): { id: string } | undefined;
  state(name: string): string | null;
  setState(name: string, value: string): void;
}

export interface CatchupMetrics {
  recovered(count: number): void;
  lag(seconds: number): void;
  failed(): void;
  highWaterMark(id: number): void;
}

export interface CatchupOptions {
  client: Pick<NetboxClient, 'version' | 'objectChanges' | 'object' | 'latestChangeId' | 'eventRuleObjectTypes'>;
  store: CatchupStore;
  append: (draft: DraftEvent) => Promise<{ status: 'accepted' | 'duplicate'; event: { id: string } }>;
  normalize: (row: ObjectChangeRow, rest: JsonObject | null, netboxVersion: string) => DraftEvent;
  intervalMs: number;
  graceMs: number;
  overlap: number;
  /** Object types to recover; empty = those of `eventRule`, read at every poll (what NetBox sends webhooks for). */
  objectTypes: readonly string[];
  eventRule: string;
  from: 'latest' | 'earliest';
  metrics: CatchupMetrics;
  log: Logger;
  now?: () => number;
}

const HWM = 'changelog.hwm';
/** Rows at or below the first run's starting point belong to the time before UNICOP watched. */
const FLOOR = 'changelog.floor';
const PAGE = 500;
const MAX_ROWS_PER_POLL = 10_000;

export interface PollResult {
  scanned: number;
  recovered: number;
  covered: number;
  hwm: number;
}

/**
 * Changelog catch-up: NetBox loses webhooks (no retry by default, Redis down, worker crash) but its
 * changelog is durable. Every `intervalMs` this reads `/api/core/object-changes/` from the
 * high-water mark minus `overlap` ids (ids are allocated before commit, so a late commit can land
 * below the mark), skips rows already handled (by changelog id) or already made into an event by
 * their webhook (same request id and object), leaves rows younger than `graceMs` to their webhook,
 * and appends the rest as events with `data.netbox.via = "changelog"`.
 */
export class ChangelogCatchup {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<PollResult | null> | null = null;
  private version: string | null = null;
  private stopping = false;
  private readonly now: () => number;

  constructor(private readonly o: CatchupOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    const tick = (): void => {
      this.running = this.pollSafely();
      void this.running.then(() => {
        if (this.timer !== null) this.timer = setTimeout(tick, this.o.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Ends a poll in progress after its current row (a first poll after a long outage can take minutes). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private async pollSafely(): Promise<PollResult | null> {
    try {
      const result = await this.poll();
      if (result.recovered > 0) this.o.log.warn(result, 'changelog catch-up recovered events whose webhooks never arrived');
      return result;
    } catch (error) {
      this.o.metrics.failed();
      this.o.log.warn({ err: error }, 'changelog catch-up failed; retrying at the next interval');
      return null;
    }
  }

  /** One pass over the changelog. Exposed for tests; `start()` calls it on the interval. */
  async poll(): Promise<PollResult> {
    this.version ??= await this.o.client.version();
    if (this.o.store.state(HWM) === null) {
      const start = await this.initialMark();
      this.o.store.setState(FLOOR, String(start));
      this.o.store.setState(HWM, String(start));
    }
    let hwm = Number(this.o.store.state(HWM));
    const floor = Number(this.o.store.state(FLOOR) ?? 0);
    const cursor = !/^4\.[0-5]\./.test(this.version);
    const dueBefore = this.now() - this.o.graceMs;
    const result: PollResult = { scanned: 0, recovered: 0, covered: 0, hwm };
    let blocked = false;
    let oldestWaiting = 0;
    const objectTypes = this.o.objectTypes.length > 0 ? this.o.objectTypes : await this.o.client.eventRuleObjectTypes(this.o.eventRule);
    const query = { afterId: Math.max(floor, hwm - this.o.overlap), objectTypes, pageSize: PAGE, cursor };
    for await (const row of this.o.client.objectChanges(query, MAX_ROWS_PER_POLL)) {
      if (this.stopping) break;
      result.scanned++;
      if (this.o.store.changelogSeen(row.id)) {
        if (!blocked) hwm = Math.max(hwm, row.id);
        continue;
      }
      if (Date.parse(row.time) > dueBefore) {
        if (!blocked) oldestWaiting = Date.parse(row.time);
        blocked = true; // too young: its webhook may still come; the mark stops here
        continue;
      }
      const subject = `${row.changed_object_type}:${row.changed_object_id}`;
      const covering = row.request_id ? this.o.store.eventForRequest(row.request_id, subject) : undefined;
      if (covering) {
        this.o.store.markChangelogSeen(row.id, covering.id, this.now());
        result.covered++;
      } else {
        const rest = row.changed_object?.url ? await this.o.client.object(row.changed_object.url) : null;
        const appended = await this.o.append(this.o.normalize(row, rest, this.version));
        this.o.store.markChangelogSeen(row.id, appended.event.id, this.now());
        if (appended.status === 'accepted') {
          result.recovered++;
          this.o.metrics.recovered(1); // per row: a long poll shows its progress
        } else result.covered++;
      }
      if (!blocked && row.id > hwm) {
        hwm = row.id;
        this.o.metrics.highWaterMark(hwm);
      }
    }
    this.o.store.setState(HWM, String(hwm));
    result.hwm = hwm;
    this.o.metrics.highWaterMark(hwm);
    this.o.metrics.lag(blocked ? Math.max(0, (this.now() - oldestWaiting) / 1000) : 0);
    return result;
  }

  /** No mark yet: start at the newest row (`latest`) or replay everything NetBox still keeps (`earliest`). */
  private async initialMark(): Promise<number> {
    if (this.o.from === 'earliest') return 0;
    const last = await this.o.client.latestChangeId();
    this.o.log.info({ hwm: last }, 'changelog catch-up starts at the newest changelog row (UNICOP_CATCHUP_FROM=latest)');
    return last;
  }
}
