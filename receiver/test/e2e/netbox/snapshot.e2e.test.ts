/**
 * Snapshots with repair against a real NetBox: changes made while the receiver is down (webhooks
 * lost, the changelog catch-up held back by a long grace) are found by a snapshot — exactly those,
 * as object events with `data.netbox.via = "snapshot"` — and a second snapshot repairs nothing.
 * The spine it compares with is the receiver's own `<prefix>.objects.v1` projection.
 * Restarts the shared receiver. Run with the others: `npm run test:e2e:netbox`.
 */
import { strict as assert } from 'node:assert';
import { eventsUntil, makeDevice, netbox, runTag, deliveryQueue, type NetboxObject } from '../../helpers/netbox.js';
import { waitFor } from '../../helpers/wait-for.js';
import { API_TOKEN, EVENTS_TOPIC, RECEIVER_URL, startReceiver, stopReceiver } from './receiver-under-test.js';

interface Snapshot {
  snapshotId: string;
  state: 'running' | 'completed' | 'failed';
  counts: { read: number; requests: number };
  repairs: { created: number; updated: number; deleted: number };
  error: unknown;
}

/** Only these types, so objects of other test files (made while the receiver was up) stay out of the count. */
const TYPES = 'dcim.device,dcim.interface';

async function api<T>(method: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${RECEIVER_URL}${path}`, { method, headers: { authorization: `Bearer ${API_TOKEN}` } });
  return { status: res.status, body: (await res.json()) as T };
}

async function snapshot(): Promise<Snapshot> {
  const started = await api<{ snapshotId: string }>('POST', '/v1/snapshots');
  assert.equal(started.status, 202, JSON.stringify(started.body));
  return waitFor(
    async () => {
      const s = (await api<Snapshot>('GET', `/v1/snapshots/${started.body.snapshotId}`)).body;
      return s.state === 'running' ? undefined : s;
    },
    180_000,
    'the snapshot to end',
  );
}

describe('snapshots: changes made while the receiver is down are repaired, once', function () {
  this.timeout(600_000);
  const tag = runTag();
  let device: NetboxObject;
  const interfaces: NetboxObject[] = [];

  before(async () => {
    await stopReceiver();
    await startReceiver({ UNICOP_SNAPSHOT_OBJECT_TYPES: TYPES, UNICOP_CATCHUP_GRACE_MS: '3600000' });
    ({ device } = await makeDevice(`snap-${tag}`));
    for (let i = 0; i < 3; i++) interfaces.push(await netbox('POST', 'dcim/interfaces/', { device: device.id, name: `snap${i}`, type: '1000base-t' }));
    await eventsUntil(EVENTS_TOPIC, (events) => events.some((e) => e.subject === `dcim.interface:${interfaces[2]?.id}`), 90_000, 'the webhooks of the setup');
    // A first snapshot brings the spine level with NetBox (objects other files made before this receiver's topics existed).
    const baseline = await snapshot();
    assert.equal(baseline.state, 'completed', JSON.stringify(baseline.error));
  });

  after(async () => {
    await stopReceiver();
    await startReceiver();
  });

  it('repairs exactly what changed while the receiver was down: 2 created, 1 updated, 1 deleted', async () => {
    await stopReceiver();
    const failedBefore = (await deliveryQueue()).failed_jobs;
    const created = [
      await netbox('POST', 'dcim/interfaces/', { device: device.id, name: 'snap-new0', type: '1000base-t' }),
      await netbox('POST', 'dcim/interfaces/', { device: device.id, name: 'snap-new1', type: '1000base-t' }),
    ];
    await netbox('PATCH', `dcim/interfaces/${interfaces[0]?.id}/`, { description: 'changed while down' });
    await netbox('DELETE', `dcim/interfaces/${interfaces[1]?.id}/`);
    // The batches of these four requests fail while the receiver is away (wait until NetBox gave them up: one still queued
    // would reach the restarted receiver and leave nothing to repair); the long grace keeps the catch-up off them.
    await waitFor(
      async () => {
        const q = await deliveryQueue();
        return q.failed_jobs - failedBefore >= 4 && q.jobs === 0 && q.started_jobs === 0 ? q : undefined;
      },
      120_000,
      'NetBox to give up the 4 batches',
    );
    await startReceiver({ UNICOP_SNAPSHOT_OBJECT_TYPES: TYPES, UNICOP_CATCHUP_GRACE_MS: '3600000' });

    const result = await snapshot();
    assert.equal(result.state, 'completed', JSON.stringify(result.error));
    assert.deepEqual(result.repairs, { created: 2, updated: 1, deleted: 1 });
    assert.ok(result.counts.read >= 4 && result.counts.requests >= 3, JSON.stringify(result.counts));

    const repaired = await eventsUntil(
      EVENTS_TOPIC,
      (events) => {
        const hits = events.filter((e) => (e.data.netbox?.via as string | undefined) === 'snapshot' && e.partitionkey === `dcim.device:${device.id}`);
        return hits.length >= 4 ? hits : undefined;
      },
      60_000,
      'the four repairs on the spine',
    );
    const seen = repaired.map((e) => `${e.type} ${e.subject}`).sort();
    assert.deepEqual(
      seen,
      [
        `unicop.object.created dcim.interface:${created[0]?.id}`,
        `unicop.object.created dcim.interface:${created[1]?.id}`,
        `unicop.object.deleted dcim.interface:${interfaces[1]?.id}`,
        `unicop.object.updated dcim.interface:${interfaces[0]?.id}`,
      ].sort(),
    );
  });

  it('repairs nothing the second time', async () => {
    const again = await snapshot();
    assert.equal(again.state, 'completed', JSON.stringify(again.error));
    assert.deepEqual(again.repairs, { created: 0, updated: 0, deleted: 0 });
  });

  it('answers 409 with a code while a snapshot runs', async () => {
    const first = await api<{ snapshotId: string }>('POST', '/v1/snapshots');
    const second = await api<{ error: { code: string } }>('POST', '/v1/snapshots');
    assert.equal(first.status, 202);
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'UNICOP_SNAPSHOT_RUNNING');
    await waitFor(
      async () => ((await api<Snapshot>('GET', `/v1/snapshots/${first.body.snapshotId}`)).body.state === 'running' ? undefined : true),
      180_000,
      'the snapshot to end',
    );
  });
});
