import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../src/model/netbox-webhook.js';
import { fixture, signed } from '../helpers/fixtures.js';
import { consume } from '../helpers/kafka.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const API = 'unicop-test-api-token-0123456789';
const CAP = { scope: { sites: ['dc1'] }, maxRoots: 5 };

/** A NetBox 4.7 webhook of `type` (a captured body) as object `id`, in a request of its own. */
function created(type: string, id: number): JsonObject {
  const body = structuredClone(fixture('4.7', type, 'created').body) as JsonObject & { data: JsonObject; request?: JsonObject };
  body.data = { ...body.data, id };
  body.request = { ...(body.request ?? {}), id: randomUUID() };
  return body;
}

function inventoryFile(policy: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'unicop-inventory-')), 'inventory-policy.json');
  writeFileSync(file, JSON.stringify(policy));
  return file;
}

describe('bounded inventory (real Kafka, real SQLite)', function () {
  this.timeout(120_000);
  let t: TestReceiver;

  beforeEach(async () => {
    t = startTestReceiver({
      // ipam.prefix has a rule: only the inventory keeps it from being reconciled.
      UNICOP_RECONCILE_POLICY: policyFile([DEVICE_RULE, { ...DEVICE_RULE, match: { rootType: 'ipam.prefix' } }]),
      UNICOP_INVENTORY_POLICY: inventoryFile({ version: 1, managed: { objectTypes: ['dcim.device', 'dcim.interface'] }, caps: [CAP] }),
      UNICOP_API_TOKENS: API,
    });
    await waitFor(() => t.receiver.reconciler?.rebuilding === false, 30_000, 'the state rebuild of the new database');
  });
  afterEach(async () => {
    await t.close();
  });

  const prefix = () => t.topics.events.replace(/\.events\.v1$/, '');
  async function post(body: JsonObject) {
    const { raw, signature } = signed(body);
    const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature });
    assert.equal(res.status, 202);
  }

  it('publishes an object outside the managed set as managed: false and never reconciles it', async () => {
    await post(created('ipam.prefix', 501));
    await post(created('dcim.device', 301));
    const events = await consume(t.topics.events, 2);
    const byKey = new Map(events.map((e) => [e.key, e.value.data as { managed?: boolean }]));
    assert.equal(byKey.get('ipam.prefix:501')?.managed, false);
    assert.equal(byKey.get('dcim.device:301')?.managed, undefined);
    const commands = await consume(`${prefix()}.reconcile.requests.v1`, 1, { settleMs: 2000 });
    assert.deepEqual(
      commands.map((c) => c.key),
      ['dcim.device:301'],
      'the managed device only',
    );
    await waitFor(() => t.receiver.reconciler?.record('ipam.prefix:501') === null, 1000, 'no state for the prefix');
    // nor a desired-state projection: the device's object state and root projection, nothing of the prefix
    const objects = await consume(`${prefix()}.objects.v1`, 1, { settleMs: 1000 });
    assert.deepEqual(
      objects.map((m) => m.key),
      ['dcim.device:301'],
    );
    const desired = await consume(`${prefix()}.roots.desired.v1`, 1, { settleMs: 1000 });
    assert.deepEqual(
      desired.map((m) => m.key),
      ['dcim.device:301'],
    );
  });

  it('admits five roots in dc1, refuses the sixth with one cap_exceeded keyed by it, and never reconciles it', async () => {
    for (let id = 201; id <= 206; id++) await post(created('dcim.device', id));
    await post(created('dcim.device', 206)); // a later event of the refused root: no second notice
    const events = await consume(t.topics.events, 8);
    const notices = events.filter((e) => e.value.type === 'unicop.inventory.cap_exceeded');
    assert.equal(notices.length, 1, 'one notice');
    assert.equal(notices[0]?.key, 'dcim.device:206');
    const data = notices[0]?.value.data as { cap: unknown; admitted: number };
    assert.deepEqual([data.cap, data.admitted], [{ index: 0, ...CAP }, 5]);
    const refused = events.filter((e) => e.key === 'dcim.device:206' && e.value.type !== 'unicop.inventory.cap_exceeded');
    assert.deepEqual(
      refused.map((e) => (e.value.data as { managed?: boolean }).managed),
      [false, false],
    );

    const commands = await consume(`${prefix()}.reconcile.requests.v1`, 5, { settleMs: 2000 });
    assert.deepEqual(commands.map((c) => c.key).sort(), ['dcim.device:201', 'dcim.device:202', 'dcim.device:203', 'dcim.device:204', 'dcim.device:205']);
    assert.equal(t.receiver.reconciler?.record('dcim.device:206'), null);

    const res = await t.http.get('/v1/inventory/policy').set('authorization', `Bearer ${API}`);
    assertMatchesOpenapi('GET', '/v1/inventory/policy', res);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.caps, [{ index: 0, ...CAP, admitted: 5 }]);
    assert.deepEqual(res.body.policy.caps, [CAP]);
    const metrics = await t.receiver.metrics.registry.metrics();
    assert.match(metrics, /unicop_inventory_caps_exceeded_total\{cap="0"\} 1/);
    assert.match(metrics, /unicop_reconcile_unmanaged_events_total 2/);
    assert.equal((await t.http.get('/v1/inventory/policy')).status, 401, 'a bearer is needed');
  });
});
