import { strict as assert } from 'node:assert';
import { SchemaRegistry } from '../../src/schema-registry.js';
import { fixture, interfaceUpdate, signed } from '../helpers/fixtures.js';
import { awxBody, postNotification } from '../helpers/awx-notifications.js';
import { consume, type Received } from '../helpers/kafka.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const NOTIFY = 'unicop-test-notify-token-0123456789';
const API = 'unicop-test-api-token-0123456789';
const isCommand = new SchemaRegistry().validator('reconcile-command.v1.schema.json');

describe('reconciler (real Kafka, real SQLite; AWX answers posted by hand)', function () {
  this.timeout(120_000);
  let t: TestReceiver;
  let version = 0;

  beforeEach(async () => {
    t = startTestReceiver({
      UNICOP_RECONCILE_POLICY: policyFile([
        DEVICE_RULE,
        { ...DEVICE_RULE, match: { rootType: 'virtualization.virtualmachine' }, retry: { transient: 1 } },
        { ...DEVICE_RULE, match: { rootType: 'ipam.prefix' }, deadlineMs: 3000 },
      ]),
      UNICOP_AWX_NOTIFY_TOKEN: NOTIFY,
      UNICOP_AWX_NOTIFY_USER: 'awx',
      UNICOP_API_TOKENS: API,
    });
    // A new data dir: the reconciler first reads its (empty) state topic and answers 503 until then.
    await waitFor(() => t.receiver.reconciler?.rebuilding === false, 30_000, 'the state rebuild of the new database');
  });
  afterEach(async () => {
    await t.close();
  });

  const prefix = () => t.topics.events.replace(/\.events\.v1$/, '');
  async function change(deviceId: number, n = ++version) {
    const { raw, signature } = signed(interfaceUpdate(deviceId, 100 + n, n));
    const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature });
    assert.equal(res.status, 202);
  }
  async function commands(count: number): Promise<Received[]> {
    return consume(`${prefix()}.reconcile.requests.v1`, count, { settleMs: 1500 });
  }
  const notify = (body: unknown, auth = `Bearer ${NOTIFY}`) => postNotification(t, body, auth);
  async function root(key: string) {
    const res = await t.http.get(`/v1/roots/${key}`).set('authorization', `Bearer ${API}`);
    assertMatchesOpenapi('GET', '/v1/roots/{root}', res);
    return res.body;
  }

  it('turns a change into one command, and an AWX success into a succeeded outcome and state', async () => {
    await change(42);
    const [command, ...more] = await commands(1);
    assert.ok(command && more.length === 0, 'exactly one command');
    assert.equal(command.key, 'dcim.device:42');
    assert.ok(isCommand(command.value), 'the command matches schemas/reconcile-command.v1.schema.json');
    const data = command.value.data as { reconcileId: string; attempt: number; jobTemplate: { name: string }; extraVars: Record<string, unknown> };
    assert.equal(command.headers.message_uuid, data.reconcileId);
    assert.deepEqual([data.attempt, data.jobTemplate.name, data.extraVars.unicop_root], [1, 'reconcile-device', 'dcim.device:42']);

    assert.equal((await notify(awxBody(data.reconcileId, 'running'))).body.result, 'applied');
    assert.equal((await root('dcim.device:42')).state, 'running');
    assert.equal((await notify(awxBody(data.reconcileId, 'successful'))).body.result, 'applied');
    assert.equal((await notify(awxBody(data.reconcileId, 'successful'))).body.result, 'stale', 'a repeated notification changes nothing');

    const state = await root('dcim.device:42');
    assert.deepEqual([state.state, state.lastOutcome.result, state.lastOutcome.awxJobId, state.inFlight], ['succeeded', 'succeeded', 31, null]);
    const [outcome] = await consume(`${prefix()}.reconcile.outcomes.v1`, 1);
    assert.deepEqual([outcome?.key, (outcome?.value.data as { result: string }).result], ['dcim.device:42', 'succeeded']);
    const states = await consume(`${prefix()}.roots.state.v1`, 3);
    assert.deepEqual(states.map((s) => (s.value.data as { state: string }).state).slice(-1), ['succeeded']);
    const timeline = await t.http.get('/v1/roots/dcim.device:42/timeline').set('authorization', `Bearer ${API}`);
    assertMatchesOpenapi('GET', '/v1/roots/{root}/timeline', timeline);
    assert.equal(timeline.body.reconciles[0].outcome.result, 'succeeded');
  });

  it('classifies failures: unreachable hosts, execution; never retries by default', async () => {
    await change(42);
    const [c] = await commands(1);
    const id = (c!.value.data as { reconcileId: string }).reconcileId;
    await notify(awxBody(id, 'failed', { hosts: { leaf01: { dark: 1, failures: 0 } } }));
    const state = await root('dcim.device:42');
    assert.deepEqual([state.state, state.lastOutcome.class], ['failed', 'unreachable']);
    assert.equal((await commands(1)).length, 1, 'no silent relaunch');
    const listed = await t.http.get('/v1/roots?state=failed').set('authorization', `Bearer ${API}`);
    assertMatchesOpenapi('GET', '/v1/roots', listed);
    assert.deepEqual(
      listed.body.items.map((i: { root: string }) => i.root),
      ['dcim.device:42'],
    );
  });

  it('retries by policy as a visible command with the next attempt number', async () => {
    const { raw, signature } = signed({
      ...fixtureVm(),
      request: { id: '11111111-2222-4333-8444-555555555555', user: 'admin', method: 'PATCH', path: '/', path_info: '/', GET: {} },
    });
    assert.equal((await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature })).status, 202);
    const [first] = await commands(1);
    const firstId = (first!.value.data as { reconcileId: string }).reconcileId;
    await notify(awxBody(firstId, 'error'));
    const all = await commands(2);
    assert.deepEqual(
      all.map((c) => (c.value.data as { attempt: number }).attempt),
      [1, 2],
    );
    await notify(awxBody((all[1]!.value.data as { reconcileId: string }).reconcileId, 'error'));
    const state = await root('virtualization.virtualmachine:7');
    assert.deepEqual([state.state, state.lastOutcome.class, state.attempt], ['failed', 'transient', 2]);
    assert.equal((await commands(2)).length, 2, 'the budget is spent: no third attempt');
  });

  it('coalesces 50 changes during flight into exactly one follow-up', async () => {
    await change(42);
    const [c] = await commands(1);
    for (let i = 0; i < 50; i++) await change(42);
    await waitFor(() => t.receiver.reconciler?.record('dcim.device:42')?.followUpEvents.length === 50, 30_000, 'the reconciler saw all 50 changes');
    assert.equal((await root('dcim.device:42')).pendingFollowUp, true);
    await notify(awxBody((c!.value.data as { reconcileId: string }).reconcileId, 'successful'));
    const both = await commands(2);
    assert.equal(both.length, 2, 'exactly one follow-up');
    assert.equal((both[1]!.value.data as { triggeringEvents: string[] }).triggeringEvents.length, 50);
  });

  it('turns silence past the deadline into an explicit timed_out outcome', async () => {
    const prefixChange = fixture('4.7', 'ipam.prefix', 'updated').body;
    const { raw, signature } = signed(prefixChange);
    assert.equal((await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature })).status, 202);
    const timedOut = await waitFor(
      async () => {
        const res = await t.http.get('/v1/roots/ipam.prefix:5').set('authorization', `Bearer ${API}`);
        return res.body.state === 'timed_out' ? res.body : null;
      },
      30_000,
      'timed_out',
    );
    assert.deepEqual([timedOut.lastOutcome.result, timedOut.lastOutcome.class], ['timed_out', 'timeout']);
    const [outcome] = await consume(`${prefix()}.reconcile.outcomes.v1`, 1);
    assert.equal((outcome?.value.data as { result: string }).result, 'timed_out');
  });

  it('refuses notifications without the credential, keeps unknown ones as orphans, rejects malformed bodies', async () => {
    const wrong = await notify(awxBody('00000000-0000-4000-8000-000000000000', 'successful'), 'Bearer nope');
    assert.deepEqual([wrong.status, wrong.body.error.code], [401, 'UNICOP_AWX_UNAUTHENTICATED']);
    const basic = await notify(awxBody('00000000-0000-4000-8000-000000000000', 'successful'), `Basic ${Buffer.from(`awx:${NOTIFY}`).toString('base64')}`);
    assert.deepEqual([basic.status, basic.body.result], [202, 'orphan']);
    const otherUser = await notify(
      awxBody('00000000-0000-4000-8000-000000000000', 'successful'),
      `Basic ${Buffer.from(`someone:${NOTIFY}`).toString('base64')}`,
    );
    assert.deepEqual([otherUser.status, otherUser.body.error.code], [401, 'UNICOP_AWX_UNAUTHENTICATED']);
    const garbled = await notify({ id: 3, status: 'successful', extra_vars: '{not json' });
    assert.deepEqual([garbled.status, garbled.body.result], [202, 'orphan']);
    const array = await t.http.post('/v1/awx/notifications').set('authorization', `Bearer ${NOTIFY}`).set('content-type', 'application/json').send('[1]');
    assert.deepEqual([array.status, array.body.error.code], [400, 'UNICOP_AWX_BODY_INVALID']);
    const metrics = await t.http.get('/metrics');
    assert.match(metrics.text, /unicop_reconcile_orphans_total\{reason="no such reconcile attempt"\} 1/);
  });
});

function fixtureVm() {
  return {
    event: 'updated',
    timestamp: '2026-03-01T10:00:00.000000+00:00',
    object_type: 'virtualization.virtualmachine',
    data: { id: 7, display: 'vm-app-01', last_updated: '2026-03-01T10:00:00.000000+00:00' },
    snapshots: { prechange: { status: 'active' }, postchange: { status: 'offline' } },
  };
}
