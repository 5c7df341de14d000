import type { TimelineEntry } from '../../model/event.js';
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

  constructor(private readonly db: Db) {
    this.q = {
      event: db.prepare<[string], { id: string; root: string; sequence: number; superseded: number }>(
        'SELECT id, root, sequence, superseded FROM events WHERE id = ?',
      ),
      lastSequence: db.prepare<[string], { last_sequence: number }>('SELECT last_sequence FROM roots WHERE root = ?'),
      newestVersion: db.prepare<[string], { version_mark: string }>('SELECT version_mark FROM object_versions WHERE subject = ?'),
      insertOutbox: db.prepare<[string, string, string, string, number]>(
        'INSERT INTO outbox (topic, key, message_id, value, accepted_at) VALUES (?, ?, ?, ?, ?)',
      ),
      insertEvent: db.prepare<[string, string, number, string, string, string, number, number | bigint, string | null, string, string | null]>(
        'INSERT INTO events (id, root, sequence, subject, type, time, superseded, outbox_pos, request_id, action, actor_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      eventForRequest: db.prepare<[string, string], { id: string; root: string; sequence: number; superseded: number }>(
        'SELECT id, root, sequence, superseded FROM events WHERE request_id = ? AND subject = ? ORDER BY sequence LIMIT 1',
      ),
      changelogSeen: db.prepare<[number], { event_id: string | null }>('SELECT event_id FROM changelog_seen WHERE changelog_id = ?'),
      markChangelogSeen: db.prepare<[number, string | null, number]>('INSERT OR IGNORE INTO changelog_seen (changelog_id, event_id, seen_at) VALUES (?, ?, ?)'),
      getState: db.prepare<[string], { value: string }>('SELECT value FROM catchup_state WHERE name = ?'),
      setState: db.prepare<[string, string]>('INSERT INTO catchup_state (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
      upsertRoot: db.prepare<[string, number]>(
        'INSERT INTO roots (root, last_sequence) VALUES (?, ?) ON CONFLICT(root) DO UPDATE SET last_sequence = excluded.last_sequence',
      ),
      upsertVersion: db.prepare<[string, string]>(
        'INSERT INTO object_versions (subject, version_mark) VALUES (?, ?) ON CONFLICT(subject) DO UPDATE SET version_mark = excluded.version_mark',
      ),
      insertReject: db.prepare<[string, number, string, string, string, Buffer, number | bigint]>(
        'INSERT INTO rejects (id, received_at, code, message, details, body, outbox_pos) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      pending: db.prepare<[number], { pos: number; topic: OutboxTopic; key: string; message_id: string; value: string; accepted_at: number }>(
        'SELECT pos, topic, key, message_id, value, accepted_at FROM outbox WHERE pos > (SELECT pos FROM relay_cursor) ORDER BY pos LIMIT ?',
      ),
      markPublished: db.prepare<[number]>('UPDATE relay_cursor SET pos = max(pos, ?)'),
      upsertScope: db.prepare<[string, string | null, string | null, string, number]>(
        `INSERT INTO root_scopes (root, tenant, site, regions, own) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(root) DO UPDATE SET tenant = excluded.tenant, site = excluded.site, regions = excluded.regions, own = excluded.own
         WHERE excluded.own = 1 OR root_scopes.own = 0`,
      ),
      rootScope: db.prepare<[string], { tenant: string | null; site: string | null; regions: string }>(
        'SELECT tenant, site, regions FROM root_scopes WHERE root = ?',
      ),
      probeInsert: db.prepare<[number]>('INSERT INTO store_probe (filler) VALUES (zeroblob(?))'),
      probeClear: db.prepare('DELETE FROM store_probe'),
      depth: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox WHERE pos > (SELECT pos FROM relay_cursor)'),
      timeline: db.prepare<[string, number, number], TimelineRow>(
        `SELECT id, sequence, type, subject, time, superseded, outbox_pos <= (SELECT pos FROM relay_cursor) AS published, action, actor_user AS user
           FROM events
          WHERE root = ? AND sequence < ?
          ORDER BY sequence DESC LIMIT ?`,
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

  /** Whether a changelog row was already handled (turned into an event, or found covered by one). */
  changelogSeen(changelogId: number): boolean {
    return this.q.changelogSeen.get(changelogId) !== undefined;
  }

  markChangelogSeen(changelogId: number, eventId: string | null, now: number): void {
    this.q.markChangelogSeen.run(changelogId, eventId, now);
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
    const pos = this.q.insertOutbox.run('events', e.root, e.id, e.value, now).lastInsertRowid;
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

  /** Queues one message for Kafka (reconcile commands, outcomes, root states). Call inside a transaction. */
  insertMessage(topic: OutboxTopic, key: string, messageId: string, value: string, now: number): void {
    this.q.insertOutbox.run(topic, key, messageId, value, now);
  }

  /** Keeps a rejected input and queues its notice for `unicop.rejected.v1`. Call inside a transaction. */
  insertReject(r: RejectRecord, now: number): void {
    const pos = this.q.insertOutbox.run('rejected', r.source, r.id, r.value, now).lastInsertRowid;
    this.q.insertReject.run(r.id, now, r.code, r.message, r.details, r.body, pos);
  }

  /** The oldest unpublished rows, in commit order. */
  pending(limit: number): OutboxRow[] {
    return this.q.pending.all(limit).map((r) => ({
      pos: r.pos,
      topic: r.topic,
      key: r.key,
      messageId: r.message_id,
      value: r.value,
      acceptedAt: r.accepted_at,
    }));
  }

  /** Every row up to `toPos` is acknowledged by Kafka (the relay publishes strictly in `pos` order). */
  markPublished(toPos: number): void {
    this.q.markPublished.run(toPos);
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
      this.q.probeInsert.run(8192);
      this.q.probeClear.run();
    });
  }

  depth(): number {
    return this.q.depth.get()?.n ?? 0;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
