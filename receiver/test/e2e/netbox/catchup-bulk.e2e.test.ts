/**
 * The changelog catch-up in bulk against a real NetBox: 300 changes of two object types (bulk create,
 * bulk edit, bulk delete) made in 4 requests while the receiver is down, whose batches the plugin gave
 * up (the four jobs failed their retries) — lost as when Redis is down at enqueue time — all arrive from one catch-up poll, each once, in
 * NetBox's order on the device's root, and that poll cost NetBox a handful of requests, not one per
 * change (`unicop_catchup_netbox_requests_total`).
 * Restarts the shared receiver (like loss-repair). Run with the others: `npm run test:e2e:netbox`.
 */
import { strict as assert } from 'node:assert';
import {
  allEvents,
  assertRootOrder,
  deliveryQueue,
  eventsUntil,
  latestChangelogId,
  makeDevice,
  netbox,
  netboxAll,
  runTag,
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
const INTERFACES = 150;
const CONSOLE_PORTS = 50;
const EDITED = 80;
const DELETED = 20;
const CHANGES = INTERFACES + CONSOLE_PORTS + EDITED + DELETED;
/** What one poll over these changes may cost at most: version, event rule, a page of keys, and a few reads by id per type. */
const MAX_REQUESTS = 20;

describe(`fast catch-up: ${CHANGES} changes whose deliveries were given up arrive from one poll, in a few NetBox requests`, function () {
  this.timeout(600_000);
  const tag = runTag();
  let device: NetboxObject;
  let rows: ChangeRow[] = [];

  before(async () => {
    ({ device } = await makeDevice(`catchup-bulk-${tag}`));
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

  it(`makes ${CHANGES} changes with the receiver down, and NetBox gives their 4 batches up`, async () => {
    await stopReceiver();
    const before = await latestChangelogId();
    const failedBefore = (await deliveryQueue()).failed_jobs;
    const interfaces = await netbox<NetboxObject[]>(
      'POST',
      'dcim/interfaces/',
      Array.from({ length: INTERFACES }, (_, i) => ({ device: device.id, name: `bulk-lost${i}`, type: '1000base-t' })),
    );
    await netbox<NetboxObject[]>(
      'POST',
      'dcim/console-ports/',
      Array.from({ length: CONSOLE_PORTS }, (_, i) => ({ device: device.id, name: `con-lost${i}` })),
    );
    await netbox(
      'PATCH',
      'dcim/interfaces/',
      interfaces.slice(0, EDITED).map((iface, i) => ({ id: iface.id, description: `changed while lost ${i}` })),
    );
    await netbox(
      'DELETE',
      'dcim/interfaces/',
      interfaces.slice(EDITED, EDITED + DELETED).map((iface) => ({ id: iface.id })),
    );
    rows = await netboxAll<ChangeRow>(`core/object-changes/?id__gt=${before}&ordering=id`);
    assert.equal(rows.length, CHANGES, `NetBox logged exactly the ${CHANGES} changes`);
    // Each request's batch job is tried 1 + len(batch_retry_intervals) times, then fails for good: then nothing can
    // come late, and everything the receiver gets is the catch-up's.
    await waitFor(
      async () => {
        const q = await deliveryQueue();
        return q.failed_jobs - failedBefore >= 4 && q.jobs === 0 && q.started_jobs === 0 ? q : undefined;
      },
      300_000,
      'NetBox to give up the 4 batches',
    );
  });

  it(`recovers all ${CHANGES} from one poll, each once, in order, in at most ${MAX_REQUESTS} NetBox requests`, async () => {
    assert.equal(rows.length, CHANGES, 'the first test made the changes');
    // No batch is on its way (all four gave up): no grace needed. One poll at start, the next far away.
    await startReceiver({ UNICOP_CATCHUP_GRACE_MS: '0', UNICOP_CATCHUP_INTERVAL_MS: '600000' });
    const ids = new Set(rows.map((r) => r.id));
    const recovered = await eventsUntil(
      EVENTS_TOPIC,
      (events) => {
        const hits = events.filter((e) => ids.has(e.data.netbox?.changelogId ?? 0));
        return hits.length >= ids.size ? hits : undefined;
      },
      180_000,
      `the ${CHANGES} changes as events`,
    );
    assert.equal(recovered.length, CHANGES, 'one event per changelog row');
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
    assert.equal(await metric('unicop_catchup_recovered_total'), CHANGES);

    // The mark past the rows means the poll ended, and its requests are counted before the mark moves.
    const last = rows.at(-1)!.id;
    await waitFor(async () => ((await metric('unicop_catchup_high_water_mark')) >= last ? true : undefined), 60_000, 'the high-water mark past the rows');
    const requests = await metric('unicop_catchup_netbox_requests_total');
    console.log(`      catch-up: ${CHANGES} changes recovered with ${requests} NetBox requests`);
    assert.ok(requests > 0, 'the metric counts the requests');
    assert.ok(requests <= MAX_REQUESTS, `${requests} NetBox requests for ${CHANGES} changes: a few per page, not one per change`);
    assert.equal(await metric('unicop_catchup_errors_total'), 0, 'the poll ran without errors');
  });
});
