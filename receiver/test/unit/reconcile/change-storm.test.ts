/**
 * Issue 9 item 3: a change storm on one root while an attempt is in flight. Before event samples,
 * every change re-published the root's whole follow-up list (O(n²) bytes on the state topic).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDb } from '../../../src/database.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { MAX_MESSAGE_BYTES } from '../../../src/pipeline/publish/topics.js';
import { EVENT_SAMPLE_EDGE } from '../../../src/reconcile/event-sample.js';
import type { ReconcileRule } from '../../../src/reconcile/reconcile-policy.js';
import { restoreRoot, type StateMessage } from '../../../src/reconcile/state-restore.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { objectEventRecord, unitReconciler } from '../../helpers/reconciler.js';
import { assertOutboxMessagesValid } from '../../helpers/message-schemas.js';

const ROOT = 'dcim.device:42';
const STORM = 5000;
/** What one change may add to the state topic, whatever came before it: one state message of bounded size. */
const BYTES_PER_CHANGE = 8 * 1024;
const rule: ReconcileRule = {
  match: { rootType: 'dcim.device' },
  jobTemplate: { name: 'reconcile-device', organization: 'Default' },
  debounceMs: 1000,
  deadlineMs: 3_600_000,
  retry: {},
};
const registry = new SchemaRegistry();
const isCommand = registry.validator('reconcile-command.v1.schema.json');
const isState = registry.validator<StateMessage>('root-state.v1.schema.json');
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('reconciler under a change storm (real SQLite)', function () {
  this.timeout(120_000);
  let dir: string;
  let db: SqliteDb;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-storm-'));
    db = openReceiverDatabase(dir);
    // The test's own throwaway database: an fsync per transaction would only make it slow.
    db.pragma('synchronous = OFF');
  });
  afterEach(() => {
    try {
      assertOutboxMessagesValid(db); // every message these tests wrote matches the schema it names
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  function setUp() {
    let now = Date.UTC(2026, 0, 1);
    let ids = 0;
    const { reconciler, store } = unitReconciler(db, { policy: { version: 1, rules: [rule] }, now: () => now, newId: () => uuid(++ids) });
    let offset = 0;
    const change = (eventId: string) =>
      reconciler.handleEvent({
        topic: 't.events.v1',
        partition: 0,
        offset: String(offset++),
        raw: objectEventRecord(eventId, ROOT),
      });
    const advance = (ms: number) => {
      now += ms;
      reconciler.tick();
    };
    return { store, reconciler, change, advance };
  }
  const rows = (topic: string, afterPos = 0) =>
    db.prepare<[string, number], { pos: number; value: string }>('SELECT pos, value FROM outbox WHERE topic = ? AND pos > ? ORDER BY pos').all(topic, afterPos);

  it('writes a bounded state message per change, keeps every message under the limit, and issues exactly one follow-up', () => {
    const { store, reconciler, change, advance } = setUp();
    change(uuid(100_000));
    advance(1000);
    const [first, ...more] = rows('reconcileRequests');
    assert.ok(first && more.length === 0, 'one command in flight before the storm');

    let lastPos = rows('rootsState').at(-1)!.pos;
    let stormBytes = 0;
    const stormIds = Array.from({ length: STORM }, (_, i) => uuid(200_000 + i));
    for (const [i, id] of stormIds.entries()) {
      change(id);
      const written = rows('rootsState', lastPos);
      assert.equal(written.length, 1, `change ${i + 1} writes one state message`);
      const bytes = Buffer.byteLength(written[0]!.value);
      assert.ok(bytes <= BYTES_PER_CHANGE, `change ${i + 1} wrote ${bytes} bytes of state, over the constant bound ${BYTES_PER_CHANGE}`);
      stormBytes += bytes;
      lastPos = written[0]!.pos;
    }
    assert.ok(stormBytes <= STORM * BYTES_PER_CHANGE, 'state-topic bytes grow linearly with the changes');
    assert.equal(store.record(ROOT).followUpEventCount, STORM);

    // The latest state message still restores the root exactly (the rebuild path).
    const latest = rows('rootsState').at(-1)!.value;
    const restored = restoreRoot(ROOT, latest, isState, () =>
      registry
        .lastErrors('root-state.v1.schema.json')
        .map((e) => e.message)
        .join('; '),
    );
    assert.equal(restored.kind, 'restored');
    if (restored.kind === 'restored') assert.deepEqual(restored.root.record, store.record(ROOT));

    const reconcileId = (JSON.parse(first.value) as { data: { reconcileId: string } }).data.reconcileId;
    assert.equal(reconciler.notify({ id: 7, status: 'successful', extra_vars: JSON.stringify({ unicop_reconcile_id: reconcileId }) }), 'applied');
    advance(1000);
    advance(1000);
    const commands = rows('reconcileRequests').map(
      (r) =>
        JSON.parse(r.value) as {
          data: { triggeringEvents: string[]; triggeringEventCount: number; extraVars: { unicop_events: string[]; unicop_event_count: number } };
        },
    );
    assert.equal(commands.length, 2, 'exactly one follow-up after the outcome');
    const followUp = commands[1]!;
    assert.ok(isCommand(followUp), 'the follow-up matches schemas/reconcile-command.v1.schema.json');
    assert.equal(followUp.data.triggeringEventCount, STORM);
    assert.equal(followUp.data.extraVars.unicop_event_count, STORM);
    const edge = EVENT_SAMPLE_EDGE;
    assert.deepEqual(
      followUp.data.triggeringEvents,
      [...stormIds.slice(0, edge), ...stormIds.slice(STORM - edge)],
      'the sample is the first and the last events',
    );
    assert.deepEqual(followUp.data.extraVars.unicop_events, followUp.data.triggeringEvents);

    const largest = db.prepare<[], { n: number }>('SELECT max(length(CAST(value AS BLOB))) AS n FROM outbox').get()!.n;
    assert.ok(largest < MAX_MESSAGE_BYTES, `every message the reconciler wrote is under ${MAX_MESSAGE_BYTES} bytes (largest ${largest})`);
  });

  it('restores a state message of an older receiver (plain id lists, no counts) as a sample with the list length as count', () => {
    const { store, change, advance } = setUp();
    change(uuid(1));
    advance(1000);
    for (let i = 0; i < 3; i++) change(uuid(10 + i));
    const message = JSON.parse(rows('rootsState').at(-1)!.value) as { data: Record<string, unknown> & { inFlight: Record<string, unknown> } };
    // What a receiver before event samples published: every id, no counts.
    const old = Array.from({ length: 100 }, (_, i) => uuid(1000 + i));
    delete message.data.pendingEventCount;
    delete message.data.followUpEventCount;
    delete message.data.inFlight.triggeringEventCount;
    message.data.followUpEvents = old;
    const restored = restoreRoot(ROOT, JSON.stringify(message), isState, () =>
      registry
        .lastErrors('root-state.v1.schema.json')
        .map((e) => e.message)
        .join('; '),
    );
    assert.equal(restored.kind, 'restored', restored.kind === 'skipped' ? restored.detail : '');
    if (restored.kind !== 'restored') return;
    const r = restored.root.record;
    assert.equal(r.followUpEventCount, 100);
    assert.deepEqual(r.followUpEvents, [...old.slice(0, EVENT_SAMPLE_EDGE), ...old.slice(100 - EVENT_SAMPLE_EDGE)]);
    assert.deepEqual([r.inFlight?.eventCount, r.inFlight?.events], [1, [uuid(1)]]);
    assert.equal(store.record(ROOT).followUpEventCount, 3);
  });
});
