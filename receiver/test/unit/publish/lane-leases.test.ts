import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDb } from '../../../src/database.js';
import { createLogger } from '../../../src/log.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { LaneLeases } from '../../../src/pipeline/publish/lane-leases.js';
import { laneRelayStore } from '../../../src/pipeline/publish/lane-relay-store.js';
import { registerRouteLanes, type LaneMap } from '../../../src/pipeline/publish/route-lanes.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';

const TTL = 10_000;
const LANES = 6;

/**
 * Relay lanes shared by several receivers, played out on one store with a clock of our own: two
 * `LaneLeases` on one database behave as two receivers on one PostgreSQL (the lease logic is the
 * same SQL on both stores; the shared PostgreSQL runs are in integration/scale-out.test.ts).
 */
describe('relay lanes: leases, fair share, takeover, fencing (one store, several holders)', () => {
  let dir: string;
  let db: SqliteDb;
  let now: number;
  const counts = { takenOver: 0, lost: 0 };
  const lanes = (): LaneMap => registerRouteLanes(db, ['default'], 'default', LANES);
  const leases = (holder: string): LaneLeases =>
    new LaneLeases({
      db,
      route: 'default',
      lanes: lanes().lanesOf('default'),
      holder,
      ttlMs: TTL,
      exclusive: false,
      metrics: { held: () => undefined, takenOver: () => counts.takenOver++, lost: () => counts.lost++ },
      log: createLogger('silent'),
      now: () => now,
    });
  const held = (l: LaneLeases): number[] => [...l.publishable().keys()].sort();
  /** Two receivers that joined one after the other and shared the lanes out (as the first test plays it step by step). */
  const sharing = (): [LaneLeases, LaneLeases] => {
    const a = leases('a');
    const b = leases('b');
    a.tick();
    b.tick();
    a.tick();
    a.settle();
    b.tick();
    return [a, b];
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-lanes-'));
    db = openReceiverDatabase(dir);
    now = 1_000_000;
    counts.takenOver = 0;
    counts.lost = 0;
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives one receiver every lane, and shares them out when a second joins (between batches)', () => {
    const a = leases('a');
    a.tick();
    assert.deepEqual(held(a), [0, 1, 2, 3, 4, 5]);
    const b = leases('b');
    b.tick(); // b is a member now, but every lane is held
    assert.deepEqual(held(b), []);
    a.tick(); // a learns its fair share (3) ...
    a.settle(); // ... and gives the rest back between batches
    b.tick();
    assert.equal(held(a).length, 3);
    assert.equal(held(b).length, 3);
    assert.deepEqual([...held(a), ...held(b)].sort(), [0, 1, 2, 3, 4, 5], 'each lane has one holder');
  });

  it('moves a dead receiver’s lanes once its lease ran out, not before, and fences its cursor writes', () => {
    const [a, b] = sharing();
    const aLanes = held(a);
    const generation = a.generationOf(aLanes[0]!)!;

    // a dies: it stops renewing. Before its lease ran out b takes nothing of it.
    now += TTL - 1;
    b.tick();
    assert.equal(held(b).length, 3);
    now += 2;
    b.tick();
    assert.deepEqual(held(b), [0, 1, 2, 3, 4, 5], 'every lane is b’s after the lease ran out');
    assert.equal(counts.takenOver, 3);

    // a comes back (a long pause, not a death): its cursor write carries the old generation and is refused.
    const store = new OutboxStore(db);
    assert.equal(store.advanceLane(aLanes[0]!, 99, 'a', generation), false, 'fenced');
    const view = laneRelayStore(store, a, 'unicop');
    view.markPublished([{ pos: 99, lane: aLanes[0]!, topic: 'events', key: 'k', messageId: 'm', value: '{}', acceptedAt: now }]);
    assert.equal(counts.lost, 1, 'a learns it lost the lane and lets it go');
    assert.equal(a.generationOf(aLanes[0]!), undefined);
    a.tick();
    assert.equal(held(a).length, 0, 'a renews nothing it lost');
  });

  it('stops offering a lane for sending when less than a third of its lease is left', () => {
    const a = leases('a');
    a.tick();
    now += Math.ceil((TTL * 2) / 3);
    assert.deepEqual(held(a), [], 'no send may outlive the lease');
    a.tick();
    assert.equal(held(a).length, LANES, 'renewed: sendable again');
  });

  it('reads, per holder, only the rows of its lanes, in commit order, and records them per lane', () => {
    const store = new OutboxStore(db, lanes());
    const [a, b] = sharing();
    const keys = Array.from({ length: 30 }, (_, i) => `dcim.device:${i}`);
    store.transaction(() => keys.forEach((k, i) => store.insertMessage('events', k, `m${i}`, '{}', now)));
    const viewA = laneRelayStore(store, a, 'unicop');
    const viewB = laneRelayStore(store, b, 'unicop');
    const own = (view: typeof viewA): number[] => view.lanes().map((l) => l.lane);
    const rowsA = viewA.pending(100, own(viewA));
    const rowsB = viewB.pending(100, own(viewB));
    assert.equal(rowsA.length + rowsB.length, 30, 'every row in exactly one holder’s view');
    assert.ok(rowsA.every((r) => held(a).includes(r.lane)) && rowsB.every((r) => held(b).includes(r.lane)));
    assert.deepEqual(
      rowsA.map((r) => r.pos),
      [...rowsA.map((r) => r.pos)].sort((x, y) => x - y),
      'commit order',
    );
    viewA.markPublished(rowsA);
    assert.deepEqual(viewA.pending(100, own(viewA)), []);
    assert.equal(viewB.pending(100, own(viewB)).length, rowsB.length, 'b’s lanes untouched');
    assert.equal(store.depth(), rowsB.length);
  });

  it('names each held lane by its stable transactional id, <prefix>.relay.<route>.<partition>', () => {
    const map = lanes();
    const [a, b] = sharing();
    const named = [...laneRelayStore(new OutboxStore(db, map), a, 'unicop').lanes(), ...laneRelayStore(new OutboxStore(db, map), b, 'unicop').lanes()];
    assert.deepEqual(
      named.map((l) => l.transactionalId).sort(),
      map.lanesOf('default').map((_, p) => `unicop.relay.default.${p}`),
    );
    for (const l of named) assert.equal(map.lanesOf('default')[l.partition], l.lane, 'the id names the lane’s own partition');
    assert.ok(named.every((l) => l.of === LANES));
  });

  it('moves a lane’s cursor to a position Kafka holds only for its holder’s generation, and recognises only the store’s own rows of that lane', () => {
    const map = lanes();
    const store = new OutboxStore(db, map);
    const [a] = sharing();
    const keys = Array.from({ length: 30 }, (_, i) => `dcim.device:${i}`);
    store.transaction(() => keys.forEach((k, i) => store.insertMessage('events', k, `m${i}`, '{}', now)));
    const view = laneRelayStore(store, a, 'unicop');
    const lane = view.lanes()[0]!;
    const rows = view.pending(100, [lane.lane]);
    const last = rows.at(-1)!;
    assert.ok(view.recognises(lane, { lane: lane.transactionalId, pos: last.pos, messageId: last.messageId }));
    assert.ok(!view.recognises(lane, { lane: lane.transactionalId, pos: last.pos, messageId: 'another-store' }), 'another store’s row at that position');
    const other = store.pending(100).find((r) => r.lane !== lane.lane)!;
    assert.ok(!view.recognises(lane, { lane: lane.transactionalId, pos: other.pos, messageId: other.messageId }), 'a row of another lane');
    assert.deepEqual(view.recover(lane, last.pos), { from: 0 });
    assert.deepEqual(view.pending(100, [lane.lane]), [], 'what Kafka holds is never sent again');
    assert.equal(view.recover(lane, last.pos), 'current');
    // b takes the lane over (a's lease ran out): a's recovery is fenced by the generation.
    now += TTL + 1;
    const b = leases('b');
    b.tick();
    assert.equal(view.recover(lane, last.pos + 1), 'lost');
    assert.equal(a.generationOf(lane.lane), undefined, 'a let the lane go');
  });
});
