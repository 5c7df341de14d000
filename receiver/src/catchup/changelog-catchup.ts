import { ClientRequestError } from '../clients/request-error.js';
import type { NetboxClient } from '../clients/netbox-client.js';
import { isUnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DraftEvent } from '../model/event.js';
import type { ObjectChangeRow } from '../model/netbox-changelog.js';
import type { JsonObject } from '../model/netbox-webhook.js';
import type { RejectRecord } from '../pipeline/outbox/outbox-store.js';
import { isRetriable, retriesOf, shouldRetry } from '../retry/backoff.js';
import { every, type Schedule } from '../retry/schedule.js';
import { changelogReject } from './changelog-reject.js';

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
  /** Rows kept as rejects: they can never become events. */
  rejected(count: number): void;
  lag(seconds: number): void;
  failed(): void;
  highWaterMark(id: number): void;
}

export interface CatchupOptions {
  client: Pick<NetboxClient, 'version' | 'objectChanges' | 'object' | 'latestChangeId' | 'eventRuleObjectTypes'>;
  store: CatchupStore;
  append: (draft: DraftEvent) => Promise<{ status: 'accepted' | 'duplicate'; event: { id: string } }>;
  reject: (record: RejectRecord) => Promise<void>;
  /** CloudEvents source of reject notices (`UNICOP_SOURCE`). */
  source: string;
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
  /** Whether this receiver reads the changelog now (one of several sharing a store does, holding a lease). */
  active?: () => boolean;
}

const HWM = 'changelog.hwm';
/** Rows at or below the first run's starting point belong to the time before UNICOP watched. */
const FLOOR = 'changelog.floor';
const PAGE = 500;
const MAX_ROWS_PER_POLL = 10_000;
/** Polls in a row a row's object fetch may fail (NetBox 5xx, timeout) before the row becomes a reject (`catchup-row` policy). */
export const MAX_ROW_ATTEMPTS = retriesOf('catchup-row') + 1;

export interface PollResult {
  scanned: number;
  recovered: number;
  covered: number;
  /** Rows kept as rejects in this poll. */
  rejected: number;
  /** Rows whose object fetch failed; they are tried again at the next poll and hold the mark. */
  retrying: number;
  hwm: number;
}

/** What became of one row. */
type RowOutcome = 'recovered' | 'covered' | 'rejected' | 'retrying';

/**
 * Changelog catch-up: NetBox loses webhooks (no retry by default, Redis down, worker crash) but its
 * changelog is durable. Every `intervalMs` this reads `/api/core/object-changes/` from the
 * high-water mark minus `overlap` ids (ids are allocated before commit, so a late commit can land
 * below the mark), skips rows already handled (by changelog id) or already made into an event by
 * their webhook (same request id and object), leaves rows younger than `graceMs` to their webhook,
 * and appends the rest as events with `data.netbox.via = "changelog"`.
 */
export class ChangelogCatchup {
  private schedule: Schedule | null = null;
  private version: string | null = null;
  private stopping = false;
  private readonly now: () => number;
  /** Failed object fetches per changelog id. In memory: a restart grants a row its attempts again. */
  private readonly attempts = new Map<number, number>();

  constructor(private readonly options: CatchupOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Polls now, then `intervalMs` after each poll ended; a failed poll is retried by the next (`catchup` policy). */
  start(): void {
    this.schedule = every({ firstMs: 0, everyMs: this.options.intervalMs, round: () => this.pollSafely() });
  }

  /** Ends a poll in progress after its current row (a first poll after a long outage can take minutes). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.schedule?.stop();
  }

  private async pollSafely(): Promise<PollResult | null> {
    // One receiver of a shared store reads the changelog (its lease: store/lease.ts); the others' rounds pass.
    if (this.options.active?.() === false) return null;
    try {
      const result = await this.poll();
      if (result.recovered > 0) this.options.log.warn(result, 'changelog catch-up recovered events whose webhooks never arrived');
      return result;
    } catch (error) {
      this.options.metrics.failed();
      this.options.log.warn({ err: error }, 'changelog catch-up failed; retrying at the next interval');
      return null;
    }
  }

  /**
   * One pass over the changelog. Exposed for tests; `start()` calls it on the interval. No single row
   * can stop the pass: a row that cannot become an event is kept as a reject and passed; a row whose
   * object fetch failed is tried again at the next poll (holding the mark), at most
   * `MAX_ROW_ATTEMPTS` times, then kept as a reject. Only a local fault (the outbox cannot write)
   * ends the pass, and the mark reached so far is saved even then.
   */
  async poll(): Promise<PollResult> {
    this.version ??= await this.options.client.version();
    if (this.options.store.state(HWM) === null) {
      const start = await this.initialMark();
      this.options.store.setState(FLOOR, String(start));
      this.options.store.setState(HWM, String(start));
    }
    let hwm = Number(this.options.store.state(HWM));
    const floor = Number(this.options.store.state(FLOOR) ?? 0);
    const cursor = !/^4\.[0-5]\./.test(this.version);
    const dueBefore = this.now() - this.options.graceMs;
    const result: PollResult = { scanned: 0, recovered: 0, covered: 0, rejected: 0, retrying: 0, hwm };
    let blocked = false;
    let oldestWaiting = 0;
    const objectTypes = this.options.objectTypes.length > 0 ? this.options.objectTypes : await this.options.client.eventRuleObjectTypes(this.options.eventRule);
    const query = { afterId: Math.max(floor, hwm - this.options.overlap), objectTypes, pageSize: PAGE, cursor };
    try {
      for await (const row of this.options.client.objectChanges(query, MAX_ROWS_PER_POLL)) {
        if (this.stopping) break;
        result.scanned++;
        if (this.options.store.changelogSeen(row.id)) {
          if (!blocked) hwm = Math.max(hwm, row.id);
          continue;
        }
        if (Date.parse(row.time) > dueBefore) {
          if (!blocked) oldestWaiting = Date.parse(row.time);
          blocked = true; // too young: its webhook may still come; the mark stops here
          continue;
        }
        const outcome = await this.handle(row, this.version);
        result[outcome]++;
        if (outcome === 'retrying') blocked = true; // the mark waits for its next attempt
        if (!blocked && row.id > hwm) {
          hwm = row.id;
          this.options.metrics.highWaterMark(hwm);
        }
      }
    } finally {
      this.options.store.setState(HWM, String(hwm));
      this.options.metrics.highWaterMark(hwm);
    }
    result.hwm = hwm;
    this.options.metrics.lag(blocked ? Math.max(0, (this.now() - oldestWaiting) / 1000) : 0);
    return result;
  }

  /** One due row not seen before: covered by its webhook's event, recovered as an event, kept as a reject, or retried. */
  private async handle(row: ObjectChangeRow, version: string): Promise<RowOutcome> {
    const subject = `${row.changed_object_type}:${row.changed_object_id}`;
    const covering = row.request_id ? this.options.store.eventForRequest(row.request_id, subject) : undefined;
    if (covering) {
      this.options.store.markChangelogSeen(row.id, covering.id, this.now());
      return 'covered';
    }
    let rest: JsonObject | null;
    try {
      rest = row.changed_object?.url ? await this.options.client.object(row.changed_object.url) : null;
    } catch (error) {
      if (!(error instanceof ClientRequestError)) throw error;
      const attempts = (this.attempts.get(row.id) ?? 0) + 1;
      this.attempts.set(row.id, attempts);
      if (shouldRetry('catchup-row', error, attempts - 1)) {
        this.options.log.warn({ changelogId: row.id, attempts, request: error.request }, 'changelog row: object fetch failed; retrying at the next poll');
        return 'retrying';
      }
      return this.keepReject(row, { code: error.code, message: `object fetch failed ${attempts} times: ${error.message}`, attempts });
    }
    let appended;
    try {
      appended = await this.options.append(this.options.normalize(row, rest, version));
    } catch (error) {
      // A local fault (the outbox cannot write, the receiver stops) ends the poll; the row waits.
      if (isRetriable(error)) throw error;
      const code = isUnicopError(error) ? error.code : 'UNICOP_CATCHUP_ROW_UNUSABLE';
      return this.keepReject(row, { code, message: error instanceof Error ? error.message : String(error), attempts: 1 });
    }
    this.attempts.delete(row.id);
    this.options.store.markChangelogSeen(row.id, appended.event.id, this.now());
    if (appended.status === 'duplicate') return 'covered';
    this.options.metrics.recovered(1); // per row: a long poll shows its progress
    return 'recovered';
  }

  private async keepReject(row: ObjectChangeRow, reason: { code: string; message: string; attempts: number }): Promise<RowOutcome> {
    const record = changelogReject(this.options.source, row, reason);
    await this.options.reject(record);
    this.attempts.delete(row.id);
    this.options.store.markChangelogSeen(row.id, null, this.now());
    this.options.metrics.rejected(1);
    this.options.log.warn(
      { changelogId: row.id, subject: `${row.changed_object_type}:${row.changed_object_id}`, code: reason.code, rejectId: record.id },
      'changelog row cannot become an event; kept as a reject and passed',
    );
    return 'rejected';
  }

  /** No mark yet: start at the newest row (`latest`) or replay everything NetBox still keeps (`earliest`). */
  private async initialMark(): Promise<number> {
    if (this.options.from === 'earliest') return 0;
    const last = await this.options.client.latestChangeId();
    this.options.log.info({ hwm: last }, 'changelog catch-up starts at the newest changelog row (UNICOP_CATCHUP_FROM=latest)');
    return last;
  }
}
