/**
 * End to end against a real NetBox: REST changes in NetBox → event rule → signed webhook (with the
 * unicop_netbox plugin's context) → receiver → Kafka `unicop.events.v1`.
 *
 * Needs, already running (it FAILS, never skips, when they are absent):
 *   scripts/kafka up; the receiver (UNICOP_RECEIVER_URL, default http://127.0.0.1:8080) with the webhook secret;
 *   scripts/netbox up && scripts/netbox bootstrap; NETBOX_URL + NETBOX_TOKEN (from var/netbox/env);
 *   KAFKA_BROKERS (default 127.0.0.1:9092) and UNICOP_TOPIC_PREFIX (default unicop) as the receiver uses them.
 * Run: set -a; . var/netbox/env; set +a; npx mocha --timeout 180000 receiver/test/e2e/netbox.e2e.test.ts
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { consume, topicSize, type Received } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait-for.js';

const NETBOX_URL = (process.env.NETBOX_URL ?? '').replace(/\/+$/, '');
const NETBOX_TOKEN = process.env.NETBOX_TOKEN ?? '';
const RECEIVER_URL = (process.env.UNICOP_RECEIVER_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const EVENTS_TOPIC = `${process.env.UNICOP_TOPIC_PREFIX ?? 'unicop'}.events.v1`;

interface NetboxObject {
  id: number;
  [key: string]: unknown;
}

/** NETBOX_TOKEN from scripts/netbox is a v2 token (nbt_…): Bearer; a 40-hex v1 token: Token. */
function authorization(): string {
  return NETBOX_TOKEN.startsWith('nbt_') ? `Bearer ${NETBOX_TOKEN}` : `Token ${NETBOX_TOKEN}`;
}

async function netbox(method: string, path: string, body?: unknown): Promise<NetboxObject | null> {
  const res = await fetch(`${NETBOX_URL}/api/${path}`, {
    method,
    headers: { authorization: authorization(), accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} /api/${path} → ${res.status}: ${text.slice(0, 500)}`);
  return text ? (JSON.parse(text) as NetboxObject) : null;
}

type Event = Received['value'] & {
  subject: string;
  type: string;
  partitionkey: string;
  sequence: string;
  data: {
    action: string;
    root: { key: string };
    scope: { tenant: string | null; site: string | null; region: string | null };
    netbox: { changelogId: number | null; via: string };
  };
};

/** Reads the whole topic (it is shared with earlier runs) until `match` finds what it needs. */
async function eventsUntil<T>(match: (events: Event[]) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return waitFor(
    async () => {
      const size = await topicSize(EVENTS_TOPIC);
      const received = await consume(EVENTS_TOPIC, size, { timeoutMs: 20_000, settleMs: 0 });
      return match(received.map((r) => ({ ...r.value, partitionkey: r.key }) as Event));
    },
    timeoutMs,
    what,
  );
}

describe('NetBox → webhook → receiver → Kafka (real NetBox, real Kafka)', function () {
  this.timeout(180_000);
  const created: Array<[string, number]> = [];

  before(async () => {
    assert.ok(NETBOX_URL, 'NETBOX_URL is not set: run scripts/netbox up and load var/netbox/env');
    assert.ok(NETBOX_TOKEN, 'NETBOX_TOKEN is not set: run scripts/netbox up and load var/netbox/env');
    const status = await netbox('GET', 'status/');
    assert.ok(status && typeof status['netbox-version'] === 'string', 'NetBox /api/status/ answers');
    const ready = await fetch(`${RECEIVER_URL}/readyz`).catch((error: unknown) => {
      throw new Error(`the receiver at ${RECEIVER_URL} is not running: ${String(error)}`);
    });
    assert.equal(ready.status, 200, `receiver ${RECEIVER_URL}/readyz`);
    const rules = (await netbox('GET', 'extras/event-rules/?name=unicop')) as unknown as { count: number };
    assert.equal(rules.count, 1, 'the unicop event rule exists: run scripts/netbox bootstrap');
  });

  after(async () => {
    // best effort: newest first, so dependants go before what they depend on
    for (const [path, id] of created.reverse()) {
      await netbox('DELETE', `${path}${id}/`).catch(() => undefined);
    }
  });

  async function create(path: string, body: unknown): Promise<NetboxObject> {
    const obj = await netbox('POST', path, body);
    assert.ok(obj);
    created.push([path, obj.id]);
    return obj;
  }

  it('a site, a device with an interface and an IP become events keyed by their roots, with changelog ids', async () => {
    const tag = randomUUID().slice(0, 8);
    const site = await create('dcim/sites/', { name: `e2e-${tag}`, slug: `e2e-${tag}`, status: 'active' });
    const manufacturer = await create('dcim/manufacturers/', { name: `e2e-m-${tag}`, slug: `e2e-m-${tag}` });
    const deviceType = await create('dcim/device-types/', { manufacturer: manufacturer.id, model: `e2e-t-${tag}`, slug: `e2e-t-${tag}` });
    const role = await create('dcim/device-roles/', { name: `e2e-r-${tag}`, slug: `e2e-r-${tag}` });
    const device = await create('dcim/devices/', { name: `e2e-d-${tag}`, device_type: deviceType.id, role: role.id, site: site.id, status: 'active' });
    const iface = await create('dcim/interfaces/', { device: device.id, name: 'eth0', type: '1000base-t' });
    const octet = 1 + (parseInt(tag.slice(0, 4), 16) % 250);
    const ip = await create('ipam/ip-addresses/', {
      address: `198.18.${octet}.${1 + (parseInt(tag.slice(4, 8), 16) % 250)}/32`,
      assigned_object_type: 'dcim.interface',
      assigned_object_id: iface.id,
    });
    await netbox('PATCH', `dcim/interfaces/${iface.id}/`, { description: `e2e ${tag}` });
    const prefix = await create('ipam/prefixes/', {
      prefix: `10.${octet}.${parseInt(tag.slice(4, 6), 16)}.0/24`,
      scope_type: 'dcim.site',
      scope_id: site.id,
    });
    const vlan = await create('ipam/vlans/', { vid: 1 + (parseInt(tag.slice(0, 3), 16) % 4000), name: `e2e-${tag}`, site: site.id });

    const deviceKey = `dcim.device:${device.id}`;
    const want = [
      { subject: `dcim.site:${site.id}`, type: 'unicop.object.created', root: `dcim.site:${site.id}` },
      { subject: deviceKey, type: 'unicop.object.created', root: deviceKey },
      { subject: `dcim.interface:${iface.id}`, type: 'unicop.object.created', root: deviceKey },
      { subject: `ipam.ipaddress:${ip.id}`, type: 'unicop.object.created', root: deviceKey },
      { subject: `dcim.interface:${iface.id}`, type: 'unicop.object.updated', root: deviceKey },
      { subject: `ipam.prefix:${prefix.id}`, type: 'unicop.object.created', root: `ipam.prefix:${prefix.id}` },
      { subject: `ipam.vlan:${vlan.id}`, type: 'unicop.object.created', root: `ipam.vlan:${vlan.id}` },
    ];
    const found = await eventsUntil(
      (events) => {
        const hits = want.map((w) => events.find((e) => e.subject === w.subject && e.type === w.type));
        return hits.every(Boolean) ? (hits as Event[]) : undefined;
      },
      90_000,
      `events for ${want.map((w) => `${w.type} ${w.subject}`).join(', ')}`,
    );
    for (const [i, w] of want.entries()) {
      const e = found[i];
      assert.ok(e);
      assert.equal(e.partitionkey, w.root, `${w.subject} ${w.type}: Kafka key`);
      assert.equal(e.data.root.key, w.root, `${w.subject} ${w.type}: data.root.key`);
      assert.equal(typeof e.data.netbox.changelogId, 'number', `${w.subject} ${w.type}: data.netbox.changelogId`);
      assert.equal(e.data.netbox.via, 'webhook');
    }
    const ifaceCreated = found[2];
    assert.ok(ifaceCreated);
    assert.equal(ifaceCreated.data.scope.site, site.slug, 'scope.site from the plugin');
    assert.equal(found[5]?.data.scope.site, site.slug, 'prefix scope.site (the plugin reads the scope from the ORM)');
    assert.equal(found[6]?.data.scope.site, site.slug, 'VLAN scope.site');
    const changelog = (await netbox('GET', `core/object-changes/${ifaceCreated.data.netbox.changelogId}/`)) as NetboxObject;
    assert.equal(changelog.changed_object_type, 'dcim.interface');
    assert.equal(changelog.changed_object_id, iface.id);
    // per-root order: the device's events carry increasing sequences in the order NetBox made them
    const onDevice = found.slice(0, 5).filter((e) => e.partitionkey === deviceKey).map((e) => e.sequence);
    assert.deepEqual([...onDevice].sort(), onDevice, 'per-root sequence follows creation order');
    console.log(`      interface event: ${JSON.stringify({ ...ifaceCreated, data: { ...ifaceCreated.data, current: '…', snapshots: '…' } })}`);
  });

  it('deleting the interface gives a deleted event still keyed by its device', async () => {
    const ifaceEntry = created.find(([path]) => path === 'dcim/interfaces/');
    const deviceEntry = created.find(([path]) => path === 'dcim/devices/');
    assert.ok(ifaceEntry && deviceEntry, 'the first test created them');
    const ipIndex = created.findIndex(([path]) => path === 'ipam/ip-addresses/');
    if (ipIndex >= 0) {
      const [ipEntry] = created.splice(ipIndex, 1);
      if (ipEntry) await netbox('DELETE', `ipam/ip-addresses/${ipEntry[1]}/`);
    }
    created.splice(created.indexOf(ifaceEntry), 1);
    await netbox('DELETE', `dcim/interfaces/${ifaceEntry[1]}/`);
    const deleted = await eventsUntil(
      (events) => events.find((e) => e.subject === `dcim.interface:${ifaceEntry[1]}` && e.type === 'unicop.object.deleted'),
      90_000,
      'the interface deleted event',
    );
    assert.equal(deleted.partitionkey, `dcim.device:${deviceEntry[1]}`);
    assert.equal(typeof deleted.data.netbox.changelogId, 'number');
  });
});
