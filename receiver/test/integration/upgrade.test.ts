/**
 * A receiver upgraded in place: its data directory was made by the single migration list (before
 * the outbox and the reconciler had their own migrations, and before the timeline had its own
 * columns). The new receiver adopts it and answers the same roots, timeline and reconciles.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { singleListDatabase } from '../helpers/single-list-database.js';

const TOKEN = 'unicop-test-api-token-0123456789';
const ROOT = 'dcim.device:9';
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const OUTCOME = {
  reconcileId: uuid(100),
  root: ROOT,
  attempt: 1,
  result: 'succeeded',
  class: null,
  message: null,
  awxJobId: 55,
  at: '2026-01-01T00:01:00.000Z',
};
const RECORD = {
  root: ROOT,
  state: 'succeeded',
  rule: { ...DEVICE_RULE, retry: {} },
  attempt: 1,
  inFlight: null,
  lastOutcome: OUTCOME,
  pendingEvents: [],
  pendingEventCount: 0,
  followUpEvents: [],
  followUpEventCount: 0,
  dueAt: null,
};

/** The single list's database as its receiver left it: two events on Kafka, one reconcile cycle concluded. */
function oldDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'unicop-upgrade-'));
  const db = singleListDatabase(dir);
  const value = (id: number, data: unknown) => JSON.stringify({ specversion: '1.0', id: uuid(id), subject: ROOT, data });
  const insertOutbox = db.prepare('INSERT INTO outbox (topic, key, message_id, value, accepted_at) VALUES (?, ?, ?, ?, ?)');
  const insertEvent = db.prepare('INSERT INTO events (id, root, sequence, subject, type, time, superseded, outbox_pos) VALUES (?, ?, ?, ?, ?, ?, 0, ?)');
  db.transaction(() => {
    insertOutbox.run('events', ROOT, uuid(1), value(1, { action: 'updated', actor: { user: 'bob', requestId: null } }), 1000);
    insertEvent.run(uuid(1), ROOT, 1, 'dcim.interface:3', 'unicop.object.updated', '2026-01-01T00:00:00Z', 1);
    insertOutbox.run('events', ROOT, uuid(2), value(2, { action: 'reconcile', actor: { user: 'alice', principal: 'token:0123456789ab' } }), 2000);
    insertEvent.run(uuid(2), ROOT, 2, ROOT, 'unicop.reconcile.requested', '2026-01-01T00:00:30Z', 2);
    db.prepare('INSERT INTO roots (root, last_sequence) VALUES (?, 2)').run(ROOT);
    db.prepare('UPDATE relay_cursor SET pos = 2').run();
    db.prepare("INSERT INTO reconcile_roots (root, state, record, due_at, updated_at) VALUES (?, 'succeeded', ?, NULL, 3000)").run(
      ROOT,
      JSON.stringify(RECORD),
    );
    db.prepare(
      'INSERT INTO reconcile_attempts (reconcile_id, root, attempt, requested_at, deadline_at, awx_job_id, outcome) VALUES (?, ?, 1, 2000, 32000, 55, ?)',
    ).run(uuid(100), ROOT, JSON.stringify(OUTCOME));
    db.prepare('UPDATE reconcile_rebuild SET needed = 0, done_at = 500').run();
  })();
  db.close();
  return dir;
}

describe('upgrade in place (a data directory of the single migration list)', function () {
  this.timeout(60_000);
  let dir: string;
  let t: TestReceiver;
  const auth = { authorization: `Bearer ${TOKEN}` };
  async function get(path: string) {
    const res = await t.http.get(path).set(auth);
    assertMatchesOpenapi('GET', path.split('?')[0]!.replace(/\/v1\/roots\/[^/]+/, '/v1/roots/{root}'), res);
    return res;
  }

  before(() => {
    dir = oldDataDir();
    t = startTestReceiver({ UNICOP_DATA_DIR: dir, UNICOP_API_TOKENS: TOKEN, UNICOP_RECONCILE_POLICY: policyFile([DEVICE_RULE]) });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the root as before: its sequence, last event and reconcile state, without a rebuild', async () => {
    const res = await get(`/v1/roots/${ROOT}`);
    assert.equal(res.status, 200);
    assert.deepEqual(
      [
        res.body.lastSequence,
        res.body.lastEvent?.id,
        res.body.state,
        res.body.attempt,
        res.body.inFlight,
        res.body.lastOutcome,
        res.body.pendingFollowUp,
        res.body.known,
      ],
      [2, uuid(2), 'succeeded', 1, null, OUTCOME, false, true],
    );
  });

  it('keeps the timeline with each event’s action and person, and the reconciles', async () => {
    const res = await get(`/v1/roots/${ROOT}/timeline`);
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.items.map((i: { id: string; sequence: number; action: string; user: string | null; published: boolean }) => [
        i.id,
        i.sequence,
        i.action,
        i.user,
        i.published,
      ]),
      [
        [uuid(2), 2, 'reconcile', 'alice', true],
        [uuid(1), 1, 'updated', 'bob', true],
      ],
    );
    assert.deepEqual(res.body.reconciles, [
      { reconcileId: uuid(100), attempt: 1, requestedAt: '1970-01-01T00:00:02.000Z', deadline: '1970-01-01T00:00:32.000Z', awxJobId: 55, outcome: OUTCOME },
    ]);
  });

  it('lists the root among the succeeded ones', async () => {
    const res = await get('/v1/roots?state=succeeded');
    assert.equal(res.status, 200);
    // A record from before ownership was reconciled by the only cell there was: owned, no owner named yet.
    assert.deepEqual(res.body.items, [
      { root: ROOT, state: 'succeeded', attempt: 1, inFlight: null, lastOutcome: OUTCOME, pendingFollowUp: false, owner: null, ownership: 'owned' },
    ]);
  });
});
