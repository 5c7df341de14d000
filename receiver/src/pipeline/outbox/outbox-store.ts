import type { TimelineEntry } from '../../model/event.js';
import { TOMBSTONE } from '../../model/tombstone.js';
import type { Db } from '../../database.js';
import type { RootScope } from '../../iam/root-scope.js';

/** Logical topic names; the relay adds the configured prefix and version suffix. */
export const OUTBOX_TOPICS = [
  'events',
  'rejected',
  'reconcileRequests',
  'reconcileOutcomes',
  'rootsState',
  'access',
  'audit',
  'objects',
  'rootsDesired',
  'snapshots',
] as const;
export type OutboxTopic = (typeof OUTBOX_TOPICS)[number];

export interface OutboxRow {
  pos: number;
  topic: OutboxTopic;
  key: string;
  messageId: string;
  value: string;
  acceptedAt: number;
  /** Its relay lane (pipeline/publish/lanes.ts). */
  lane: number;
}

export interface StoredEvent {
  id: string;
  root: string;
  sequence: number;
  superseded: boolean;
}

export interface EventRecord {
  id: string;
  root: string;
  rootSequence: number;
  subject: string;
  type: string;
  time: string;
  superseded: boolean;
  versionMark: string | null;
  /** The NetBox request behind the event, when known (dedupe between webhook and changelog). */
  requestId: string | null;
  /** `data.action` and `data.actor.user` of the envelope: the timeline shows them. */
  action: string;
  actorUser: string | null;
  /** The scope of an object event (null for a reconcile request); `own` when the event is about the root object itself. */
  scope?: (RootScope & { own: boolean }) | null;
  /** The route it takes (`data.route`); absent: the home route. */
  route?: string;
  value: string;
}

export interface RejectRecord {
  id: string;
  source: string;
  code: string;
  message: string;
  details: string;
  body: Buffer;
  value: string;
}

/** Which relay lane a row takes: its route's lane for its key (publish/route-lanes.ts makes it). */
export interface OutboxLanes {
  /** The route of rows that name none. */
  readonly home: string;
  laneOf(route: string, key: string): number;
}

/** Larger than a page: the probe's write needs a free one (store-health.ts). */
const PROBE_PAGE = Buffer.alloc(8192);

interface PendingRow {
  pos: number;
  topic: OutboxTopic;
  key: string;
  message_id: string;
  value: string;
  accepted_at: number;
  lane: number;
}

interface TimelineRow {
  id: string;
  sequence: number;
  type: string;
  subject: string;
  time: string;
  superseded: number;
  published: number;
  /** Set on every event (each envelope has `data.action`); the column is nullable only because ALTER TABLE added it. */
  action: string;
  user: string | null;
}

/** Prepared statements over the outbox database; synchronous, so callers compose transactions. */
export class OutboxStore {
  private readonly q;

  /**
   * `lanes` maps a route and a message key to its relay lane (pipeline/publish/route-lanes.ts); one
   * SQLite receiver without routes publishes everything in one lane, 0.
   */
  constructor(
    private readonly db: Db,
    private readonly lanes: OutboxLanes = { home: 'default', laneOf: () => 0 },
  ) {
    this.q = {
      event: db.prepare<[string], { id: string; root: string; sequence: number; superseded: number }>(
        'SELECT id, root, sequence, superseded FROM events WHERE id = ?',
      ),
      lastSequence: db.prepare<[string], { last_sequence: number }>('SELECT last_sequence FROM roots WHERE root = ?'),
      newestVersion: db.prepare<[string], { version_mark: string }>('SELECT version_mark FROM object_versions WHERE subject = ?'),
      insertOutbox: db.prepare<[string, string, string, string, number, number], { pos: number }>(
        'INSERT INTO outbox (topic, key, message_id, value, accepted_at, lane) VALUES (?, ?, ?, ?, ?, ?) RETURNING pos',
      ),
      insertEvent: db.prepare<[string, string, number, string, string, string, number, number, string | null, string, string | null]>(
        'INSERT INTO events (id, root, sequence, subject, type, time, superseded, outbox_pos, request_id, action, actor_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      eventForRequest: db.prepare<[string, string], { id: string; root: string; sequence: number; superseded: number }>(
        'SELECT id, root, sequence, superseded FROM events WHERE request_id = ? AND subject = ? ORDER BY sequence LIMIT 1',
      ),
      changelogSeen: db.prepare<[string, number], { event_id: string | null }>('SELECT event_id FROM changelog_seen WHERE source = ? AND changelog_id = ?'),
      markChangelogSeen: db.prepare<[string, number, string | null, number]>(
        'INSERT INTO changelog_seen (source, changelog_id, event_id, seen_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      getState: db.prepare<[string], { value: string }>('SELECT value FROM catchup_state WHERE name = ?'),
      setState: db.prepare<[string, string]>('INSERT INTO catchup_state (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
      upsertRoot: db.prepare<[string, number]>(
        'INSERT INTO roots (root, last_sequence) VALUES (?, ?) ON CONFLICT(root) DO UPDATE SET last_sequence = excluded.last_sequence',
      ),
      upsertVersion: db.prepare<[string, string]>(
        'INSERT INTO object_versions (subject, version_mark) VALUES (?, ?) ON CONFLICT(subject) DO UPDATE SET version_mark = excluded.version_mark',
      ),
      insertReject: db.prepare<[string, number, string, string, string, Buffer, number]>(
        'INSERT INTO rejects (id, received_at, code, message, details, body, outbox_pos) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      lanes: db.prepare<[], { lane: number; cursor: number }>('SELECT lane, cursor FROM relay_lanes ORDER BY lane'),
      pending: db.prepare<[number, number, number], PendingRow>(
        'SELECT pos, topic, key, message_id, value, accepted_at, lane FROM outbox WHERE lane = ? AND pos > ? ORDER BY pos LIMIT ?',
      ),
      firstPending: db.prepare<[number, number], { pos: number | null }>('SELECT min(pos) AS pos FROM outbox WHERE lane = ? AND pos > ?'),
      lastPos: db.prepare<[], { pos: number | null }>('SELECT max(pos) AS pos FROM outbox'),
      laneCursor: db.prepare<[number], { cursor: number }>('SELECT cursor FROM relay_lanes WHERE lane = ?'),
      rowAt: db.prepare<[number], { lane: number; message_id: string }>('SELECT lane, message_id FROM outbox WHERE pos = ?'),
      advanceLane: db.prepare<[number, number, number, string, number]>(
        'UPDATE relay_lanes SET cursor = CASE WHEN cursor < ? THEN ? ELSE cursor END WHERE lane = ? AND holder = ? AND generation = ?',
      ),
      upsertScope: db.prepare<[string, string | null, string | null, string, number]>(
        `INSERT INTO root_scopes (root, tenant, site, regions, own) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(root) DO UPDATE SET tenant = excluded.tenant, site = excluded.site, regions = excluded.regions, own = excluded.own
         WHERE excluded.own = 1 OR root_scopes.own = 0`,
      ),
      rootScope: db.prepare<[string], { tenant: string | null; site: string | null; regions: string }>(
        'SELECT tenant, site, regions FROM root_scopes WHERE root = ?',
      ),
      probeInsert: db.prepare<[Buffer]>('INSERT INTO store_probe (filler) VALUES (?)'),
      probeClear: db.prepare('DELETE FROM store_probe'),
      depth: db.prepare<[], { route: string; n: number }>(
        'SELECT l.route, count(*) AS n FROM outbox o JOIN relay_lanes l ON l.lane = o.lane WHERE o.pos > l.cursor GROUP BY l.route',
      ),
      timeline: db.prepare<[string, number, number], TimelineRow>(
        `SELECT e.id, e.sequence, e.type, e.subject, e.time, e.superseded, CASE WHEN e.outbox_pos <= l.cursor THEN 1 ELSE 0 END AS published,
                e.action, e.actor_user AS "user"
           FROM events e JOIN outbox o ON o.pos = e.outbox_pos JOIN relay_lanes l ON l.lane = o.lane
          WHERE e.root = ? AND e.sequence < ?
          ORDER BY e.sequence DESC LIMIT ?`,
      ),
    };
  }

  event(id: string): StoredEvent | undefined {
    const row = this.q.event.get(id);
    return row && { id: row.id, root: row.root, sequence: row.sequence, superseded: row.superseded === 1 };
  }

  /**
   * The event already made for this NetBox request and object, whichever way it came (webhook or
   * changelog): NetBox coalesces a request's changes to one object into one webhook.
   */
  eventForRequest(requestId: string, subject: string): StoredEvent | undefined {
    const row = this.q.eventForRequest.get(requestId, subject);
    return row && { id: row.id, root: row.root, sequence: row.sequence, superseded: row.superseded === 1 };
  }

  /** Whether a changelog row of `source` (its name) was already handled (turned into an event, or found covered by one). */
  changelogSeen(source: string, changelogId: number): boolean {
    return this.q.changelogSeen.get(source, changelogId) !== undefined;
  }

  markChangelogSeen(source: string, changelogId: number, eventId: string | null, now: number): void {
    this.q.markChangelogSeen.run(source, changelogId, eventId, now);
  }

  state(name: string): string | null {
    return this.q.getState.get(name)?.value ?? null;
  }

  setState(name: string, value: string): void {
    this.q.setState.run(name, value);
  }

  lastSequence(root: string): number {
    return this.q.lastSequence.get(root)?.last_sequence ?? 0;
  }

  newestVersion(subject: string): string | null {
    return this.q.newestVersion.get(subject)?.version_mark ?? null;
  }

  /** Inserts one event with its outbox row and the sequencer's new state. Call inside a transaction. */
  insertEvent(e: EventRecord, now: number): void {
    const pos = this.outboxRow('events', e.root, e.id, e.value, now, e.route);
    this.q.insertEvent.run(e.id, e.root, e.rootSequence, e.subject, e.type, e.time, e.superseded ? 1 : 0, pos, e.requestId, e.action, e.actorUser);
    this.q.upsertRoot.run(e.root, e.rootSequence);
    if (e.versionMark !== null) this.q.upsertVersion.run(e.subject, e.versionMark);
    // A superseded event describes an older state: it must not move the root's scope back.
    if (e.scope && !e.superseded) this.q.upsertScope.run(e.root, e.scope.tenant, e.scope.site, JSON.stringify(e.scope.regions), e.scope.own ? 1 : 0);
  }

  /**
   * The root's latest recorded scope; null when none is (a root known only through NetBox, or whose
   * events predate the table): the IAM policy then lets only `"*"` bindings see it.
   */
  rootScope(root: string): RootScope | null {
    const row = this.q.rootScope.get(root);
    return row ? { tenant: row.tenant, site: row.site, regions: JSON.parse(row.regions) as string[] } : null;
  }

  /**
   * Queues one message for Kafka (reconcile commands, outcomes, root states) on `route` (a message
   * about a root takes its root's; absent: the home route). Call inside a transaction.
   */
  insertMessage(topic: OutboxTopic, key: string, messageId: string, value: string, now: number, route?: string): void {
    this.outboxRow(topic, key, messageId, value, now, route);
  }

  /** Queues a tombstone (Kafka null value) for `key` on a compacted topic. Call inside a transaction. */
  insertTombstone(topic: OutboxTopic, key: string, messageId: string, now: number, route?: string): void {
    this.outboxRow(topic, key, messageId, TOMBSTONE, now, route);
  }

  /** Keeps a rejected input and queues its notice for `unicop.rejected.v1`. Call inside a transaction. */
  insertReject(r: RejectRecord, now: number): void {
    const pos = this.outboxRow('rejected', r.source, r.id, r.value, now);
    this.q.insertReject.run(r.id, now, r.code, r.message, r.details, r.body, pos);
  }

  /**
   * The oldest unpublished rows of `lanes` (every lane when not given), in commit order: positions
   * are given in commit order (one writer at a time, store/postgres-db.ts), so a row never commits
   * behind a lane's cursor.
   */
  pending(limit: number, lanes?: readonly number[]): OutboxRow[] {
    const wanted = lanes && new Set(lanes);
    const rows: PendingRow[] = [];
    for (const { lane, cursor } of this.q.lanes.all()) if (!wanted || wanted.has(lane)) rows.push(...this.q.pending.all(lane, cursor, limit));
    return rows
      .sort((a, b) => a.pos - b.pos)
      .slice(0, limit)
      .map((r) => ({ pos: r.pos, topic: r.topic, key: r.key, messageId: r.message_id, value: r.value, acceptedAt: r.accepted_at, lane: r.lane }));
  }

  /**
   * Every row of `lane` up to `toPos` is acknowledged by Kafka. Fenced: only while `holder` still
   * holds the lane with this lease `generation`; false when another receiver has taken it over.
   */
  advanceLane(lane: number, toPos: number, holder: string, generation: number): boolean {
    return this.q.advanceLane.run(toPos, toPos, lane, holder, generation).changes === 1;
  }

  /** The lane's cursor (0 for a lane the store does not have). */
  laneCursor(lane: number): number {
    return Number(this.q.laneCursor.get(lane)?.cursor ?? 0);
  }

  /** The lane and message id of the outbox row at `pos` (a published row retention has pruned is gone). */
  rowAt(pos: number): { lane: number; messageId: string } | undefined {
    const row = this.q.rowAt.get(pos);
    return row && { lane: Number(row.lane), messageId: row.message_id };
  }

  /** Every row at or below this position is published (retention prunes no further). */
  publishedThrough(): number {
    let through = this.q.lastPos.get()?.pos ?? 0;
    for (const { lane, cursor } of this.q.lanes.all()) {
      const first = this.q.firstPending.get(lane, cursor)?.pos ?? null;
      if (first !== null) through = Math.min(through, first - 1);
    }
    return through;
  }

  /** A root's events, newest first, below `beforeSequence` (all when null). */
  timeline(root: string, beforeSequence: number | null, limit: number): TimelineEntry[] {
    return this.q.timeline.all(root, beforeSequence ?? Number.MAX_SAFE_INTEGER, limit).map((r) => ({
      id: r.id,
      sequence: r.sequence,
      type: r.type,
      subject: r.subject,
      action: r.action,
      user: r.user,
      time: r.time,
      superseded: r.superseded === 1,
      published: r.published === 1,
    }));
  }

  /** Writes and removes a row larger than a page, in one transaction: throws while the disk refuses new pages. */
  probeWrite(): void {
    this.transaction(() => {
      this.q.probeInsert.run(PROBE_PAGE);
      this.q.probeClear.run();
    });
  }

  depth(): number {
    return this.q.depth.all().reduce((sum, r) => sum + Number(r.n), 0);
  }

  /** Unpublished rows per route (routes with none are absent). */
  depthByRoute(): Map<string, number> {
    return new Map(this.q.depth.all().map((r) => [r.route, Number(r.n)]));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  private outboxRow(topic: OutboxTopic, key: string, messageId: string, value: string, now: number, route = this.lanes.home): number {
    const row = this.q.insertOutbox.get(topic, key, messageId, value, now, this.lanes.laneOf(route, key));
    if (!row) throw new Error('the outbox insert returned no position');
    this.onRow?.(route);
    return row.pos;
  }

  /** Told of every row queued, with its route (the receiver's depth per route; a rolled-back row is corrected by the next count). */
  onRow: ((route: string) => void) | null = null;
}
