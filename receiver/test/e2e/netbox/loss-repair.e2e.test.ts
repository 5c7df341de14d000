/**
 * Loss repair against a real NetBox: the receiver is down while 100 changes happen (100 requests), the
 * plugin's RQ worker retries each request's batch (batch_retry_intervals) and gives up, and when the receiver is back its changelog catch-up delivers all
 * 100 — one event per changelog row, none twice, in NetBox's order on the device's root.
 * Runs last: it restarts the shared receiver. Run with the others: `npm run test:e2e:netbox`.
 */
import { strict as assert } from 'node:assert';
import {
  allEvents,
  assertRootOrder,
  eventsUntil,
  latestChangelogId,
  makeDevice,
  netbox,
  netboxAll,
  runTag,
  deliveryQueue,
  type NetboxObject,
} from '../../helpers/netbox.js';
import { waitFor } from '../../helpers/wait-for.js';
import { EVENTS_TOPIC, metric, startReceiver, stopReceiver } from './receiver-under-test.js';

interface ChangeRow {
  id: number;
  action: { value: 'create' | 'update' | 'delete' };
  changed_object_type: string;
  changed_object_id: number;
}

const ACTION_TYPE = { create: 'unicop.object.created', update: 'unicop.object.updated', delete: 'unicop.object.deleted' } as const;

describe('loss repair: changes made while the receiver is down arrive through the changelog catch-up', function () {
  this.timeout(600_000);
  const tag = runTag();
  let device: NetboxObject;
  let rows: ChangeRow[] = [];

  before(async () => {
    ({ device } = await makeDevice(`loss-${tag}`));
    await eventsUntil(
      EVENTS_TOPIC,
      (events) => events.some((e) => e.subject === `dcim.device:${device.id}`),
      90_000,
      'the device created event (receiver caught up)',
    );
  });

  after(async () => {
    await stopReceiver();
    await startReceiver(); // back to the suite's settings for whoever runs after
  });

  it('makes 100 changes while the receiver is down, and NetBox gives their batches up', async () => {
    await stopReceiver();
    const before = await latestChangelogId();
    const failedBefore = (await deliveryQueue()).failed_jobs;
    const made: NetboxObject[] = [];
    for (let i = 0; i < 40; i++) made.push(await netbox('POST', 'dcim/interfaces/', { device: device.id, name: `lost${i}`, type: '1000base-t' }));
    for (const [i, iface] of made.entries()) await netbox('PATCH', `dcim/interfaces/${iface.id}/`, { description: `changed while down ${i}` });
    for (const iface of made.slice(0, 20)) await netbox('DELETE', `dcim/interfaces/${iface.id}/`);
    rows = await netboxAll<ChangeRow>(`core/object-changes/?id__gt=${before}&ordering=id`);
    assert.equal(rows.length, 100, 'NetBox logged exactly the 100 changes');
    // Each request's batch job is tried 1 + len(batch_retry_intervals) times, then lands in the failed registry:
    // then nothing can come late.
    const queue = await waitFor(
      async () => {
        const q = await deliveryQueue();
        return q.failed_jobs - failedBefore >= 100 && q.jobs === 0 && q.started_jobs === 0 ? q : undefined;
      },
      300_000,
      'NetBox to give up the 100 batches',
    );
    assert.equal(queue.failed_jobs - failedBefore, 100, 'one failed batch job per change (each change was its own request)');
  });

  it('recovers all 100 from the changelog once the receiver is back, each once, in order', async () => {
    assert.equal(rows.length, 100, 'the first test made the changes');
    await startReceiver({ UNICOP_CATCHUP_GRACE_MS: '5000' }); // the webhooks are gone for good: no need to wait a minute
    const ids = new Set(rows.map((r) => r.id));
    const recovered = await eventsUntil(
      EVENTS_TOPIC,
      (events) => {
        const hits = events.filter((e) => ids.has(e.data.netbox?.changelogId ?? 0));
        return hits.length >= ids.size ? hits : undefined;
      },
      120_000,
      'the 100 changes as events',
    );
    assert.equal(recovered.length, 100, 'one event per changelog row');
    for (const [i, row] of rows.entries()) {
      const e = recovered.find((r) => r.data.netbox.changelogId === row.id);
      assert.ok(e, `changelog row ${row.id}`);
      assert.equal(e.data.netbox.via, 'changelog', `row ${row.id} came from the catch-up`);
      assert.equal(e.subject, `${row.changed_object_type}:${row.changed_object_id}`);
      assert.equal(e.type, ACTION_TYPE[row.action.value], `row ${row.id}: ${row.action.value}`);
      assert.equal(e.partitionkey, `dcim.device:${device.id}`, `row ${row.id}: rooted at the device, deleted ones too`);
      assert.equal(recovered.indexOf(e), i, 'Kafka order is changelog order');
    }
    assertRootOrder(await allEvents(EVENTS_TOPIC), `dcim.device:${device.id}`);
    assert.equal(await metric('unicop_catchup_recovered_total'), 100, 'the receiver counted 100 recovered events');
  });

  it('delivers nothing twice on later polls (the overlap re-reads the rows)', async () => {
    const last = rows.at(-1)?.id ?? 0;
    const mark = await waitFor(
      async () => ((await metric('unicop_catchup_high_water_mark')) >= last ? metric('unicop_catchup_high_water_mark') : undefined),
      30_000,
      'the high-water mark past the rows',
    );
    assert.ok(mark >= last);
    const polled = (await metric('unicop_catchup_errors_total')) === 0;
    assert.ok(polled, 'the catch-up polls without errors');
    await new Promise((resolve) => setTimeout(resolve, 5_000)); // two more polls over the overlap
    const ids = new Set(rows.map((r) => r.id));
    const events = (await allEvents(EVENTS_TOPIC)).filter((e) => ids.has(e.data.netbox?.changelogId ?? 0));
    assert.equal(events.length, 100, 'still one event per row');
    assert.equal(await metric('unicop_catchup_recovered_total'), 100);
  });
});
