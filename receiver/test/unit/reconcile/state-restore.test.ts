import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createLogger } from '../../../src/log.js';
import type { Db } from '../../../src/database.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import type { ReconcileRule } from '../../../src/reconcile/reconcile-policy.js';
import { ReconcileStore } from '../../../src/reconcile/reconcile-store.js';
import { Reconciler, stateData } from '../../../src/reconcile/reconciler.js';
import { rebuildUntilDone, type RebuildMetrics } from '../../../src/reconcile/state-rebuild.js';
import { keepLatest, restoreRoot, type StateMessage, type StateTopicMessage } from '../../../src/reconcile/state-restore.js';
import { restingRecord, step, type Input, type RootRecord } from '../../../src/reconcile/state-machine.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { SILENT_METRICS, SINGLE_CELL, objectEventRecord } from '../../helpers/reconciler.js';

const SCHEMA = 'root-state.v1.schema.json';
const registry = new SchemaRegistry();
const isStateMessage = registry.validator<StateMessage>(SCHEMA);
const schemaErrors = () =>
  registry
    .lastErrors(SCHEMA, 3)
    .map((e) => `${e.pointer}: ${e.message}`)
    .join('; ');
const restore = (key: string, value: string) => restoreRoot(key, value, isStateMessage, schemaErrors);

const ROOT = 'dcim.device:42';
const rule: ReconcileRule = {
  match: { rootType: 'dcim.device' },
  jobTemplate: { name: 'reconcile-device', organization: 'Default' },
  debounceMs: 1000,
  deadlineMs: 60_000,
  retry: { transient: 1 },
};
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** The message as the reconciler's envelope carries it (reconciler.ts `transact`). */
function message(record: RootRecord, at = 0): string {
  return JSON.stringify({
    specversion: '1.0',
    id: uuid(999),
    source: 'netbox://test',
    type: 'unicop.root.state',
    subject: record.root,
    time: new Date(at).toISOString(),
    datacontenttype: 'application/json',
    dataschema: 'https://unicop.dev/schemas/root-state.v1.schema.json',
    data: stateData(record),
  });
}

describe('reconcile state restore (pure)', () => {
  it('keeps the last value per key, and a tombstone deletes the key until a newer value comes', () => {
    const latest = new Map<string, string>();
    const messages: StateTopicMessage[] = [
      { key: 'a', value: 'a1' },
      { key: 'b', value: 'b1' },
      { key: 'a', value: 'a2' },
      { key: 'b', value: null },
      { key: 'c', value: 'c1' },
      { key: 'c', value: null },
      { key: 'c', value: 'c2' },
    ];
    for (const m of messages) keepLatest(latest, m);
    assert.deepEqual(
      [...latest],
      [
        ['a', 'a2'],
        ['c', 'c2'],
      ],
    );
  });

  it('restores exactly every record the state machine reaches, with its attempt in flight', () => {
    const input = fc.oneof(
      fc.record({ kind: fc.constant('change' as const), eventId: fc.integer({ min: 1, max: 500 }).map(uuid), dt: fc.nat(3000) }),
      fc.record({ kind: fc.constant('tick' as const), dt: fc.nat(90_000) }),
      fc.record({ kind: fc.constant('started' as const), awxJobId: fc.option(fc.nat(1000)), dt: fc.nat(3000) }),
      fc.record({ kind: fc.constant('finished' as const), ok: fc.boolean(), awxJobId: fc.option(fc.nat(1000)), dt: fc.nat(3000) }),
    );
    fc.assert(
      fc.property(fc.array(input, { maxLength: 40 }), (inputs) => {
        let record = restingRecord(ROOT);
        let now = Date.UTC(2026, 0, 1);
        let ids = 0;
        for (const i of inputs) {
          now += i.dt;
          const current = record.inFlight?.reconcileId ?? uuid(0);
          const next: Input =
            i.kind === 'change'
              ? { kind: 'change', eventId: i.eventId, rule, now }
              : i.kind === 'tick'
                ? { kind: 'tick', now }
                : i.kind === 'started'
                  ? { kind: 'started', reconcileId: current, awxJobId: i.awxJobId, now }
                  : {
                      kind: 'finished',
                      reconcileId: current,
                      result: i.ok ? 'succeeded' : 'failed',
                      class: i.ok ? null : 'transient',
                      message: 'm',
                      awxJobId: i.awxJobId,
                      now,
                    };
          record = step(record, next, () => uuid(1000 + ++ids)).record;
          const restored = restore(ROOT, message(record, now));
          assert.equal(restored.kind, 'restored', restored.kind === 'skipped' ? `${restored.reason}: ${restored.detail}` : '');
          if (restored.kind !== 'restored') return;
          assert.deepEqual(restored.root.record, record);
          const f = record.inFlight;
          assert.deepEqual(
            restored.root.attempt,
            f && {
              reconcileId: f.reconcileId,
              root: ROOT,
              attempt: f.attempt,
              requestedAt: Date.parse(f.requestedAt),
              deadlineAt: Date.parse(f.deadline),
              awxJobId: f.awxJobId,
            },
          );
          assert.equal(restored.root.at, now);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('skips a value that is not JSON, breaks the schema, or contradicts the state machine, and says why', () => {
    const pending = step(restingRecord(ROOT), { kind: 'change', eventId: uuid(1), rule, now: 0 }, () => uuid(2)).record;
    const requested = step(pending, { kind: 'tick', now: 1000 }, () => uuid(3)).record;
    const skipped = (key: string, value: string): [string, string] => {
      const r = restore(key, value);
      return r.kind === 'skipped' ? [r.reason, r.detail] : ['restored', ''];
    };

    assert.deepEqual(skipped(ROOT, '{"truncated'), ['not_json', 'the value is not JSON']);
    // A message of a receiver from before the restore fields (the API view fields only).
    const legacy = JSON.parse(message(requested)) as { data: Record<string, unknown> };
    delete legacy.data.rule;
    const [reason, detail] = skipped(ROOT, JSON.stringify(legacy));
    assert.equal(reason, 'schema');
    assert.match(detail, /missing property "rule"/);
    assert.deepEqual(skipped('dcim.device:43', message(requested)).slice(0, 1), ['inconsistent'], 'key and root differ');
    assert.deepEqual(skipped(ROOT, message({ ...requested, inFlight: null })), ['inconsistent', 'state requested with inFlight null']);
    assert.deepEqual(skipped(ROOT, message({ ...pending, dueAt: null })), ['inconsistent', 'state pending with dueAt null']);
    assert.deepEqual(skipped(ROOT, message({ ...requested, rule: null })), ['inconsistent', 'state requested without the rule of its cycle']);
  });
});

describe('reconcile state rebuild (real SQLite)', () => {
  let dirs: string[] = [];
  const open = (dir?: string): { db: Db; dir: string } => {
    const path = dir ?? mkdtempSync(join(tmpdir(), 'unicop-rebuild-'));
    if (!dir) dirs.push(path);
    return { db: openReceiverDatabase(path), dir: path };
  };
  const silent = createLogger('silent');
  afterEach(() => {
    for (const path of dirs) rmSync(path, { recursive: true, force: true });
    dirs = [];
  });

  it('a new database refuses reads (503) until the rebuild is stored; a reopened one does not ask again', () => {
    const { db, dir } = open();
    const store = new ReconcileStore(db);
    assert.equal(store.rebuildNeeded(), true);
    assert.throws(() => store.record(ROOT), { code: 'UNICOP_RECONCILE_REBUILDING', httpStatus: 503 });
    db.close();
    const again = new ReconcileStore(open(dir).db);
    assert.equal(again.rebuildNeeded(), true, 'a crash before the rebuild was stored leaves the mark: the next start rebuilds');
    again.restore([], 0);
    assert.equal(again.rebuilding, false);
    assert.equal(new ReconcileStore(open(dir).db).rebuildNeeded(), false);
  });

  it('restores once on a shared store: a second receiver’s later rebuild writes nothing over the first one’s state', () => {
    const { db } = open();
    const first = new ReconcileStore(db);
    const second = new ReconcileStore(db); // another receiver, started on the same new database
    assert.deepEqual([first.rebuildNeeded(), second.rebuildNeeded()], [true, true]);
    assert.equal(first.restore([], 0), true);
    const moved = { ...first.record(ROOT), state: 'pending' as const, dueAt: 1 };
    first.save(moved, 1); // the first receiver reconciles on
    // what the state topic said before the first receiver moved on
    const stale = [{ record: { ...restingRecord(ROOT), state: 'succeeded' as const }, attempt: null, at: 0 }];
    assert.equal(second.restore(stale, 0), false, 'the mark was cleared: nothing restored');
    assert.equal(second.rebuilding, false, 'and the second reads the shared state from now on');
    assert.equal(second.record(ROOT).state, 'pending', 'the first receiver’s newer state stays');
  });

  it('restores from the messages a reconciler published: the same records, attempts and wake-up times', () => {
    const published: Array<{ key: string; value: string }> = [];
    const original = new ReconcileStore(open().db);
    original.restore([], 0);
    let now = Date.UTC(2026, 0, 1);
    let ids = 0;
    const reconciler = new Reconciler({
      policy: { version: 1, rules: [rule] },
      store: original,
      outbox: {
        insertMessage: (topic, key, _id, value) => void (topic === 'rootsState' && published.push({ key, value })),
        insertReject: () => assert.fail('no record here is poison'),
      },
      onCommit: () => undefined,
      source: 'netbox://test',
      registry,
      ownership: SINGLE_CELL,
      metrics: SILENT_METRICS,
      log: silent,
      now: () => now,
      newId: () => uuid(++ids),
    });
    const change = (device: number) =>
      reconciler.handleEvent({
        topic: 't.events.v1',
        partition: 0,
        offset: String(ids),
        raw: objectEventRecord(uuid(5000 + ++ids), `dcim.device:${device}`),
      });
    const awx = (device: number, status: string) => {
      const id = original.record(`dcim.device:${device}`).inFlight!.reconcileId;
      reconciler.notify({ id: 900 + device, status, extra_vars: JSON.stringify({ unicop_reconcile_id: id }) });
    };
    for (const device of [1, 2, 3, 4]) change(device);
    now += 1000;
    reconciler.tick(); // 1..4 requested
    change(5); // pending
    awx(1, 'successful');
    awx(2, 'running');
    change(2); // follow-up during flight
    awx(3, 'failed');
    awx(4, 'error'); // transient: a retry by policy, attempt 2 in flight

    const latest = new Map<string, string>();
    for (const m of published) keepLatest(latest, m);
    const restored = [...latest].map(([key, value]) => restore(key, value));
    const target = new ReconcileStore(open().db);
    target.restore(
      restored.flatMap((r) => (r.kind === 'restored' ? [r.root] : [])),
      now,
    );

    const roots = [1, 2, 3, 4, 5].map((device) => `dcim.device:${device}`);
    assert.deepEqual(
      roots.map((r) => target.record(r)),
      roots.map((r) => original.record(r)),
    );
    assert.deepEqual(
      roots.map((r) => original.record(r).state),
      ['succeeded', 'running', 'failed', 'requested', 'pending'],
    );
    for (const r of roots) {
      const inFlight = original.record(r).inFlight;
      if (inFlight) assert.deepEqual(target.attempt(inFlight.reconcileId), original.attempt(inFlight.reconcileId));
    }
    for (const t of [now, now + 1000, now + 60_000, now + 120_000])
      assert.deepEqual(target.dueRoots(t).sort(), original.dueRoots(t).sort(), `due roots at +${t - now} ms`);
    assert.deepEqual(
      target
        .unresolvedPastHalf(now + 30_000, 100)
        .map((a) => a.reconcileId)
        .sort(),
      original
        .unresolvedPastHalf(now + 30_000, 100)
        .map((a) => a.reconcileId)
        .sort(),
    );
    assert.ok(target.seen(original.record('dcim.device:2').followUpEvents[0]!), 'events the restored records cover count as seen');
  });

  it('retries while the topic cannot be read, then restores once and counts what it skipped', async () => {
    const store = new ReconcileStore(open().db);
    const counts = { failed: 0, restored: [] as string[], skipped: [] as string[], rebuilding: [] as boolean[] };
    const metrics: RebuildMetrics = {
      rebuilding: (on) => counts.rebuilding.push(on),
      restored: (s) => counts.restored.push(s),
      skipped: (r) => counts.skipped.push(r),
      failed: () => counts.failed++,
    };
    const pending = step(restingRecord(ROOT), { kind: 'change', eventId: uuid(1), rule, now: 0 }, () => uuid(2)).record;
    let tries = 0;
    const summary = await rebuildUntilDone({
      read: async (onMessage) => {
        if (++tries < 3) throw new Error('broker down');
        onMessage({ key: ROOT, value: message(pending) });
        onMessage({ key: 'dcim.device:9', value: 'not json' });
        onMessage({ key: 'dcim.device:10', value: message(pending) });
        onMessage({ key: 'dcim.device:10', value: null });
        return { exists: true, partitions: 3, messages: 4 };
      },
      topic: 't.roots.state.v1',
      store,
      isStateMessage,
      schemaErrors,
      stopped: () => false,
      metrics,
      log: silent,
    });
    assert.deepEqual(summary, { restored: 1, inFlight: 0, skipped: 1, messages: 4 });
    assert.deepEqual(counts, { failed: 2, restored: ['pending'], skipped: ['not_json'], rebuilding: [true, false] });
    assert.equal(store.record(ROOT).dueAt, pending.dueAt, 'the debounce end survives');
    assert.equal(store.rebuildNeeded(), false);
  });

  it('gives up without touching the store when stopped', async () => {
    const store = new ReconcileStore(open().db);
    const summary = await rebuildUntilDone({
      read: () => Promise.reject(new Error('broker down')),
      topic: 't.roots.state.v1',
      store,
      isStateMessage,
      schemaErrors,
      stopped: (() => {
        let calls = 0;
        return () => ++calls > 1;
      })(),
      metrics: { rebuilding: () => undefined, restored: () => undefined, skipped: () => undefined, failed: () => undefined },
      log: silent,
    });
    assert.equal(summary, null);
    assert.equal(store.rebuildNeeded(), true);
  });
});
