/**
 * The objects the benchmark makes in NetBox and removes again: `count` interfaces on a few devices
 * (one site, manufacturer, device type and role, all named after a run tag), made and deleted with
 * NetBox's bulk REST calls (a list of objects per POST, a list of ids per DELETE).
 */
import { netbox, type NetboxList, type NetboxObject } from '../../receiver/test/helpers/netbox.js';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';

/** Interfaces per device: a large access switch; 10,000 objects are ten devices. */
export const PER_DEVICE = 1000;
/** Objects per bulk request: NetBox makes them in one transaction, each with its changelog row. */
const BULK = 250;

export interface Made {
  tag: string;
  parents: { path: string; id: number }[];
  devices: number[];
  interfaces: number[];
}

const chunks = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Makes the devices and `count` interfaces; `made` grows as it goes, so an interrupted run removes what exists. */
export async function makeObjects(count: number, made: Made, progress: (n: number) => void): Promise<void> {
  const name = (kind: string) => `bench-snap-${kind}-${made.tag}`;
  const parent = async (path: string, body: Record<string, unknown>): Promise<number> => {
    const { id } = await netbox('POST', path, body);
    made.parents.push({ path, id });
    return id;
  };
  const site = await parent('dcim/sites/', { name: name('site'), slug: name('site'), status: 'active' });
  const manufacturer = await parent('dcim/manufacturers/', { name: name('m'), slug: name('m') });
  const deviceType = await parent('dcim/device-types/', { manufacturer, model: name('t'), slug: name('t') });
  const role = await parent('dcim/device-roles/', { name: name('r'), slug: name('r') });
  const devices = Array.from({ length: Math.ceil(count / PER_DEVICE) }, (_, i) => ({
    name: `${name('d')}-${i}`,
    device_type: deviceType,
    role,
    site,
    status: 'active',
  }));
  made.devices.push(...(await netbox<NetboxObject[]>('POST', 'dcim/devices/', devices)).map((d) => d.id));
  const wanted = Array.from({ length: count }, (_, i) => ({
    device: made.devices[Math.floor(i / PER_DEVICE)],
    name: `eth${i % PER_DEVICE}`,
    type: '1000base-t',
  }));
  for (const batch of chunks(wanted, BULK)) {
    made.interfaces.push(...(await netbox<NetboxObject[]>('POST', 'dcim/interfaces/', batch)).map((o) => o.id));
    progress(made.interfaces.length);
  }
}

/**
 * Waits until NetBox is done with the changes: it lists every interface made, and its background
 * queue (webhooks, event rules) is empty, so the snapshot does not share NetBox with their jobs.
 */
export async function settled(made: Made, timeoutMs: number): Promise<void> {
  const ids = made.devices.map((id) => `device_id=${id}`).join('&');
  await waitFor(
    async () => (await netbox<NetboxList>('GET', `dcim/interfaces/?${ids}&limit=1`)).count === made.interfaces.length,
    timeoutMs,
    `NetBox to list the ${made.interfaces.length} interfaces`,
  );
  await waitFor(
    async () => {
      // NetBox's own jobs (search index) and the plugin's batches
      for (const queue of ['default', 'unicop_netbox.batches']) {
        const q = await netbox<{ jobs: number; started_jobs: number }>('GET', `core/background-queues/${queue}/`);
        if (q.jobs > 0 || q.started_jobs > 0) return false;
      }
      return true;
    },
    timeoutMs,
    "NetBox's background queue to empty",
  );
}

/** Deletes what `made` lists, components first (bulk DELETE by id), and empties it. */
export async function removeObjects(made: Made, progress: (left: number) => void = () => {}): Promise<void> {
  const ids = (list: number[]) => list.map((id) => ({ id }));
  for (const batch of chunks(made.interfaces, BULK)) {
    await netbox('DELETE', 'dcim/interfaces/', ids(batch));
    made.interfaces.splice(0, batch.length);
    progress(made.interfaces.length);
  }
  if (made.devices.length) await netbox('DELETE', 'dcim/devices/', ids(made.devices));
  made.devices.length = 0;
  for (const { path, id } of made.parents.reverse()) await netbox('DELETE', `${path}${id}/`);
  made.parents.length = 0;
}
