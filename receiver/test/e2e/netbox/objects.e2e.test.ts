/**
 * End to end against a real NetBox: REST changes → event rule → signed webhook (with the unicop_netbox
 * plugin's context) → receiver → Kafka `unicop.events.v1`. Each change is one event with the right
 * root, scope and changelog id, and each root's events are in the order NetBox made them.
 * Run with the others: `npm run test:e2e:netbox` (see receiver-under-test.ts for what it needs).
 */
import { strict as assert } from 'node:assert';
import { assertRootOrder, eventsUntil, netbox, runTag, type NetboxEvent, type NetboxObject } from '../../helpers/netbox.js';
import { EVENTS_TOPIC } from './receiver-under-test.js';

interface Want {
  subject: string;
  type: 'created' | 'updated' | 'deleted';
  root: string;
}

describe('NetBox REST changes → events on Kafka (real NetBox, real Kafka)', function () {
  this.timeout(240_000);
  const tag = runTag();
  const n = parseInt(tag.slice(0, 4), 16);
  const want: Want[] = [];
  const created: Record<string, NetboxObject> = {};

  async function create(name: string, path: string, body: unknown, root?: (obj: NetboxObject) => string, subject?: string): Promise<NetboxObject> {
    const obj = await netbox('POST', path, body);
    created[name] = obj;
    if (root && subject) want.push({ subject: `${subject}:${obj.id}`, type: 'created', root: root(obj) });
    return obj;
  }

  before(async () => {
    // What the events depend on: not sent as webhooks (outside the event rule's object types).
    const region = await create('region', 'dcim/regions/', { name: `e2e-region-${tag}`, slug: `e2e-region-${tag}` });
    const tenant = await create('tenant', 'tenancy/tenants/', { name: `e2e-tenant-${tag}`, slug: `e2e-tenant-${tag}` });
    const manufacturer = await create('manufacturer', 'dcim/manufacturers/', { name: `e2e-m-${tag}`, slug: `e2e-m-${tag}` });
    const deviceType = await create('deviceType', 'dcim/device-types/', { manufacturer: manufacturer.id, model: `e2e-t-${tag}`, slug: `e2e-t-${tag}` });
    const role = await create('role', 'dcim/device-roles/', { name: `e2e-r-${tag}`, slug: `e2e-r-${tag}` });
    const clusterType = await create('clusterType', 'virtualization/cluster-types/', { name: `e2e-ct-${tag}`, slug: `e2e-ct-${tag}` });

    const self = (type: string) => (obj: NetboxObject) => `${type}:${obj.id}`;
    const site = await create(
      'site',
      'dcim/sites/',
      { name: `e2e-${tag}`, slug: `e2e-${tag}`, status: 'active', region: region.id, tenant: tenant.id },
      self('dcim.site'),
      'dcim.site',
    );
    const device = await create(
      'device',
      'dcim/devices/',
      { name: `e2e-d-${tag}`, device_type: deviceType.id, role: role.id, site: site.id, tenant: tenant.id, status: 'active' },
      self('dcim.device'),
      'dcim.device',
    );
    const deviceRoot = `dcim.device:${device.id}`;
    for (const i of [0, 1, 2, 3]) {
      await create(`if${i}`, 'dcim/interfaces/', { device: device.id, name: `eth${i}`, type: '1000base-t' }, () => deviceRoot, 'dcim.interface');
    }
    for (const i of [0, 1]) {
      await create(
        `ip${i}`,
        'ipam/ip-addresses/',
        { address: `198.18.${n % 250}.${10 + i}/32`, assigned_object_type: 'dcim.interface', assigned_object_id: created[`if${i}`]?.id },
        () => deviceRoot,
        'ipam.ipaddress',
      );
    }
    await create('cluster', 'virtualization/clusters/', { name: `e2e-c-${tag}`, type: clusterType.id, scope_type: 'dcim.site', scope_id: site.id });
    const vm = await create(
      'vm',
      'virtualization/virtual-machines/',
      { name: `e2e-vm-${tag}`, cluster: created.cluster?.id, site: site.id, status: 'active' },
      self('virtualization.virtualmachine'),
      'virtualization.virtualmachine',
    );
    const vmRoot = `virtualization.virtualmachine:${vm.id}`;
    await create('vmif', 'virtualization/interfaces/', { virtual_machine: vm.id, name: 'veth0' }, () => vmRoot, 'virtualization.vminterface');
    await create(
      'vmip',
      'ipam/ip-addresses/',
      { address: `198.19.${n % 250}.10/32`, assigned_object_type: 'virtualization.vminterface', assigned_object_id: created.vmif?.id },
      () => vmRoot,
      'ipam.ipaddress',
    );
    await create(
      'prefix',
      'ipam/prefixes/',
      { prefix: `10.${n % 250}.${n >> 8}.0/24`, scope_type: 'dcim.site', scope_id: site.id, tenant: tenant.id },
      self('ipam.prefix'),
      'ipam.prefix',
    );
    await create('vlan', 'ipam/vlans/', { vid: 1 + (n % 4000), name: `e2e-${tag}`, site: site.id }, self('ipam.vlan'), 'ipam.vlan');

    // Updates and deletes, interleaved on the device root.
    const update = async (name: string, path: string, body: unknown, subject: string, root: string) => {
      await netbox('PATCH', `${path}${created[name]?.id}/`, body);
      want.push({ subject: `${subject}:${created[name]?.id}`, type: 'updated', root });
    };
    const remove = async (name: string, path: string, subject: string, root: string) => {
      await netbox('DELETE', `${path}${created[name]?.id}/`);
      want.push({ subject: `${subject}:${created[name]?.id}`, type: 'deleted', root });
    };
    await update('if0', 'dcim/interfaces/', { description: `uplink ${tag}` }, 'dcim.interface', deviceRoot);
    await update('device', 'dcim/devices/', { serial: `SN-${tag}` }, 'dcim.device', deviceRoot);
    await remove('ip1', 'ipam/ip-addresses/', 'ipam.ipaddress', deviceRoot);
    await remove('if3', 'dcim/interfaces/', 'dcim.interface', deviceRoot);
    await update('vmif', 'virtualization/interfaces/', { mtu: 9000 }, 'virtualization.vminterface', vmRoot);
    await update('prefix', 'ipam/prefixes/', { description: `e2e ${tag}` }, 'ipam.prefix', `ipam.prefix:${created.prefix?.id}`);
    await remove('vlan', 'ipam/vlans/', 'ipam.vlan', `ipam.vlan:${created.vlan?.id}`);
  });

  let found: NetboxEvent[] = [];
  let all: NetboxEvent[] = [];

  it('gives exactly one event per change, keyed by its root, with a changelog id', async () => {
    const matches = (w: Want) => (e: NetboxEvent) => e.subject === w.subject && e.type === `unicop.object.${w.type}`;
    all = await eventsUntil(EVENTS_TOPIC, (events) => (want.every((w) => events.some(matches(w))) ? events : undefined), 120_000, `${want.length} events`);
    found = want.map((w) => {
      const hits = all.filter(matches(w));
      assert.equal(hits.length, 1, `${w.type} ${w.subject}: exactly one event`);
      return hits[0] as NetboxEvent;
    });
    for (const [i, w] of want.entries()) {
      const e = found[i];
      assert.ok(e);
      assert.equal(e.partitionkey, w.root, `${w.type} ${w.subject}: Kafka key`);
      assert.equal(e.data.root.key, w.root, `${w.type} ${w.subject}: data.root.key`);
      assert.equal(e.data.netbox.via, 'webhook', `${w.type} ${w.subject} came by webhook`);
      assert.equal(typeof e.data.netbox.changelogId, 'number', `${w.type} ${w.subject}: changelog id`);
    }
    const changelog = await netbox('GET', `core/object-changes/${found[2]?.data.netbox.changelogId}/`);
    assert.deepEqual([changelog.changed_object_type, changelog.changed_object_id], ['dcim.interface', created.if0?.id], 'the changelog id is the change');
    assert.equal(new Set(found.map((e) => e.data.netbox.changelogId)).size, found.length, 'distinct changelog ids');
  });

  it('scopes every event by tenant, site and region (the plugin reads them from the ORM)', () => {
    const site = String(created.site?.slug);
    const region = String(created.region?.slug);
    const tenant = String(created.tenant?.slug);
    for (const e of found) {
      assert.equal(e.data.scope.site, site, `${e.type} ${e.subject}: scope.site`);
      assert.equal(e.data.scope.region, region, `${e.type} ${e.subject}: scope.region`);
    }
    const on = (subject: string) => found.filter((e) => e.subject === subject);
    for (const subject of [
      `dcim.site:${created.site?.id}`,
      `dcim.device:${created.device?.id}`,
      `dcim.interface:${created.if1?.id}`,
      `ipam.prefix:${created.prefix?.id}`,
    ]) {
      for (const e of on(subject)) assert.equal(e.data.scope.tenant, tenant, `${e.type} ${subject}: tenant (own or the root's)`);
    }
  });

  it("keeps each root's events in the order NetBox made them", () => {
    for (const root of new Set(want.map((w) => w.root))) {
      const mine = assertRootOrder(all, root);
      const changes = mine.filter((e) => e.type.startsWith('unicop.object.')).map((e) => e.data.netbox.changelogId ?? 0);
      assert.deepEqual(
        changes,
        [...changes].sort((a, b) => a - b),
        `${root}: offsets follow changelog ids`,
      );
    }
    const onDevice = found.filter((e) => e.partitionkey === `dcim.device:${created.device?.id}`);
    assert.equal(onDevice.length, 1 + 4 + 2 + 4, 'device: created, 4 interfaces, 2 IPs, 2 updates, 2 deletes');
  });
});
