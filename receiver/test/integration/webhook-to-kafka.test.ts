import { strict as assert } from 'node:assert';
import { SchemaRegistry } from '../../src/schema-registry.js';
import type { EventEnvelope } from '../../src/model/event.js';
import { captureWorld, fixture, interfaceUpdate, signed } from '../helpers/fixtures.js';
import { consume, topicSize } from '../helpers/kafka.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const isEnvelope = new SchemaRegistry().validator<EventEnvelope>('event-envelope.v1.schema.json');

describe('webhook → outbox → Kafka (real broker, real SQLite)', function () {
  this.timeout(90_000);
  let t: TestReceiver;
  beforeEach(() => {
    t = startTestReceiver();
  });
  afterEach(async () => {
    await t.close();
  });

  async function post(body: unknown) {
    const { raw, signature } = signed(body);
    const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature });
    assertMatchesOpenapi('POST', '/v1/netbox/webhooks', res);
    return res;
  }

  it('turns one signed webhook into exactly one event with the right key, headers and envelope', async () => {
    const f = fixture('4.7', 'dcim.interface', 'updated');
    const world = captureWorld('4.7');
    const root = world.roots['dcim.interface']!;
    assert.equal(root, `dcim.device:${world.objects.device!.id}`);
    const res = await post(f.body);
    assert.equal(res.status, 202);
    assert.equal(res.body.root, root);
    assert.equal(res.body.sequence, 1);

    const [message, ...extra] = await consume(t.topics.events, 1);
    assert.ok(message, 'the event reached Kafka');
    assert.deepEqual(extra, [], 'exactly one event');
    assert.equal(message.key, root);
    assert.equal(message.headers['content-type'], 'application/cloudevents+json; charset=UTF-8');
    assert.equal(message.headers.message_uuid, res.body.id);
    const event = message.value;
    assert.ok(isEnvelope(event), 'the envelope matches schemas/event-envelope.v1.schema.json');
    assert.equal(event.id, res.body.id);
    assert.equal(event.subject, `dcim.interface:${world.objects.interface!.id}`);
    assert.equal(event.partitionkey, root);
    assert.equal(event.sequence, '00000000000000000001');
    assert.equal(event.type, 'unicop.object.updated');
    assert.equal(event.data.superseded, false);
    await waitFor(() => t.receiver.store.depth() === 0, 10_000, 'outbox drained');
  });

  it('answers 200 duplicate for a redelivered webhook and publishes it once', async () => {
    const body = fixture('4.6', 'dcim.device', 'updated').body;
    const first = await post(body);
    const again = await post(body);
    assert.equal(first.status, 202);
    assert.equal(again.status, 200);
    assert.equal(again.body.result, 'duplicate');
    assert.equal(again.body.id, first.body.id);
    const messages = await consume(t.topics.events, 1, { settleMs: 1500 });
    assert.equal(messages.length, 1);
  });

  it('publishes an older version that arrives after a newer one with superseded: true', async () => {
    const newer = interfaceUpdate(42, 11, 10);
    const older = interfaceUpdate(42, 11, 5);
    assert.equal((await post(newer)).body.superseded, false);
    const late = await post(older);
    assert.equal(late.status, 202);
    assert.equal(late.body.superseded, true);
    const messages = await consume(t.topics.events, 2);
    assert.deepEqual(
      messages.map((m) => [m.value.sequence, (m.value.data as { superseded: boolean }).superseded]),
      [
        ['00000000000000000001', false],
        ['00000000000000000002', true],
      ],
    );
  });

  it('publishes large events for one root in batches the topic accepts (none stuck, none lost)', async () => {
    const bodies = Array.from({ length: 16 }, (_, i) => {
      const body = interfaceUpdate(42, 11, 100 + i);
      (body.data as Record<string, unknown>).description = `${i}:${'x'.repeat(700_000)}`;
      return body;
    });
    const results = await Promise.all(bodies.map((b) => post(b)));
    assert.deepEqual([...new Set(results.map((r) => r.status))], [202]);
    const messages = await consume(t.topics.events, 16, { timeoutMs: 60_000 });
    assert.equal(messages.length, 16, 'about 11 MB for one partition went out in several batches');
    assert.deepEqual(
      messages.map((m) => Number(m.value.sequence)),
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
  });

  it('is ready once Kafka answered, and exports the pipeline metrics', async () => {
    await post(interfaceUpdate(42, 11, 1));
    await waitFor(async () => (await t.http.get('/readyz')).status === 200, 20_000, 'readyz 200');
    const ready = await t.http.get('/readyz');
    assertMatchesOpenapi('GET', '/readyz', ready);
    assertMatchesOpenapi('GET', '/healthz', await t.http.get('/healthz'));
    const metrics = await t.http.get('/metrics');
    assert.equal(metrics.status, 200);
    for (const name of [
      'unicop_webhook_requests_total{status="202",code="accepted"} 1',
      'unicop_webhook_accept_seconds_bucket',
      'unicop_outbox_depth',
      'unicop_publish_latency_seconds',
      'unicop_publish_errors_total',
      'unicop_kafka_reachable{route="default"} 1',
    ]) {
      assert.ok(metrics.text.includes(name), `${name} missing from /metrics`);
    }
    await waitFor(() => t.receiver.store.depth() === 0, 10_000, 'outbox drained');
    assert.equal(await topicSize(t.topics.events), 1);
  });
});
