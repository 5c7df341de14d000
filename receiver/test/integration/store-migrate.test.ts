import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../src/database.js';
import { UnicopError, type ErrorCode } from '../../src/errors.js';
import type { DraftEvent } from '../../src/model/event.js';
import { GroupCommit } from '../../src/pipeline/outbox/group-commit.js';
import { OutboxStore, type OutboxRow } from '../../src/pipeline/outbox/outbox-store.js';
import { laneOf } from '../../src/pipeline/publish/lanes.js';
import { registerRouteLanes } from '../../src/pipeline/publish/route-lanes.js';
import { sequenceEvent } from '../../src/pipeline/sequence/sequencer.js';
import { openReceiverDatabase, openReceiverStore, RECEIVER_SCHEMA } from '../../src/receiver-database.js';
import { ReconcileStore } from '../../src/reconcile/reconcile-store.js';
import { restingRecord, type RootRecord } from '../../src/reconcile/state-machine.js';
import { importSqliteStore, type ImportSummary } from '../../src/store/sqlite-to-postgres.js';
import { PostgresDb } from '../../src/store/postgres-db.js';
import { createDatabase } from '../helpers/store.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { markPublished } from '../helpers/relay-lanes.js';

const LANES = 12;
const ROOTS = ['dcim.device:1', 'dcim.device:2', 'dcim.device:3', 'dcim.device:4', 'dcim.device:5', 'dcim.device:6'];
const REJECT_BODY = Buffer.from([0, 255, 1, 254, 0x7b, 0x0a]);

function draft(id: string, root: string, versionKey: string): DraftEvent {
  return {
    versionKey,
    envelope: {
      id,
      partitionkey: root,
      subject: `${root}.interface`,
      type: 'unicop.object.updated',
      time: '2026-01-01T00:00:00Z',
      data: { action: 'updated', superseded: false },
    } as unknown as DraftEvent['envelope'],
  };
}

function groupCommit(store: OutboxStore): GroupCommit {
  return new GroupCommit({ store, sequence: sequenceEvent, onCommit: () => undefined, maxValueBytes: 1 << 20 });
}

function pendingRow(r: OutboxRow): [number, string, string] {
  return [r.pos, r.topic, r.messageId];
}

/** What one SQLite receiver left behind: events of six roots (half published), a reject, reconcile state. */
interface Filled {
  pending: [number, string, string][];
  cursor: number;
  record: RootRecord;
  orphanId: number;
}

async function fill(dir: string, prefix: string): Promise<Filled> {
  const db = openReceiverDatabase(dir);
  try {
    const store = new OutboxStore(db);
    const commit = groupCommit(store);
    let version = 0;
    for (let round = 0; round < 3; round++) {
      for (const root of ROOTS) await commit.appendEvent(draft(`${prefix}-${root}-${round}`, root, String(++version).padStart(20, '0')));
    }
    await commit.appendReject({
      id: `${prefix}-reject`,
      source: 'netbox://test',
      code: 'UNICOP_VALIDATE_SCHEMA',
      message: 'm',
      details: '[]',
      body: REJECT_BODY,
      value: '{}',
    });
    const cursor = 10;
    markPublished(db, cursor);
    store.transaction(() => store.insertMessage('reconcileRequests', ROOTS[0] ?? '', `${prefix}-command`, '{"c":1}', 1000));

    const reconcile = new ReconcileStore(db);
    reconcile.restore([], 1000); // a receiver whose reconcile state is complete: needed = 0
    const record: RootRecord = {
      ...restingRecord(ROOTS[1] ?? ''),
      state: 'pending',
      pendingEvents: [`${prefix}-${ROOTS[1]}-2`],
      pendingEventCount: 1,
      dueAt: 5000,
    };
    reconcile.save(record, 1000);
    reconcile.addAttempt(`${prefix}-attempt`, ROOTS[1] ?? '', 1, 1000, 9000);
    reconcile.markSeen(`${prefix}-${ROOTS[1]}-2`, 1000);
    for (let i = 0; i < 3; i++) reconcile.keepOrphan(null, 'no attempt', `{"n":${i}}`, 1000, 100);
    const orphanId = (db.prepare<[], { id: number }>('SELECT max(id) AS id FROM reconcile_orphans').get()?.id ?? 0) as number;
    return { pending: store.pending(1000).map(pendingRow), cursor, record, orphanId };
  } finally {
    db.close();
  }
}

function refusal(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof UnicopError, `expected an UnicopError, got ${String(error)}`);
    return error.code;
  }
  assert.fail('the import was not refused');
}

function count(db: Db, table: string): number {
  return db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()?.n ?? -1;
}

describe('moving a SQLite store to PostgreSQL (real SQLite, real PostgreSQL)', function () {
  const dirs: string[] = [];
  const urls: string[] = [];
  let admin: string;

  const dataDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'unicop-migrate-'));
    dirs.push(dir);
    return dir;
  };
  const database = (): string => {
    const url = createDatabase();
    urls.push(url);
    return url;
  };
  const importInto = (dir: string, url: string): ImportSummary =>
    importSqliteStore({ dataDir: dir, databaseUrl: url, lanes: LANES, components: RECEIVER_SCHEMA });

  before(() => {
    // Never skipped: the suite provides the server (scripts/test exports it).
    admin = testDatabaseUrl();
  });
  after(() => {
    const db = new PostgresDb(admin);
    try {
      for (const url of urls) db.exec(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
    } finally {
      db.close();
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps positions, pending rows in order, sequences, duplicates and the reconcile state', async () => {
    const dir = dataDir();
    const filled = await fill(dir, 'a');
    const url = database();
    const summary = importInto(dir, url);
    assert.equal(summary.outboxRows, 20, '18 events, a reject, a command');
    assert.equal(summary.events, 18);
    assert.equal(summary.cursor, filled.cursor);
    assert.equal(summary.pending, filled.pending.length);

    const pg = openReceiverStore({ databaseUrl: url, dataDir: dir });
    try {
      const store = new OutboxStore(pg, registerRouteLanes(pg, ['default'], 'default', LANES));
      const pending = store.pending(1000);
      assert.deepEqual(pending.map(pendingRow), filled.pending, 'the same pending rows, the same positions, in commit order');
      assert.ok(
        pending.every((r) => r.pos > filled.cursor),
        'nothing published before is pending again',
      );
      assert.ok(new Set(pending.map((r) => r.lane)).size > 1, 'the rows spread over several lanes');
      for (const r of pending) assert.equal(r.lane, laneOf(LANES)(r.key), `row ${r.pos} is in its key's lane`);
      const lanes = pg.prepare<[], { lane: number; cursor: number; holder: string | null }>('SELECT lane, cursor, holder FROM relay_lanes ORDER BY lane').all();
      assert.deepEqual(
        lanes,
        Array.from({ length: LANES }, (_, lane) => ({ lane, cursor: filled.cursor, holder: null })),
      );

      const commit = groupCommit(store);
      const next = await commit.appendEvent(draft('a-new', ROOTS[0] ?? '', '00000000000000000100'));
      assert.equal(next.status, 'accepted');
      assert.equal(next.event.sequence, 4, 'the root continues at its next sequence');
      const newest = store.pending(1000).at(-1);
      assert.equal(newest?.messageId, 'a-new');
      assert.equal(newest?.pos, 21, 'positions continue past the copied ones');
      const again = await commit.appendEvent(draft(`a-${ROOTS[2]}-1`, ROOTS[2] ?? '', '00000000000000000200'));
      assert.deepEqual([again.status, again.event.sequence], ['duplicate', 2], 'a redelivered event is a duplicate');

      const body = pg.prepare<[string], { body: Buffer }>('SELECT body FROM rejects WHERE id = ?').get('a-reject')?.body;
      assert.ok(body && REJECT_BODY.equals(body), 'the reject keeps its bytes');

      const reconcile = new ReconcileStore(pg);
      assert.equal(reconcile.rebuildNeeded(), false, 'the copied state needs no rebuild');
      assert.deepEqual(reconcile.record(ROOTS[1] ?? ''), filled.record);
      assert.deepEqual(reconcile.attempt('a-attempt'), {
        reconcileId: 'a-attempt',
        root: ROOTS[1],
        attempt: 1,
        requestedAt: 1000,
        deadlineAt: 9000,
        awxJobId: null,
        outcome: null,
      });
      assert.equal(reconcile.seen(`a-${ROOTS[1]}-2`), true);
      reconcile.keepOrphan(null, 'no attempt', '{}', 2000, 100);
      assert.equal(pg.prepare<[], { id: number }>('SELECT max(id) AS id FROM reconcile_orphans').get()?.id, filled.orphanId + 1, 'orphan ids continue');
    } finally {
      pg.close();
    }
  });

  it('refuses a target that already holds data, writing nothing', async () => {
    const first = dataDir();
    await fill(first, 'a');
    const url = database();
    importInto(first, url);
    const second = dataDir();
    await fill(second, 'b');
    assert.equal(
      refusal(() => importInto(second, url)),
      'UNICOP_STORE_TARGET_NOT_EMPTY',
    );
    const pg = new PostgresDb(url);
    try {
      assert.equal(count(pg, 'outbox'), 20);
      assert.equal(count(pg, 'events'), 18);
      assert.equal(count(pg, "events WHERE id LIKE 'b-%'"), 0);
    } finally {
      pg.close();
    }
  });

  it('refuses a SQLite file a receiver still has open, then imports it once it is closed', async () => {
    const dir = dataDir();
    await fill(dir, 'a');
    const url = database();
    const running = openReceiverDatabase(dir);
    try {
      assert.equal(
        refusal(() => importInto(dir, url)),
        'UNICOP_STORE_SOURCE_IN_USE',
      );
    } finally {
      running.close();
    }
    assert.equal(importInto(dir, url).events, 18);
  });

  it('refuses a SQLite file whose schema is not current, and a data directory without one', async () => {
    const dir = dataDir();
    await fill(dir, 'a');
    const db = openReceiverDatabase(dir);
    db.exec("UPDATE schema_versions SET version = version - 1 WHERE component = 'outbox'");
    db.close();
    const url = database();
    assert.equal(
      refusal(() => importInto(dir, url)),
      'UNICOP_STORE_SOURCE_NOT_CURRENT',
    );
    const empty = dataDir();
    assert.equal(
      refusal(() => importInto(empty, url)),
      'UNICOP_STORE_SOURCE_UNREADABLE',
    );
    assert.equal(existsSync(join(empty, 'unicop.sqlite')), false, 'no file is created');
    const pg = new PostgresDb(url);
    try {
      assert.equal(pg.prepare("SELECT 1 FROM information_schema.tables WHERE table_name = 'outbox'").get(), undefined, 'the target untouched');
    } finally {
      pg.close();
    }
  });

  it('runs as a command: rows per table, then IMPORTED as the last line', async () => {
    const dir = dataDir();
    await fill(dir, 'a');
    const url = database();
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'receiver/src/store/migrate-main.ts', dir],
        { env: { PATH: process.env.PATH ?? '', UNICOP_DATABASE_URL: url, UNICOP_TOPIC_PARTITIONS: String(LANES) } },
        (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err }),
      );
    });
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines.at(-1), 'IMPORTED 20 outbox rows, 18 events');
    assert.ok(
      lines.some((l) => /^reconcile_roots\s+1$/.test(l)),
      stdout,
    );
    const refused = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'receiver/src/store/migrate-main.ts', dir],
        { env: { PATH: process.env.PATH ?? '', UNICOP_DATABASE_URL: url } },
        (error, _out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr: err }),
      );
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^UNICOP_STORE_TARGET_NOT_EMPTY: /);
  });
});
