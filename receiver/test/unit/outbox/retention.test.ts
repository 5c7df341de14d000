import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/log.js';
import type { SqliteDb } from '../../../src/database.js';
import { markPublished } from '../../helpers/relay-lanes.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { Retention, type RetentionTable } from '../../../src/pipeline/outbox/retention.js';
import { ReconcileStore } from '../../../src/reconcile/reconcile-store.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-01T00:00:00Z');
const OLD = NOW - 20 * DAY;
const YOUNG = NOW - 1 * DAY;
const ROOT = 'dcim.device:1';

describe('retention (real SQLite, injected clock)', () => {
  let dir: string;
  let db: SqliteDb;
  let store: OutboxStore;
  let reconcile: ReconcileStore;
  let lines: Record<string, unknown>[];
  let pruned: [RetentionTable, number][];
  let overCap: RetentionTable[];
  let seq: number;

  const count = (table: string): number => db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
  const event = (id: string, at: number): void => {
    seq++;
    store.insertEvent(
      {
        id,
        root: ROOT,
        rootSequence: seq,
        subject: `dcim.interface:${seq}`,
        type: 'unicop.object.updated',
        time: new Date(at).toISOString(),
        superseded: false,
        versionMark: `v${seq}`,
        requestId: null,
        action: 'updated',
        actorUser: 'alice',
        value: JSON.stringify({ data: { action: 'updated', actor: { user: 'alice' } } }),
      },
      at,
    );
  };
  const retention = (over: { maxRows?: number; maxRejects?: number; batchRows?: number } = {}): Retention =>
    new Retention({
      db,
      publishedThrough: () => store.publishedThrough(),
      retentionDays: 14,
      maxRows: over.maxRows ?? 1_000_000,
      maxRejects: over.maxRejects ?? 10_000,
      batchRows: over.batchRows ?? 500,
      now: () => NOW,
      metrics: { pruned: (table, rows) => pruned.push([table, rows]), overCap: (table) => overCap.push(table) },
      log: createLogger(
        'info',
        new Writable({ write: (chunk: Buffer, _e, done) => done(void lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)) }),
      ),
    });
  const prunedOf = (table: RetentionTable): number => pruned.filter(([t]) => t === table).reduce((sum, [, n]) => sum + n, 0);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-retention-'));
    db = openReceiverDatabase(dir);
    store = new OutboxStore(db);
    reconcile = new ReconcileStore(db);
    lines = [];
    pruned = [];
    overCap = [];
    seq = 0;
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prunes published rows older than the retention and keeps unpublished rows, young rows, attempts in flight, roots and object versions', async () => {
    store.transaction(() => {
      for (const id of ['old-1', 'old-2', 'old-3']) event(id, OLD);
      store.insertReject(
        { id: 'rej-old', source: 's', code: 'UNICOP_VALIDATE_SCHEMA', message: 'm', details: '[]', body: Buffer.from('{}'), value: '{}' },
        OLD,
      );
      store.insertMessage('rootsState', ROOT, 'state-old', '{}', OLD);
    });
    markPublished(db, 5); // old-1..3, the reject notice and the state message are on Kafka
    store.transaction(() => event('old-unpublished', OLD)); // pos 6: Kafka has not acknowledged it (old, say, after a long outage)
    store.transaction(() => event('young', YOUNG));
    store.markChangelogSeen('default', 1, 'old-1', OLD);
    store.markChangelogSeen('default', 2, 'young', YOUNG);
    reconcile.markSeen('old-1', OLD);
    reconcile.markSeen('young', YOUNG);
    reconcile.addAttempt('done', ROOT, 1, OLD, OLD + 60_000);
    reconcile.setOutcome({ reconcileId: 'done', result: 'succeeded' } as unknown as Parameters<ReconcileStore['setOutcome']>[0]);
    reconcile.addAttempt('in-flight', ROOT, 2, OLD, OLD + 60_000);
    reconcile.keepOrphan(null, 'unknown_job', '{}', OLD, 1000);
    reconcile.keepOrphan(null, 'unknown_job', '{}', YOUNG, 1000);
    const roots = count('roots');
    const versions = count('object_versions');

    await retention().pass();

    assert.deepEqual(db.raw.prepare('SELECT id FROM events ORDER BY sequence').pluck().all(), ['old-unpublished', 'young']);
    assert.deepEqual(
      db.raw.prepare('SELECT message_id FROM outbox ORDER BY pos').pluck().all(),
      ['old-unpublished', 'young'],
      'published old rows gone, the unpublished one kept',
    );
    assert.equal(store.depth(), 2, 'still waiting for Kafka');
    assert.equal(count('rejects'), 0);
    assert.deepEqual(db.raw.prepare('SELECT changelog_id FROM changelog_seen').pluck().all(), [2]);
    assert.deepEqual(db.raw.prepare('SELECT event_id FROM reconcile_events_seen').pluck().all(), ['young']);
    assert.deepEqual(db.raw.prepare('SELECT reconcile_id FROM reconcile_attempts').pluck().all(), ['in-flight'], 'an attempt in flight is never pruned');
    assert.equal(count('reconcile_orphans'), 1);
    assert.equal(count('roots'), roots, 'roots are never pruned');
    assert.equal(count('object_versions'), versions, 'object versions are never pruned');
    assert.equal(store.lastSequence(ROOT), 5, 'sequencing continues where it was');
    const timeline = store.timeline(ROOT, null, 10);
    assert.deepEqual(
      timeline.map((e) => [e.id, e.action, e.user, e.published]),
      [
        ['young', 'updated', 'alice', false],
        ['old-unpublished', 'updated', 'alice', false],
      ],
    );
    assert.deepEqual(
      Object.fromEntries(
        (['events', 'rejects', 'outbox', 'changelog_seen', 'reconcile_events_seen', 'reconcile_attempts', 'reconcile_orphans'] as const).map((t) => [
          t,
          prunedOf(t),
        ]),
      ),
      { events: 3, rejects: 1, outbox: 5, changelog_seen: 1, reconcile_events_seen: 1, reconcile_attempts: 1, reconcile_orphans: 1 },
    );
    const passLines = lines.filter((l) => l.msg === 'retention pass pruned rows');
    assert.equal(passLines.length, 1);
    assert.deepEqual((passLines[0]!.pruned as Record<string, number>).outbox, 5);

    lines = [];
    await retention().pass();
    assert.equal(lines.filter((l) => l.msg === 'retention pass pruned rows').length, 0, 'a pass that prunes nothing logs nothing');
  });

  it('prunes the oldest rows beyond a row cap, but keeps events younger than the retention over it, warning and counting', async () => {
    store.transaction(() => {
      for (let i = 1; i <= 6; i++) event(`young-${i}`, YOUNG + i);
      for (let i = 1; i <= 4; i++)
        store.insertReject(
          { id: `rej-${i}`, source: 's', code: 'UNICOP_VALIDATE_SCHEMA', message: 'm', details: '[]', body: Buffer.from('{}'), value: '{}' },
          YOUNG + 10 + i,
        );
    });
    markPublished(db, 10);
    for (let i = 1; i <= 6; i++) store.markChangelogSeen('default', i, null, YOUNG + i);

    await retention({ maxRows: 3, maxRejects: 2 }).pass();

    assert.equal(count('events'), 6, 'the dedupe index keeps every event younger than the retention');
    assert.deepEqual(db.raw.prepare('SELECT id FROM rejects ORDER BY received_at').pluck().all(), ['rej-3', 'rej-4'], 'rejects: the oldest beyond the cap go');
    assert.deepEqual(db.raw.prepare('SELECT changelog_id FROM changelog_seen ORDER BY changelog_id').pluck().all(), [4, 5, 6]);
    // The outbox is pruned below one position: the oldest row still referenced by a kept event or reject.
    assert.equal(count('outbox'), 10, 'outbox rows at or above the oldest kept event stay (the timeline joins them)');
    assert.equal(store.timeline(ROOT, null, 10).length, 6);
    assert.ok(overCap.includes('events'), 'counted');
    const warning = lines.find((l) => l.msg === 'table over its row cap; its remaining rows are kept' && l.table === 'events');
    assert.ok(warning, 'warned');
    assert.equal(warning.rows, 6);
  });

  it('deletes in small steps, each within the batch size', async () => {
    store.transaction(() => {
      for (let i = 1; i <= 7; i++) event(`old-${i}`, OLD);
    });
    markPublished(db, 7);
    await retention({ batchRows: 2 }).pass();
    assert.equal(count('events'), 0);
    assert.equal(count('outbox'), 0);
    assert.ok(
      pruned.every(([, n]) => n <= 2),
      `steps of at most 2 rows: ${JSON.stringify(pruned)}`,
    );
    assert.equal(prunedOf('events'), 7);
    assert.ok(pruned.filter(([t]) => t === 'events').length >= 4);
  });
});
