import { ACCESS_SCHEMA } from '../../../src/access/access-migrations.js';
import { SNAPSHOT_SCHEMA } from '../../../src/snapshot/snapshot-migrations.js';
import { DESIRED_SCHEMA } from '../../../src/desired/desired-migrations.js';
import { INVENTORY_SCHEMA } from '../../../src/inventory/inventory-migrations.js';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase, type Db } from '../../../src/database.js';
import { SqliteDb } from '../../../src/store/sqlite-db.js';
import { OUTBOX_SCHEMA } from '../../../src/pipeline/outbox/outbox-migrations.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { RECONCILE_SCHEMA } from '../../../src/reconcile/reconcile-migrations.js';
import { ReconcileStore } from '../../../src/reconcile/reconcile-store.js';
import { SINGLE_LIST_MIGRATIONS, singleListDatabase } from '../../helpers/single-list-database.js';

type Row = Record<string, unknown>;

/** Tables, their columns and keys, and indexes, as SQLite reports them (whitespace of the DDL ignored). */
function schemaOf(db: Db): Record<string, unknown> {
  const objects = db
    .prepare<[], { type: string; name: string; tbl_name: string; sql: string | null }>(
      "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all();
  return Object.fromEntries(
    objects.map((object) => [
      `${object.type} ${object.name}`,
      object.type === 'table'
        ? {
            columns: db.prepare(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_xinfo('${object.name}')`).all(),
            foreignKeys: db.prepare(`SELECT "from", "table", "to" FROM pragma_foreign_key_list('${object.name}')`).all(),
            withoutRowid: /WITHOUT ROWID/i.test(object.sql ?? ''),
          }
        : { table: object.tbl_name, sql: (object.sql ?? '').replace(/\s+/g, ' ') },
    ]),
  );
}

/** Every row of every table the single list made, in key order. */
function contentsOf(db: Db, tables: readonly string[]): Record<string, Row[]> {
  return Object.fromEntries(tables.map((t) => [t, db.prepare<[], Row>(`SELECT * FROM ${t} ORDER BY 1`).all()]));
}

/** Only the columns `like` has (the current code may have added some). */
function sameColumns(rows: Record<string, Row[]>, like: Record<string, Row[]>): Record<string, Row[]> {
  return Object.fromEntries(
    Object.entries(rows).map(([t, rs]) => [t, rs.map((r) => Object.fromEntries(Object.keys(like[t]?.[0] ?? r).map((k) => [k, r[k]])))]),
  );
}

function tablesOf(db: Db): string[] {
  return db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((r) => r.name);
}

function versionsOf(db: Db): Row[] {
  return db.prepare<[], Row>('SELECT component, version FROM schema_versions ORDER BY component').all();
}

/** A little of everything the single list's tables hold, as a receiver of that list would have stored it. */
function fill(db: Db): void {
  db.exec(`
    INSERT INTO outbox (topic, key, message_id, value, accepted_at) VALUES
      ('events', 'dcim.device:1', 'e-1', '{"data":{"action":"created","actor":{"user":"alice"}}}', 1000),
      ('events', 'dcim.device:1', 'e-2', '{"data":{"action":"reconcile","actor":{"user":null,"principal":"t"}}}', 2000),
      ('rejected', 'netbox://x', 'rej-1', '{}', 2500),
      ('rootsState', 'dcim.device:1', 's-1', '{"data":{}}', 3000);
    UPDATE relay_cursor SET pos = 2;
    INSERT INTO events (id, root, sequence, subject, type, time, superseded, outbox_pos, request_id) VALUES
      ('e-1', 'dcim.device:1', 1, 'dcim.interface:7', 'unicop.object.created', '2026-01-01T00:00:01Z', 0, 1, 'req-1'),
      ('e-2', 'dcim.device:1', 2, 'dcim.device:1', 'unicop.reconcile.requested', '2026-01-01T00:00:02Z', 0, 2, NULL);
    INSERT INTO rejects (id, received_at, code, message, details, body, outbox_pos) VALUES ('rej-1', 2500, 'UNICOP_VALIDATE_SCHEMA', 'm', '[]', x'7b7d', 3);
    INSERT INTO roots (root, last_sequence) VALUES ('dcim.device:1', 2);
    INSERT INTO object_versions (subject, version_mark) VALUES ('dcim.interface:7', 'v1');
    INSERT INTO changelog_seen (changelog_id, event_id, seen_at) VALUES (11, 'e-1', 1000);
    INSERT INTO catchup_state (name, value) VALUES ('after', '11');
    INSERT INTO reconcile_roots (root, state, record, due_at, updated_at) VALUES ('dcim.device:1', 'running', '{"root":"dcim.device:1"}', 9000, 3000);
    INSERT INTO reconcile_attempts (reconcile_id, root, attempt, requested_at, deadline_at, awx_job_id, outcome) VALUES ('r-1', 'dcim.device:1', 1, 3000, 9000, 5, NULL);
    INSERT INTO reconcile_events_seen (event_id, seen_at) VALUES ('e-1', 1000);
    INSERT INTO reconcile_orphans (received_at, reconcile_id, reason, body) VALUES (4000, NULL, 'no_attempt', '{}');
  `);
}

describe('schema migrations per part (database.ts, outbox-migrations.ts, reconcile-migrations.ts)', () => {
  let dirs: string[];
  const newDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'unicop-migrations-'));
    dirs.push(dir);
    return dir;
  };
  beforeEach(() => (dirs = []));
  afterEach(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('opens a database made by the single migration list with every row kept and no migration applied again', () => {
    const dir = newDir();
    const legacy = singleListDatabase(dir);
    fill(legacy);
    legacy.exec('UPDATE reconcile_rebuild SET needed = 0, done_at = 3500'); // it rebuilt once, long ago
    // The single cursor became lane 0's (outbox v7): the one receiver of a SQLite file publishes one lane.
    const tables = tablesOf(legacy).filter((t) => t !== 'relay_cursor');
    const before = contentsOf(legacy, tables);
    const cursor = legacy.prepare<[], { pos: number }>('SELECT pos FROM relay_cursor').get()?.pos;
    legacy.close();

    // A migration run twice would throw (CREATE TABLE / CREATE INDEX / the relay cursor's INSERT).
    const db = openReceiverDatabase(dir);
    assert.deepEqual(sameColumns(contentsOf(db, tables), before), before);
    assert.deepEqual(db.prepare('SELECT lane, cursor, holder FROM relay_lanes').all(), [{ lane: 0, cursor, holder: null }]);
    assert.deepEqual(versionsOf(db), [
      { component: 'access', version: ACCESS_SCHEMA.migrations.length },
      { component: 'desired', version: DESIRED_SCHEMA.migrations.length },
      { component: 'inventory', version: INVENTORY_SCHEMA.migrations.length },
      { component: 'outbox', version: OUTBOX_SCHEMA.migrations.length },
      { component: 'reconcile', version: RECONCILE_SCHEMA.migrations.length },
      { component: 'snapshot', version: SNAPSHOT_SCHEMA.migrations.length },
    ]);
    assert.equal(new ReconcileStore(db).rebuildNeeded(), false, 'a database with its own reconcile state is not rebuilt');
    db.close();

    const again = openReceiverDatabase(dir);
    assert.deepEqual(sameColumns(contentsOf(again, tables), before), before, 'opening it once more changes nothing');
    again.close();
  });

  it('gives a new database the single list’s tables, columns and indexes, plus schema_versions, the access, snapshot, desired-state and inventory parts, the timeline’s columns on events, root_scopes, the relay lanes, the leases and the roots’ ownership', () => {
    const legacy = singleListDatabase(newDir());
    const expected = schemaOf(legacy);
    legacy.close();
    const events = expected['table events'] as { columns: Row[] };
    for (const name of ['action', 'actor_user']) events.columns.push({ name, type: 'TEXT', notnull: 0, dflt_value: null, pk: 0 });
    (expected['table outbox'] as { columns: Row[] }).columns.push({ name: 'lane', type: 'INTEGER', notnull: 1, dflt_value: '0', pk: 0 });
    (expected['table reconcile_roots'] as { columns: Row[] }).columns.push({ name: 'ownership', type: 'TEXT', notnull: 0, dflt_value: null, pk: 0 });
    delete expected['table relay_cursor'];
    // outbox v8: changelog rows seen per NetBox source
    const seen = expected['table changelog_seen'] as { columns: Row[]; withoutRowid: boolean };
    seen.withoutRowid = true;
    seen.columns = [
      { name: 'source', type: 'TEXT', notnull: 1, dflt_value: null, pk: 1 },
      { name: 'changelog_id', type: 'INTEGER', notnull: 1, dflt_value: null, pk: 2 },
      { name: 'event_id', type: 'TEXT', notnull: 0, dflt_value: null, pk: 0 },
      { name: 'seen_at', type: 'INTEGER', notnull: 1, dflt_value: null, pk: 0 },
    ];
    const db = openReceiverDatabase(newDir());
    const fresh = schemaOf(db);
    db.close();
    assert.deepEqual(
      Object.keys(fresh).filter((k) => !(k in expected)),
      [
        'table access_grants',
        'index access_grants_active',
        'table desired_members',
        'index desired_members_root',
        'table desired_roots',
        'table inventory_cap_counts',
        'table inventory_roots',
        'table leases',
        'index outbox_lane_pos',
        'index reconcile_roots_waiting',
        'table relay_lanes',
        'index relay_lanes_route_partition',
        'table relay_members',
        'table root_scopes',
        'table schema_versions',
        'table snapshots',
        'index snapshots_one_running',
        'index snapshots_started',
      ],
    );
    for (const [name, shape] of Object.entries(expected)) assert.deepEqual(fresh[name], shape, name);
  });

  it('gives a single-list database of any version the schema of a new one', () => {
    const fresh = openReceiverDatabase(newDir());
    const expected = schemaOf(fresh);
    fresh.close();
    for (let version = 1; version <= SINGLE_LIST_MIGRATIONS.length; version++) {
      const dir = newDir();
      singleListDatabase(dir, version).close();
      const db = openReceiverDatabase(dir);
      assert.deepEqual(schemaOf(db), expected, `single-list version ${version}`);
      db.close();
    }
  });

  it('fills the timeline columns of a single-list database’s events from their stored values, and its timeline reads the same', () => {
    const dir = newDir();
    const legacy = singleListDatabase(dir);
    fill(legacy);
    legacy.close();
    const db = openReceiverDatabase(dir);
    assert.deepEqual(db.prepare('SELECT id, action, actor_user FROM events ORDER BY id').all(), [
      { id: 'e-1', action: 'created', actor_user: 'alice' },
      { id: 'e-2', action: 'reconcile', actor_user: null },
    ]);
    assert.deepEqual(
      new OutboxStore(db).timeline('dcim.device:1', null, 10).map((e) => [e.id, e.action, e.user, e.published]),
      [
        ['e-2', 'reconcile', null, true],
        ['e-1', 'created', 'alice', true],
      ],
    );
    db.close();
  });

  it('marks a new database for a reconcile rebuild, and keeps the mark of a single-list database that never finished one', () => {
    const fresh = openReceiverDatabase(newDir());
    assert.equal(new ReconcileStore(fresh).rebuildNeeded(), true);
    fresh.close();

    const dir = newDir();
    singleListDatabase(dir).close(); // new under the single list: needed = 1, the rebuild never stored
    const db = openReceiverDatabase(dir);
    assert.equal(new ReconcileStore(db).rebuildNeeded(), true);
    db.close();
  });

  it('adds the rebuild mark unset to a single-list database that had the reconciler’s tables but not the mark (version 4)', () => {
    const dir = newDir();
    const legacy = singleListDatabase(dir, 4);
    fill(legacy);
    const before = contentsOf(
      legacy,
      tablesOf(legacy).filter((t) => t !== 'relay_cursor'),
    );
    legacy.close();
    const db = openReceiverDatabase(dir);
    assert.deepEqual(sameColumns(contentsOf(db, Object.keys(before)), before), before);
    assert.equal(new ReconcileStore(db).rebuildNeeded(), false, 'it kept its own reconcile state');
    db.close();
  });

  it('runs every part’s migrations in one transaction: a failing part leaves nothing behind, and the next start is still a new database', () => {
    const dir = newDir();
    const broken = { name: 'broken', migrations: ['CREATE TABLE half (id INTEGER PRIMARY KEY); THIS IS NOT SQL'], legacyVersions: [0], postgres: [] };
    assert.throws(() => openDatabase(dir, [OUTBOX_SCHEMA, RECONCILE_SCHEMA, broken]), /syntax error/);
    const left = new SqliteDb(new Database(join(dir, 'unicop.sqlite')));
    assert.deepEqual(tablesOf(left), [], 'neither the outbox’s nor the reconciler’s tables were committed');
    left.close();
    const db = openReceiverDatabase(dir);
    assert.equal(new ReconcileStore(db).rebuildNeeded(), true);
    db.close();
  });
});
