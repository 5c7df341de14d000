import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../../src/model/netbox-webhook.js';
import { fixture, signed } from '../helpers/fixtures.js';
import { consume, type Received } from '../helpers/kafka.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';

const TOKEN = 'desired-state-test-token-0123456789';
const DEVICE = 'dcim.device:42';
const INTERFACES = [1001, 1002, 1003, 1004];
const ADDRESSES = [2001, 2002];

/** A captured 4.7 body for another object of the same device: its id, a fresh request and a later last_updated. */
function body(objectType: string, action: string, id: number, step: number, data: JsonObject = {}): JsonObject {
  const base = structuredClone(fixture('4.7', objectType, action).body) as JsonObject & { data: JsonObject; request?: JsonObject };
  const lastUpdated = new Date(Date.UTC(2026, 10, 26) + step * 1000).toISOString().replace('Z', '000+00:00');
  base.data = { ...base.data, id, last_updated: lastUpdated, ...data };
  base.request = { ...(base.request ?? {}), id: randomUUID() };
  return base;
}

/** The latest value per key, as a consumer of a compacted topic sees it (null: deleted). */
function latest(messages: Received[]): Map<string, Record<string, unknown> | null> {
  const state = new Map<string, Record<string, unknown> | null>();
  for (const m of messages) state.set(m.key, m.value as Record<string, unknown> | null);
  return state;
}

describe('desired state on Kafka: objects.v1 and roots.desired.v1 (real broker, real SQLite)', function () {
  this.timeout(120_000);
  let t: TestReceiver;
  beforeEach(() => {
    t = startTestReceiver({ UNICOP_API_TOKENS: TOKEN });
  });
  afterEach(async () => {
    await t.close();
  });

  async function post(b: JsonObject): Promise<void> {
    const { raw, signature } = signed(b);
    const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature });
    assert.equal(res.status, 202, JSON.stringify(res.body));
  }

  it('projects a device with 4 interfaces and 2 IPs, versions a change, tombstones a delete, and a new consumer of the two topics rebuilds what was sent', async () => {
    const prefix = t.config.topicPrefix;
    let step = 0;
    await post(body('dcim.device', 'created', 42, step++));
    for (const id of INTERFACES) await post(body('dcim.interface', 'created', id, step++, { name: `eth${id}` }));
    for (const id of ADDRESSES) await post(body('ipam.ipaddress-device', 'created', id, step++, { address: `10.0.0.${id - 2000}/24` }));

    const first = await consume(`${prefix}.roots.desired.v1`, 7, { settleMs: 500 });
    const full = first.at(-1)?.value as { data: { desiredVersion: string; memberCount: number; members: { key: string }[] } };
    assert.equal(full.data.memberCount, 7, 'the device, its 4 interfaces and 2 IPs');
    assert.deepEqual(
      full.data.members.map((m) => m.key).sort(),
      [DEVICE, ...INTERFACES.map((i) => `dcim.interface:${i}`), ...ADDRESSES.map((i) => `ipam.ipaddress:${i}`)].sort(),
    );

    const root = await t.http.get(`/v1/roots/${DEVICE}`).set('authorization', `Bearer ${TOKEN}`);
    assertMatchesOpenapi('GET', '/v1/roots/{root}', root);
    assert.equal(root.body.desiredVersion, full.data.desiredVersion);
    assert.equal(root.body.appliedVersion, null, 'never reconciled');

    // One interface changes: a new version. The same change with only last_updated moved: none.
    await post(body('dcim.interface', 'updated', 1002, step++, { name: 'eth1002', description: 'uplink' }));
    await post(body('dcim.interface', 'updated', 1002, step++, { name: 'eth1002', description: 'uplink' }));
    const afterChange = await consume(`${prefix}.roots.desired.v1`, 8, { settleMs: 1500 });
    assert.equal(afterChange.length, 8, 'one new root message for the change, none for the update that changed no field');
    const changed = afterChange.at(-1)?.value as { data: { desiredVersion: string } };
    assert.notEqual(changed.data.desiredVersion, full.data.desiredVersion);

    // NetBox deletes the device: one delete per component and IP, and the device's own.
    for (const id of ADDRESSES) await post(body('ipam.ipaddress-device', 'deleted', id, step++));
    for (const id of INTERFACES) await post(body('dcim.interface', 'deleted', id, step++));
    await post(body('dcim.device', 'deleted', 42, step));

    const objects = await consume(`${prefix}.objects.v1`, 7 + 2 + 6 + 1, { settleMs: 1500 });
    const tombstones = objects.filter((m) => m.value === null);
    assert.equal(tombstones.length, 7, 'every object of the device is tombstoned with a Kafka null value');
    assert.ok(tombstones.every((m) => m.headers['content-type'] === undefined && m.headers.message_uuid));
    const roots = await consume(`${prefix}.roots.desired.v1`, 1, { settleMs: 1500 });
    assert.equal(roots.at(-1)?.key, DEVICE);
    assert.equal(roots.at(-1)?.value, null, 'the device projection is tombstoned');

    // A new consumer of the compacted topics alone: every key's last value is what the receiver last sent for it.
    const objectStates = latest(objects);
    assert.equal(objectStates.size, 7);
    assert.ok(
      [...objectStates.values()].every((v) => v === null),
      'nothing of the deleted device remains',
    );
    // One key lives in one partition, in order: its last state before the tombstone is the change.
    const states = objects.filter((m) => m.key === 'dcim.interface:1002').map((m) => m.value as { data: { state: { description: string } } } | null);
    assert.equal(states.length, 4, 'created, changed, unchanged update, deleted');
    assert.equal(states[2]?.data.state.description, 'uplink');
    assert.equal(states[3], null);
    assert.equal(latest(roots).get(DEVICE), null);
  });
});
