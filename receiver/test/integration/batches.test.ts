import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { loadConfig, secretValues } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { JsonObject } from '../../src/model/netbox-webhook.js';
import { createReceiver, type Receiver } from '../../src/receiver.js';
import { inRequest, requestBatch, type TestBatch } from '../helpers/batches.js';
import { federationFile, readAll } from '../helpers/federation.js';
import { FIXTURE_REPLAY_ENV, interfaceUpdate, signed, TEST_SECRET } from '../helpers/fixtures.js';
import { BROKERS, consume, randomPrefix, topicSize, type Received } from '../helpers/kafka.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { storeEnv } from '../helpers/store.js';
import { waitFor } from '../helpers/wait-for.js';

const BATCHES = '/v1/netbox/batches';
const WEBHOOKS = '/v1/netbox/webhooks';

interface ItemResult {
  index: number;
  result: string;
  id?: string;
  error?: { code: string; details: { pointer?: string; message: string }[] };
}

/** Signs and posts `body` (the exact bytes) to `path`, and checks the answer against openapi/unicop.yaml. */
async function send(t: Pick<TestReceiver, 'http'>, path: string, body: unknown, secret = TEST_SECRET) {
  const { raw, signature } = signed(body, secret);
  const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature }, path);
  assertMatchesOpenapi('POST', path, res);
  return res;
}

describe('batches from the plugin → outbox → Kafka (real broker, real store)', function () {
  this.timeout(120_000);
  let t: TestReceiver;
  beforeEach(() => {
    t = startTestReceiver();
  });
  afterEach(async () => {
    await t.close();
  });

  it('publishes a batch of N items in the request’s order, with the ids their single webhooks get', async () => {
    // 12 items on three devices, interleaved: each root's events must keep the items' order.
    const body: TestBatch = { request_id: requestBatch(1, 0).request_id, events: [] };
    for (let i = 0; i < 12; i++) body.events.push(inRequest(interfaceUpdate(21 + (i % 3), 2100 + i, 1), body.request_id));
    const res = await send(t, BATCHES, body);
    assert.equal(res.status, 207);
    const results = res.body.results as ItemResult[];
    assert.deepEqual(
      results.map((r) => [r.index, r.result]),
      body.events.map((_, i) => [i, 'accepted']),
    );

    const messages = await consume(t.topics.events, 12, { settleMs: 1500 });
    assert.equal(messages.length, 12, 'every item once');
    for (const device of [21, 22, 23]) {
      const root = `dcim.device:${device}`;
      const expected = results.filter((_, i) => 21 + (i % 3) === device).map((r) => r.id);
      const onKafka = messages.filter((m) => m.key === root);
      assert.deepEqual(
        onKafka.map((m) => m.value.id),
        expected,
        `${root}: the items’ order`,
      );
      assert.deepEqual(
        onKafka.map((m) => m.value.sequence),
        ['00000000000000000001', '00000000000000000002', '00000000000000000003', '00000000000000000004'],
      );
      for (const m of onKafka) assert.equal(m.headers.message_uuid, m.value.id);
    }
    // Each item sent alone is the same event: 200 duplicate, the batch item's id.
    for (const [i, item] of body.events.entries()) {
      const single = await send(t, WEBHOOKS, item);
      assert.deepEqual([single.status, single.body.id], [200, results[i]!.id]);
    }
    await waitFor(() => t.receiver.store.depth() === 0, 10_000, 'outbox drained');
    const metrics = (await t.http.get('/metrics')).text;
    for (const line of [
      'unicop_batch_requests_total{status="207",code="answered"} 1',
      'unicop_batch_items_total{result="accepted"} 12',
      'unicop_batch_size_items_count 1',
    ]) {
      assert.ok(metrics.includes(line), `${line} missing from /metrics`);
    }
  });

  it('stores and publishes a change sent both as a batch item and as a single webhook once, whichever comes first', async () => {
    const batchFirst = requestBatch(31, 2);
    const webhookFirst = requestBatch(32, 2);
    const a = await send(t, BATCHES, batchFirst);
    const aSingle = await send(t, WEBHOOKS, batchFirst.events[1]);
    assert.deepEqual([aSingle.status, aSingle.body.result, aSingle.body.id], [200, 'duplicate', (a.body.results as ItemResult[])[1]!.id]);

    const bSingle = await send(t, WEBHOOKS, webhookFirst.events[0]);
    assert.equal(bSingle.status, 202);
    const b = await send(t, BATCHES, webhookFirst);
    assert.deepEqual(
      (b.body.results as ItemResult[]).map((r) => r.result),
      ['duplicate', 'accepted'],
    );
    assert.equal((b.body.results as ItemResult[])[0]!.id, bSingle.body.id);

    const messages = await consume(t.topics.events, 4, { settleMs: 2000 });
    assert.equal(messages.length, 4, 'four changes, each published once');
    assert.equal(new Set(messages.map((m) => m.value.id)).size, 4);
  });

  it('answers 207 with one bad item: its reject on the rejected topic, the others on the events topic', async () => {
    const body = requestBatch(41, 3);
    const bad = body.events[1] as JsonObject;
    bad.event = 'job_started'; // not an object event: the webhook schema refuses it
    const res = await send(t, BATCHES, body);
    assert.equal(res.status, 207);
    const results = res.body.results as ItemResult[];
    assert.deepEqual(
      results.map((r) => [r.result, r.error?.code]),
      [
        ['accepted', undefined],
        ['rejected', 'UNICOP_VALIDATE_SCHEMA'],
        ['accepted', undefined],
      ],
    );
    const events = await consume(t.topics.events, 2, { settleMs: 1500 });
    assert.deepEqual(
      events.map((m) => m.value.id),
      [results[0]!.id, results[2]!.id],
    );
    const [notice, ...extra] = await consume(t.topics.rejected, 1);
    assert.deepEqual(extra, []);
    const data = (notice as Received).value.data as { code: string; details: { message: string }[]; body: { excerpt: string } };
    assert.equal(data.code, 'UNICOP_VALIDATE_SCHEMA');
    assert.deepEqual(JSON.parse(data.body.excerpt), bad, 'the kept body is the item');
    assert.ok(data.details.some((d) => d.message === `batch item: request_id ${body.request_id}, index 1`));
    const metrics = (await t.http.get('/metrics')).text;
    assert.ok(metrics.includes('unicop_batch_items_total{result="rejected"} 1'));
    assert.ok(metrics.includes('unicop_rejected_total{code="UNICOP_VALIDATE_SCHEMA",authenticated="true"} 1'));
  });

  it('refuses whole batches before any item: 401 unsigned, 415 not JSON, 413 too large, 400 not a batch (one kept reject)', async () => {
    const body = requestBatch(51, 2);
    const { raw } = signed(body);
    const unsigned = await postRaw(t, raw, { 'content-type': 'application/json' }, BATCHES);
    assertMatchesOpenapi('POST', BATCHES, unsigned);
    assert.deepEqual([unsigned.status, unsigned.body.error.code], [401, 'UNICOP_VERIFY_SIGNATURE_MISSING']);
    const text = await postRaw(t, raw, { 'content-type': 'text/plain', 'x-hook-signature': signed(raw).signature }, BATCHES);
    assertMatchesOpenapi('POST', BATCHES, text);
    assert.deepEqual([text.status, text.body.error.code], [415, 'UNICOP_INGEST_UNSUPPORTED_MEDIA_TYPE']);
    const huge = { request_id: body.request_id, events: [interfaceUpdate(51, 5101, 1)] };
    ((huge.events[0] as JsonObject).data as JsonObject).description = 'x'.repeat(t.config.maxBodyBytes);
    const tooLarge = await send(t, BATCHES, huge);
    assert.deepEqual([tooLarge.status, tooLarge.body.error.code], [413, 'UNICOP_INGEST_BODY_TOO_LARGE']);
    const notBatch = await send(t, BATCHES, { request_id: body.request_id, events: [] });
    assert.deepEqual([notBatch.status, notBatch.body.error.code], [400, 'UNICOP_VALIDATE_SCHEMA']);
    assert.ok((notBatch.body.error.details as { pointer: string }[]).some((d) => d.pointer === '/events'));

    const [notice, ...extra] = await consume(t.topics.rejected, 1, { settleMs: 1500 });
    assert.deepEqual(extra, [], 'only the authenticated invalid batch is kept');
    assert.deepEqual(JSON.parse((notice!.value.data as { body: { excerpt: string } }).body.excerpt), { request_id: body.request_id, events: [] });
    const metrics = (await t.http.get('/metrics')).text;
    for (const line of [
      'unicop_batch_requests_total{status="401",code="UNICOP_VERIFY_SIGNATURE_MISSING"} 1',
      'unicop_batch_requests_total{status="415",code="UNICOP_INGEST_UNSUPPORTED_MEDIA_TYPE"} 1',
      'unicop_batch_requests_total{status="413",code="UNICOP_INGEST_BODY_TOO_LARGE"} 1',
      'unicop_batch_requests_total{status="400",code="UNICOP_VALIDATE_SCHEMA"} 1',
    ]) {
      assert.ok(metrics.includes(line), `${line} missing from /metrics`);
    }
    await waitFor(() => t.receiver.store.depth() === 0, 10_000, 'outbox drained');
    assert.equal(await topicSize(t.topics.events), 0, 'no item of a refused batch was stored');
  });
});

describe('batches under a federation file: the secret names the source', function () {
  this.timeout(120_000);
  const A_SECRET = 'nb-a-webhook-secret-0001';
  const B_SECRET = 'nb-b-webhook-secret-0001';
  const prefix = randomPrefix();
  let receiver: Receiver;
  let dataDir: string;
  let http: ReturnType<typeof supertest>;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'unicop-batch-federation-'));
    const file = federationFile({
      cell: 'eu',
      sources: [
        { name: 'nb-a', secrets: [A_SECRET] },
        { name: 'nb-b', secrets: [B_SECRET] },
      ],
      owners: [{ scope: '*', cell: 'eu' }],
      routes: [{ scope: '*', brokers: BROKERS.join(','), topicPrefix: prefix }],
    });
    const config = loadConfig({
      UNICOP_FEDERATION: file,
      ...storeEnv(dataDir),
      UNICOP_TOPIC_PARTITIONS: '3',
      UNICOP_LOG_LEVEL: process.env.UNICOP_TEST_LOG_LEVEL ?? 'silent',
      ...FIXTURE_REPLAY_ENV,
    });
    receiver = createReceiver(config, createLogger(config.logLevel, undefined, secretValues(config)));
    http = supertest(receiver.app);
    // Its topics exist once the relay reached the cluster: readAll subscribes to them.
    await waitFor(() => receiver.relay.reachable, 60_000, 'the route reaches its cluster');
  });
  after(async () => {
    await receiver?.stop(2000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('gives a batch signed with source B’s secret B-qualified keys, and the same device of A its own', async () => {
    const fromB = requestBatch(7, 2);
    const fromA = requestBatch(7, 1);
    const b = await send({ http }, BATCHES, fromB, B_SECRET);
    const a = await send({ http }, BATCHES, fromA, A_SECRET);
    assert.deepEqual(
      [...(b.body.results as ItemResult[]), ...(a.body.results as ItemResult[])].map((r) => r.result),
      ['accepted', 'accepted', 'accepted'],
    );
    const messages = await readAll(BROKERS.join(','), `${prefix}.events.v1`, 3);
    const byId = new Map(messages.map((m) => [m.value.id, m]));
    for (const r of b.body.results as ItemResult[]) {
      const m = byId.get(r.id!);
      assert.deepEqual([m?.key, m?.value.source, m?.value.data.source], ['nb-b/dcim.device:7', 'netbox://nb-b', 'nb-b']);
    }
    const onA = byId.get((a.body.results as ItemResult[])[0]!.id!);
    assert.deepEqual([onA?.key, onA?.value.source], ['nb-a/dcim.device:7', 'netbox://nb-a']);
    // The same item as a webhook signed by B is B's event again: a duplicate.
    const single = await send({ http }, WEBHOOKS, fromB.events[0], B_SECRET);
    assert.deepEqual([single.status, single.body.root, single.body.id], [200, 'nb-b/dcim.device:7', (b.body.results as ItemResult[])[0]!.id]);
  });
});
