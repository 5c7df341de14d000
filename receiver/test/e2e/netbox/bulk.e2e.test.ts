/**
 * Bulk changes in a real NetBox: one REST request creating 200 interfaces, then a UI bulk edit of all 200
 * (the form a person submits from the interface list), give 200 events each, all on the device's root, in
 * the order NetBox made them. They leave NetBox as the plugin's batches (delivery = batch, the default:
 * its events pipeline and RQ queue), not as 200 webhooks. Run with the others: `npm run test:e2e:netbox`.
 */
import { strict as assert } from 'node:assert';
import {
  assertRootOrder,
  csrfToken,
  eventsUntil,
  makeDevice,
  netbox,
  NetboxSession,
  runTag,
  type NetboxEvent,
  type NetboxObject,
} from '../../helpers/netbox.js';
import { EVENTS_TOPIC, metric } from './receiver-under-test.js';

const COUNT = 200;

describe('bulk changes in NetBox → one event per object, in order on one root', function () {
  this.timeout(300_000);
  const tag = runTag();
  let device: NetboxObject;
  let interfaces: NetboxObject[] = [];
  let root = '';

  before(async () => {
    ({ device } = await makeDevice(`bulk-${tag}`));
    root = `dcim.device:${device.id}`;
  });

  /** The receiver's delivery counters, to tell batches from webhooks. */
  async function deliveries(): Promise<{ batches: number; items: number; webhooks: number }> {
    return {
      batches: await metric('unicop_batch_requests_total'),
      items: await metric('unicop_batch_items_total'),
      webhooks: await metric('unicop_webhook_requests_total'),
    };
  }

  /** The request's events came as a few batches from the plugin's queue, none as a webhook. */
  function assertBatched(before: Awaited<ReturnType<typeof deliveries>>, after: Awaited<ReturnType<typeof deliveries>>): void {
    assert.equal(after.webhooks - before.webhooks, 0, 'no webhook: the event rule stays disabled with batch delivery');
    assert.ok(after.items - before.items >= COUNT, `at least ${COUNT} batch items (got ${after.items - before.items})`);
    const batches = after.batches - before.batches;
    assert.ok(batches >= 1 && batches <= 3, `the request's ${COUNT} events in 1 to 3 batches (got ${batches})`);
  }

  /** Waits for `COUNT` events of `type` on the test's interfaces, and checks the root's order. */
  async function eventsFor(type: string, what: string): Promise<NetboxEvent[]> {
    const ids = new Set(interfaces.map((i) => `dcim.interface:${i.id}`));
    const all = await eventsUntil(
      EVENTS_TOPIC,
      (events) => (events.filter((e) => e.type === type && ids.has(e.subject)).length >= COUNT ? events : undefined),
      180_000,
      `${COUNT} ${what} events`,
    );
    const mine = assertRootOrder(all, root).filter((e) => e.type === type && ids.has(e.subject));
    assert.equal(mine.length, COUNT, `${what}: exactly ${COUNT} events, none twice`);
    assert.equal(new Set(mine.map((e) => e.subject)).size, COUNT, `${what}: one per interface`);
    const changelogIds = mine.map((e) => e.data.netbox.changelogId ?? 0);
    assert.deepEqual(
      changelogIds,
      [...changelogIds].sort((a, b) => a - b),
      `${what}: Kafka order is NetBox's changelog order`,
    );
    assert.equal(new Set(changelogIds).size, COUNT, `${what}: distinct changelog ids`);
    return mine;
  }

  it(`creates ${COUNT} interfaces in one REST request → ${COUNT} created events`, async () => {
    const body = Array.from({ length: COUNT }, (_, i) => ({ device: device.id, name: `eth${i}`, type: '1000base-t' }));
    const before = await deliveries();
    interfaces = await netbox<NetboxObject[]>('POST', 'dcim/interfaces/', body);
    assert.equal(interfaces.length, COUNT);
    const created = await eventsFor('unicop.object.created', 'created');
    assertBatched(before, await deliveries());
    assert.equal(new Set(created.map((e) => e.data.actor.requestId)).size, 1, 'one NetBox request made them all');
  });

  it(`bulk-edits the ${COUNT} interfaces in the UI → ${COUNT} updated events`, async () => {
    const session = await NetboxSession.login(String(process.env.NETBOX_ADMIN_USER), String(process.env.NETBOX_ADMIN_PASSWORD));
    const pks = interfaces.map((i) => String(i.id));
    const before = await deliveries();
    // The list view's "Edit Selected" posts the pks to the bulk edit view; "_apply" submits the form.
    const form = await session.post('/dcim/interfaces/edit/', { pk: pks, csrfmiddlewaretoken: await session.csrf('/dcim/interfaces/') });
    assert.equal(form.status, 200, 'the bulk edit form');
    const res = await session.post('/dcim/interfaces/edit/', {
      csrfmiddlewaretoken: csrfToken(form.text),
      pk: pks,
      description: `bulk ${tag}`,
      _apply: '',
    });
    assert.equal(res.status, 302, `bulk edit applied (status ${res.status})`);
    const updated = await eventsFor('unicop.object.updated', 'bulk edit');
    assertBatched(before, await deliveries());
    assert.equal(new Set(updated.map((e) => e.data.actor.requestId)).size, 1, 'one UI request made them all');
    assert.equal(updated[0]?.data.actor.user, process.env.NETBOX_ADMIN_USER, 'the person who submitted the form');
  });
});
