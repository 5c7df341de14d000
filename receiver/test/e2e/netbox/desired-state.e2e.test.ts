/**
 * Desired state from the spine alone, against a real NetBox (docs/desired-state.md): a device with 4 interfaces
 * and 2 IPs made through NetBox's REST API; a new consumer that reads only `<prefix>.objects.v1` and
 * `<prefix>.roots.desired.v1` gets, for every object, the state NetBox's API answers (in the canonical form) and, for
 * the device, a projection of all 7 whose desiredVersion it can recompute from NetBox's answers; changing one
 * interface changes desiredVersion; deleting the device (NetBox cascades to its interfaces) leaves tombstones for all
 * of them and for the projection.
 */
import { strict as assert } from 'node:assert';
import { canonicalJson, canonicalState, desiredVersion } from '../../../src/desired/canonical.js';
import { consume, topicSize } from '../../helpers/kafka.js';
import { eventsUntil, makeDevice, netbox, runTag, type NetboxObject } from '../../helpers/netbox.js';
import { waitFor } from '../../helpers/wait-for.js';
import { EVENTS_TOPIC, TOPIC_PREFIX } from './receiver-under-test.js';

const OBJECTS_TOPIC = `${TOPIC_PREFIX}.objects.v1`;
const DESIRED_TOPIC = `${TOPIC_PREFIX}.roots.desired.v1`;

/** What a new consumer of a compacted topic ends with: the last value per key (null = tombstone). */
async function latest(topic: string): Promise<Map<string, Record<string, unknown> | null>> {
  const all = await consume(topic, await topicSize(topic), { timeoutMs: 30_000, settleMs: 500 });
  const last = new Map<string, Record<string, unknown> | null>();
  for (const m of all.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset))) last.set(m.key, m.value);
  return last;
}

const canonical = (state: unknown): string => canonicalJson(canonicalState(state as Record<string, unknown>));
const stateOf = (message: Record<string, unknown> | null | undefined) => (message?.data as { state?: unknown } | undefined)?.state;

describe('desired state: what a new consumer reads from the compacted topics is what NetBox answers', function () {
  this.timeout(300_000);
  const tag = runTag();
  let device: NetboxObject;
  const keys: Record<string, string> = {};
  const paths: Record<string, string> = {};
  let root = '';

  before(async () => {
    ({ device } = await makeDevice(`desired-${tag}`));
    root = `dcim.device:${device.id}`;
    keys[root] = root;
    paths[root] = `dcim/devices/${device.id}/`;
    const interfaces: NetboxObject[] = [];
    for (let i = 0; i < 4; i++) {
      const made = await netbox('POST', 'dcim/interfaces/', { device: device.id, name: `eth${i}`, type: '1000base-t' });
      interfaces.push(made);
      paths[`dcim.interface:${made.id}`] = `dcim/interfaces/${made.id}/`;
    }
    for (let i = 0; i < 2; i++) {
      const ip = await netbox('POST', 'ipam/ip-addresses/', {
        address: `10.${Number.parseInt(tag.slice(0, 2), 16)}.${Number.parseInt(tag.slice(2, 4), 16)}.${i + 1}/24`,
        assigned_object_type: 'dcim.interface',
        assigned_object_id: interfaces[i]!.id,
      });
      paths[`ipam.ipaddress:${ip.id}`] = `ipam/ip-addresses/${ip.id}/`;
    }
    await eventsUntil(
      EVENTS_TOPIC,
      (events) => (Object.keys(paths).every((k) => events.some((e) => e.subject === k)) ? true : undefined),
      90_000,
      'the 7 objects’ events',
    );
  });

  it('gives each object NetBox’s state, and the device a projection of all 7 with a desiredVersion recomputable from NetBox', async () => {
    const fromNetbox = new Map<string, string>();
    for (const [key, path] of Object.entries(paths)) fromNetbox.set(key, canonical(await netbox('GET', path)));
    const objects = await waitFor(
      async () => {
        const o = await latest(OBJECTS_TOPIC);
        return Object.keys(paths).every((k) => o.get(k)) ? o : undefined;
      },
      60_000,
      'object states of all 7',
    );
    for (const [key, expected] of fromNetbox) assert.equal(canonical(stateOf(objects.get(key))), expected, `${key}: the spine's state is NetBox's`);

    const desired = (await latest(DESIRED_TOPIC)).get(root);
    const data = desired?.data as { memberCount: number; members: { key: string }[]; desiredVersion: string } | undefined;
    assert.ok(data, `a projection of ${root}`);
    assert.deepEqual(data.members.map((m) => m.key).sort(), Object.keys(paths).sort());
    assert.equal(data.memberCount, 7);
    const recomputed = desiredVersion([...fromNetbox].map(([member, state]) => ({ member, state })));
    assert.equal(data.desiredVersion, recomputed, 'desiredVersion = sha256 of the canonical members, from NetBox’s answers');
  });

  it('changes desiredVersion when one interface changes', async () => {
    const before = ((await latest(DESIRED_TOPIC)).get(root)?.data as { desiredVersion: string }).desiredVersion;
    const iface = Object.keys(paths).find((k) => k.startsWith('dcim.interface:'))!;
    await netbox('PATCH', paths[iface]!, { description: `changed ${tag}` });
    await waitFor(
      async () => {
        const now = ((await latest(DESIRED_TOPIC)).get(root)?.data as { desiredVersion: string } | undefined)?.desiredVersion;
        return now !== undefined && now !== before ? now : undefined;
      },
      60_000,
      'a new desiredVersion',
    );
  });

  it('tombstones every object of the device and its projection when NetBox deletes the device', async () => {
    await netbox('DELETE', paths[root]!);
    const gone = Object.keys(paths).filter((k) => !k.startsWith('ipam.'));
    await waitFor(
      async () => {
        const objects = await latest(OBJECTS_TOPIC);
        const desired = await latest(DESIRED_TOPIC);
        return gone.every((k) => objects.get(k) === null) && desired.get(root) === null ? true : undefined;
      },
      90_000,
      'tombstones of the device, its interfaces and its projection',
    );
  });
});
