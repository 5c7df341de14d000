import type { NetboxClient } from '../clients/netbox-client.js';
import { isUnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DraftEvent } from '../model/event.js';
import type { JsonObject } from '../model/netbox-webhook.js';
import { CHANGE_ROW_KEY_FIELDS, type ChangeRowKey, type ObjectChangeRow } from '../model/netbox-changelog.js';
import type { RejectRecord } from '../pipeline/outbox/outbox-store.js';
import { isRetriable, retriesOf } from '../retry/backoff.js';
import { every, type Schedule } from '../retry/schedule.js';
import { changelogReject } from './changelog-reject.js';
import { fetchObjects, type FetchedObject } from './object-fetch.js';

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
  /** HTTP requests made to NetBox since the last call. */
  requested(count: number): void;
}

export interface CatchupOptions {
  /** A client of the catch-up's own: its `requests` are the catch-up's (`unicop_catchup_netbox_requests_total`), its pacing too. */
  client: Pick<NetboxClient, 'version' | 'objectChanges' | 'changeRows' | 'objectsByIds' | 'object' | 'latestChangeId' | 'eventRuleObjectTypes' | 'requests'>;
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
/** Whole rows per changelog page (a scan where NetBox has no `?fields=`). */
const PAGE = 500;
/** Row keys per changelog page: NetBox's default MAX_PAGE_SIZE (a larger limit is cut to it). */
const KEY_PAGE = 1000;
/** Rows handled together: read whole and their objects fetched in one round of GETs. */
const CHUNK = 1000;
/** Rows one poll reads at most; the mark is saved after each chunk, so a long poll loses nothing when it ends early. */
const MAX_ROWS_PER_POLL = 100_000;
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

/** One poll's progress, carried from chunk to chunk. */
interface PassState {
  /** Rows at or after this time are left to their webhook (the grace). */
  dueBefore: number;
  hwm: number;
  /** A row young or retrying was met: the mark stays below it. */
  blocked: boolean;
  oldestWaiting: number;
  /** The scan reads keys (`?fields=`) and whole rows are read by id. */
  keysOnly: boolean;
  result: PollResult;
}

/** An async sequence in arrays of up to `size`. */
async function* chunksOf<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * Changelog catch-up: NetBox loses webhooks (no retry by default, Redis down, worker crash) but its
 * changelog is durable. Every `intervalMs` this reads `/api/core/object-changes/` from the
 * high-water mark minus `overlap` ids (ids are allocated before commit, so a late commit can land
 * below the mark), skips rows already handled (by changelog id) or already made into an event by
 * their webhook (same request id and object), leaves rows younger than `graceMs` to their webhook,
 * and appends the rest as events with `data.netbox.via = "changelog"`.
 * NetBox's cost stays per page, not per row: the scan reads row keys only (`?fields=`), the rows to
 * recover are then read whole by id, and their objects by id per list endpoint (receiver/README.md,
 * "Changelog catch-up").
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
   * or a failed changelog read ends the pass, and the mark reached so far is saved even then.
   */
  async poll(): Promise<PollResult> {
    let metered = this.options.client.requests;
    const meter = () => {
      this.options.metrics.requested(this.options.client.requests - metered);
      metered = this.options.client.requests;
    };
    try {
      return await this.pass(meter);
    } finally {
      meter();
    }
  }

  private async pass(meter: () => void): Promise<PollResult> {
    this.version ??= await this.options.client.version();
    if (this.options.store.state(HWM) === null) {
      const start = await this.initialMark();
      this.options.store.setState(FLOOR, String(start));
      this.options.store.setState(HWM, String(start));
    }
    const hwm = Number(this.options.store.state(HWM));
    const floor = Number(this.options.store.state(FLOOR) ?? 0);
    const cursor = !/^4\.[0-5]\./.test(this.version);
    // `?fields=` limits what NetBox serializes since 4.0: the scan then reads keys only, whole rows only where needed.
    const keysOnly = !/^[0-3]\./.test(this.version);
    const result: PollResult = { scanned: 0, recovered: 0, covered: 0, rejected: 0, retrying: 0, hwm };
    const pass: PassState = { dueBefore: this.now() - this.options.graceMs, hwm, blocked: false, oldestWaiting: 0, keysOnly, result };
    const objectTypes = this.options.objectTypes.length > 0 ? this.options.objectTypes : await this.options.client.eventRuleObjectTypes(this.options.eventRule);
    const query = {
      afterId: Math.max(floor, hwm - this.options.overlap),
      objectTypes,
      cursor,
      ...(keysOnly ? { pageSize: KEY_PAGE, fields: CHANGE_ROW_KEY_FIELDS } : { pageSize: PAGE }),
    };
    try {
      for await (const chunk of chunksOf(this.options.client.objectChanges(query, MAX_ROWS_PER_POLL), CHUNK)) {
        // Stopping, or another receiver took the duty over (this one lost its lease): the rest waits.
        if (this.stopping || this.options.active?.() === false) break;
        await this.handleChunk(chunk, pass);
        this.options.store.setState(HWM, String(pass.hwm)); // a long first poll keeps its progress through a crash
        meter();
      }
    } finally {
      meter(); // before the mark: a reader who sees the mark sees the requests that reached it
      this.options.store.setState(HWM, String(pass.hwm));
      this.options.metrics.highWaterMark(pass.hwm);
    }
    result.hwm = pass.hwm;
    this.options.metrics.lag(pass.blocked ? Math.max(0, (this.now() - pass.oldestWaiting) / 1000) : 0);
    return result;
  }

  /**
   * Rows in changelog order. Those that need an event (not seen, due, no webhook event covering
   * them) are read whole (`changeRows`) and their objects fetched in bulk (`fetchObjects`) first;
   * then each row is handled in order, so a root's events keep the changelog's order.
   */
  private async handleChunk(keys: readonly ChangeRowKey[], pass: PassState): Promise<void> {
    const needed = keys.filter((k) => !this.options.store.changelogSeen(k.id) && Date.parse(k.time) <= pass.dueBefore && !this.covering(k));
    const rows = pass.keysOnly
      ? new Map((needed.length > 0 ? await this.options.client.changeRows(needed.map((k) => k.id)) : []).map((r) => [r.id, r]))
      : new Map(needed.map((k) => [k.id, k as ObjectChangeRow]));
    // Every row gets its object unless the poll is stopping (then the loop below handles none).
    const objects = await fetchObjects(this.options.client, [...rows.values()], {
      alone: (row) => (this.attempts.get(row.id) ?? 0) + 1 >= MAX_ROW_ATTEMPTS,
      stopped: () => this.stopping,
    });
    // Each row's handling starts in order without waiting for the one before, so their appends join
    // one group commit (one transaction, not a commit per row); their outcomes are then taken in order.
    // A failed commit fails its whole group: a local fault stores none of the rows after the first it hit.
    const started: { key: ChangeRowKey; outcome: Promise<{ value: RowOutcome | 'seen' | 'young' } | { error: unknown }> }[] = [];
    for (const key of keys) {
      if (this.stopping) break;
      pass.result.scanned++;
      const skipped = this.options.store.changelogSeen(key.id) ? 'seen' : Date.parse(key.time) > pass.dueBefore ? 'young' : null;
      const outcome: Promise<RowOutcome | 'seen' | 'young'> = skipped ? Promise.resolve(skipped) : this.handle(key, rows.get(key.id), objects.get(key.id));
      started.push({
        key,
        outcome: outcome.then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        ),
      });
    }
    for (const { key, outcome } of started) {
      const settled = await outcome;
      if ('error' in settled) throw settled.error; // a local fault: the mark stays before this row
      if (settled.value === 'seen') {
        if (!pass.blocked) pass.hwm = Math.max(pass.hwm, key.id);
        continue;
      }
      if (settled.value === 'young') {
        if (!pass.blocked) pass.oldestWaiting = Date.parse(key.time);
        pass.blocked = true; // too young: its webhook may still come; the mark stops here
        continue;
      }
      pass.result[settled.value]++;
      if (settled.value === 'retrying') pass.blocked = true; // the mark waits for its next attempt
      if (!pass.blocked && key.id > pass.hwm) {
        pass.hwm = key.id;
        this.options.metrics.highWaterMark(pass.hwm);
      }
    }
  }

  /** The event its webhook made for the row's request and object, if any. */
  private covering(key: ChangeRowKey): { id: string } | undefined {
    return key.request_id ? this.options.store.eventForRequest(key.request_id, `${key.changed_object_type}:${key.changed_object_id}`) : undefined;
  }

  /**
   * One due row not seen before: covered by its webhook's event, recovered as an event, kept as a
   * reject, or retried. `row` is the whole row (absent: NetBox listed it but did not return it),
   * `fetched` its object.
   */
  private async handle(key: ChangeRowKey, row: ObjectChangeRow | undefined, fetched: FetchedObject | undefined): Promise<RowOutcome> {
    const covering = this.covering(key);
    if (covering) {
      this.options.store.markChangelogSeen(key.id, covering.id, this.now());
      return 'covered';
    }
    if (!row) return this.failed(key, { code: 'UNICOP_CATCHUP_ROW_UNUSABLE', what: 'row read', message: 'NetBox listed the row but did not return it by id' });
    const object = fetched ?? { rest: null };
    if ('error' in object) {
      return this.failed(row, { code: object.error.code, what: 'object fetch', message: object.error.message, request: object.error.request });
    }
    let appended;
    try {
      appended = await this.options.append(this.options.normalize(row, object.rest, this.version!));
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

  /** A row NetBox failed to serve this time: tried again at the next poll, after `MAX_ROW_ATTEMPTS` kept as a reject. */
  private async failed(key: ChangeRowKey, reason: { code: string; what: string; message: string; request?: unknown }): Promise<RowOutcome> {
    const attempts = (this.attempts.get(key.id) ?? 0) + 1;
    this.attempts.set(key.id, attempts);
    if (attempts < MAX_ROW_ATTEMPTS) {
      this.options.log.warn({ changelogId: key.id, attempts, request: reason.request }, `changelog row: ${reason.what} failed; retrying at the next poll`);
      return 'retrying';
    }
    return this.keepReject(key, { code: reason.code, message: `${reason.what} failed ${attempts} times: ${reason.message}`, attempts });
  }

  private async keepReject(row: ChangeRowKey, reason: { code: string; message: string; attempts: number }): Promise<RowOutcome> {
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
