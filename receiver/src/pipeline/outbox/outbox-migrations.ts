import type { SchemaComponent } from '../../database.js';

/**
 * The outbox's tables (and the changelog catch-up's, which writes through the outbox store).
 * `outbox` holds every message for Kafka in commit order (its `pos` is the relay's order, so
 * per-root order holds); `events` indexes domain events for duplicates and the root APIs; `roots`
 * and `object_versions` carry the sequencer's state; `rejects` keeps authenticated inputs that
 * failed validation. The reconciler's tables are its own (reconcile/reconcile-migrations.ts).
 */
export const OUTBOX_SCHEMA: SchemaComponent = {
  name: 'outbox',
  migrations: [
    `CREATE TABLE outbox (
       pos INTEGER PRIMARY KEY AUTOINCREMENT,
       topic TEXT NOT NULL,
       key TEXT NOT NULL,
       message_id TEXT NOT NULL,
       value TEXT NOT NULL,
       accepted_at INTEGER NOT NULL,
       published_at INTEGER
     );
     CREATE INDEX outbox_pending ON outbox(pos) WHERE published_at IS NULL;
     CREATE TABLE events (
       id TEXT PRIMARY KEY,
       root TEXT NOT NULL,
       sequence INTEGER NOT NULL,
       subject TEXT NOT NULL,
       type TEXT NOT NULL,
       time TEXT NOT NULL,
       superseded INTEGER NOT NULL,
       outbox_pos INTEGER NOT NULL REFERENCES outbox(pos)
     );
     CREATE UNIQUE INDEX events_root_sequence ON events(root, sequence);
     CREATE TABLE roots (root TEXT PRIMARY KEY, last_sequence INTEGER NOT NULL) WITHOUT ROWID;
     CREATE TABLE object_versions (subject TEXT PRIMARY KEY, version_mark TEXT NOT NULL) WITHOUT ROWID;
     CREATE TABLE rejects (
       id TEXT PRIMARY KEY,
       received_at INTEGER NOT NULL,
       code TEXT NOT NULL,
       message TEXT NOT NULL,
       details TEXT NOT NULL,
       body BLOB NOT NULL,
       outbox_pos INTEGER NOT NULL REFERENCES outbox(pos)
     );`,
    // v2, changelog catch-up: the NetBox request behind each event (a webhook and a changelog row of
    // the same request and object are the same change), the changelog rows already turned into
    // events, and the catch-up's high-water mark.
    `ALTER TABLE events ADD COLUMN request_id TEXT;
     CREATE INDEX events_request_subject ON events(request_id, subject) WHERE request_id IS NOT NULL;
     CREATE TABLE changelog_seen (changelog_id INTEGER PRIMARY KEY, event_id TEXT, seen_at INTEGER NOT NULL);
     CREATE TABLE catchup_state (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
    // v3, a relay cursor instead of a published_at per row: the relay publishes strictly in pos order,
    // so "published" is "pos <= cursor". Updating published_at rewrote every ~5 KB row once more.
    `CREATE TABLE relay_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), pos INTEGER NOT NULL);
     INSERT INTO relay_cursor (id, pos) VALUES (1, coalesce(
       (SELECT min(pos) - 1 FROM outbox WHERE published_at IS NULL),
       (SELECT max(pos) FROM outbox),
       0));
     DROP INDEX outbox_pending;`,
    // v4, retention (outbox/retention.ts): the ages and positions it prunes by, the child keys SQLite
    // checks before an outbox row may go (foreign keys), and a scratch table whose one-page write
    // tells the store health that the disk takes writes again.
    `CREATE INDEX outbox_accepted_at ON outbox(accepted_at);
     CREATE INDEX events_outbox_pos ON events(outbox_pos);
     CREATE INDEX rejects_outbox_pos ON rejects(outbox_pos);
     CREATE INDEX changelog_seen_at ON changelog_seen(seen_at);
     CREATE TABLE store_probe (id INTEGER PRIMARY KEY, filler BLOB NOT NULL);`,
    // v5, the timeline's own columns: what happened and the person behind it, stored with the event
    // instead of read back out of its serialized Kafka value. Existing events get them from their
    // stored value once, here (retention keeps every event's outbox row: foreign key).
    `ALTER TABLE events ADD COLUMN action TEXT;
     ALTER TABLE events ADD COLUMN actor_user TEXT;
     UPDATE events SET (action, actor_user) = (
       SELECT json_extract(o.value, '$.data.action'), json_extract(o.value, '$.data.actor.user') FROM outbox o WHERE o.pos = events.outbox_pos
     );`,
    // v6, identity and access: each root's latest scope, written with its events, so the /v1 API
    // decides a caller's access without asking NetBox. `own` = it came from an event about the root
    // object itself (a component's event only fills a root that has none of those yet).
    `CREATE TABLE root_scopes (
       root TEXT PRIMARY KEY,
       tenant TEXT,
       site TEXT,
       regions TEXT NOT NULL,
       own INTEGER NOT NULL
     ) WITHOUT ROWID;`,
    // v7, relay lanes (pipeline/publish/lane-leases.ts): each row's lane, per lane its cursor and the
    // lease of the receiver publishing it, the receivers alive (they share the lanes out), and named
    // leases for the duties one receiver does for all (store/lease.ts). One SQLite receiver publishes one lane, 0, in commit order;
    // it takes over the old single cursor.
    `ALTER TABLE outbox ADD COLUMN lane INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX outbox_lane_pos ON outbox(lane, pos);
     CREATE TABLE relay_lanes (
       lane INTEGER PRIMARY KEY,
       cursor INTEGER NOT NULL,
       holder TEXT,
       generation INTEGER NOT NULL DEFAULT 0,
       expires_at INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE relay_members (holder TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
     CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT, generation INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL DEFAULT 0);
     INSERT INTO relay_lanes (lane, cursor) SELECT 0, pos FROM relay_cursor;
     DROP TABLE relay_cursor;`,
    // v8, federation (docs/federation.md): a lane is (route, partition of that route's events topic),
    // `lane` its number in this store (the default route's lanes keep theirs: lane = partition); a
    // changelog id is unique only within its NetBox, so rows seen are per source ('default' alone before).
    `ALTER TABLE relay_lanes ADD COLUMN route TEXT NOT NULL DEFAULT 'default';
     ALTER TABLE relay_lanes ADD COLUMN kafka_partition INTEGER;
     UPDATE relay_lanes SET kafka_partition = lane;
     CREATE UNIQUE INDEX relay_lanes_route_partition ON relay_lanes(route, kafka_partition);
     CREATE TABLE changelog_seen_by_source (
       source TEXT NOT NULL,
       changelog_id INTEGER NOT NULL,
       event_id TEXT,
       seen_at INTEGER NOT NULL,
       PRIMARY KEY (source, changelog_id)
     ) WITHOUT ROWID;
     INSERT INTO changelog_seen_by_source (source, changelog_id, event_id, seen_at) SELECT 'default', changelog_id, event_id, seen_at FROM changelog_seen;
     DROP TABLE changelog_seen;
     ALTER TABLE changelog_seen_by_source RENAME TO changelog_seen;
     CREATE INDEX changelog_seen_at ON changelog_seen(seen_at);`,
  ],
  postgres: [
    `CREATE TABLE outbox (
       pos BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       topic TEXT NOT NULL,
       key TEXT NOT NULL,
       message_id TEXT NOT NULL,
       value TEXT NOT NULL,
       accepted_at BIGINT NOT NULL,
       lane INTEGER NOT NULL
     );
     CREATE INDEX outbox_lane_pos ON outbox(lane, pos);
     CREATE INDEX outbox_accepted_at ON outbox(accepted_at);
     CREATE TABLE events (
       id TEXT PRIMARY KEY,
       root TEXT NOT NULL,
       sequence BIGINT NOT NULL,
       subject TEXT NOT NULL,
       type TEXT NOT NULL,
       time TEXT NOT NULL,
       superseded INTEGER NOT NULL,
       outbox_pos BIGINT NOT NULL REFERENCES outbox(pos),
       request_id TEXT,
       action TEXT,
       actor_user TEXT
     );
     CREATE UNIQUE INDEX events_root_sequence ON events(root, sequence);
     CREATE INDEX events_request_subject ON events(request_id, subject) WHERE request_id IS NOT NULL;
     CREATE INDEX events_outbox_pos ON events(outbox_pos);
     CREATE TABLE roots (root TEXT PRIMARY KEY, last_sequence BIGINT NOT NULL);
     CREATE TABLE object_versions (subject TEXT PRIMARY KEY, version_mark TEXT NOT NULL);
     CREATE TABLE rejects (
       id TEXT PRIMARY KEY,
       received_at BIGINT NOT NULL,
       code TEXT NOT NULL,
       message TEXT NOT NULL,
       details TEXT NOT NULL,
       body BYTEA NOT NULL,
       outbox_pos BIGINT NOT NULL REFERENCES outbox(pos)
     );
     CREATE INDEX rejects_outbox_pos ON rejects(outbox_pos);
     CREATE TABLE changelog_seen (changelog_id BIGINT PRIMARY KEY, event_id TEXT, seen_at BIGINT NOT NULL);
     CREATE INDEX changelog_seen_at ON changelog_seen(seen_at);
     CREATE TABLE catchup_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE store_probe (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, filler BYTEA NOT NULL);
     CREATE TABLE root_scopes (root TEXT PRIMARY KEY, tenant TEXT, site TEXT, regions TEXT NOT NULL, own INTEGER NOT NULL);
     CREATE TABLE relay_lanes (
       lane INTEGER PRIMARY KEY,
       cursor BIGINT NOT NULL,
       holder TEXT,
       generation BIGINT NOT NULL DEFAULT 0,
       expires_at BIGINT NOT NULL DEFAULT 0
     );
     CREATE TABLE relay_members (holder TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
     CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT, generation BIGINT NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL DEFAULT 0);`,
    // v2: the SQLite list's v8 (routes of relay lanes, changelog rows seen per source).
    `ALTER TABLE relay_lanes ADD COLUMN route TEXT NOT NULL DEFAULT 'default';
     ALTER TABLE relay_lanes ADD COLUMN kafka_partition INTEGER;
     UPDATE relay_lanes SET kafka_partition = lane;
     CREATE UNIQUE INDEX relay_lanes_route_partition ON relay_lanes(route, kafka_partition);
     ALTER TABLE changelog_seen ADD COLUMN source TEXT NOT NULL DEFAULT 'default';
     ALTER TABLE changelog_seen DROP CONSTRAINT changelog_seen_pkey;
     ALTER TABLE changelog_seen ADD PRIMARY KEY (source, changelog_id);`,
  ],
  // The single list's v1, v2, v4 and the outbox half of v6 are this list's v1..v4 (v3 and v5 were the reconciler's).
  legacyVersions: [0, 1, 2, 2, 3, 3, 4],
};
