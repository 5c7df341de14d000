import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { loadConfig, secretValues } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { JsonObject } from '../../src/model/netbox-webhook.js';
import { createReceiver, type Receiver } from '../../src/receiver.js';
import { federationFile, readAll, secondBroker, type Message } from '../helpers/federation.js';
import { FIXTURE_REPLAY_ENV, interfaceUpdate, signed } from '../helpers/fixtures.js';
import { BROKERS, randomPrefix } from '../helpers/kafka.js';
import { assertOutboxMessagesValid } from '../helpers/message-schemas.js';
import { storeEnv } from '../helpers/store.js';
import { waitFor } from '../helpers/wait-for.js';

const EU_SECRET = 'nb-eu-webhook-secret-0001';
const US_SECRET = 'nb-us-webhook-secret-0001';
const API_TOKEN = 'federation-test-api-token-0001';
/** Route B may hold this many unpublished rows; then only its webhooks get 503. */
const B_LIMIT = 60;

/** An interface update of `device` in `region` (its ancestry given as the plugin's context gives it). */
function change(device: number, n: number, regions: string[]): JsonObject {
  const body = interfaceUpdate(device, device * 100 + 1, n);
  body.context = { unicop: { scope: { tenant: null, site: null, region: regions[0]!, regions } } };
  return body;
}

describe('federation: two NetBox sources, two Kafka clusters, routes by region (real brokers)', function () {
  this.timeout(300_000);
  let broker: Awaited<ReturnType<typeof secondBroker>>;
  let receiver: Receiver;
  let http: ReturnType<typeof supertest>;
  let dataDir: string;
  const prefix = randomPrefix();
  const EMEA = ['de-fra', 'de', 'emea'];
  const AMER = ['us-east', 'amer'];

  before(async () => {
    broker = await secondBroker();
    dataDir = mkdtempSync(join(tmpdir(), 'unicop-federation-'));
    const file = federationFile({
      cell: 'eu',
      sources: [
        { name: 'nb-eu', secrets: [EU_SECRET] },
        { name: 'nb-us', secrets: [US_SECRET] },
      ],
      owners: [
        { scope: { regions: ['emea'] }, cell: 'eu' },
        { scope: '*', cell: 'us' },
      ],
      routes: [
        { scope: { regions: ['emea'] }, brokers: BROKERS.join(','), topicPrefix: prefix, name: 'a' },
        { scope: '*', brokers: broker.brokers, topicPrefix: prefix, name: 'b', outboxLimit: B_LIMIT },
      ],
    });
    const config = loadConfig({
      UNICOP_FEDERATION: file,
      UNICOP_API_TOKENS: API_TOKEN,
      ...storeEnv(dataDir),
      UNICOP_TOPIC_PARTITIONS: '3',
      UNICOP_LOG_LEVEL: process.env.UNICOP_TEST_LOG_LEVEL ?? 'silent',
      ...FIXTURE_REPLAY_ENV,
    });
    receiver = createReceiver(config, createLogger(config.logLevel, undefined, secretValues(config)));
    http = supertest(receiver.app);
    await waitFor(() => [...receiver.relays.values()].every((r) => r.reachable), 60_000, 'both routes reach their clusters');
  });

  after(async () => {
    try {
      // every message the federated receiver queued (events, object states, root projections…) matches its schema
      if (receiver) assertOutboxMessagesValid(receiver.db);
    } finally {
      await receiver?.stop(2000);
      await broker?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const post = (body: JsonObject, secret: string) => {
    const { raw, signature } = signed(body, secret);
    // the exact bytes: superagent would re-serialize a Buffer sent as JSON (helpers/receiver.ts postRaw)
    return http
      .post('/v1/netbox/webhooks')
      .serialize((body: unknown) => body as string)
      .set('content-type', 'application/json')
      .set('x-hook-signature', signature)
      .send(raw as unknown as string);
  };

  it('knows the source by its secret, qualifies keys by source, and puts each event on its region’s cluster', async () => {
    const sent = [
      await post(change(7, 1, EMEA), EU_SECRET),
      await post(change(7, 2, AMER), US_SECRET), // the same device id in the other NetBox: another root
      await post(change(8, 3, EMEA), US_SECRET), // a US source's device in EMEA: route a
    ];
    assert.deepEqual(
      sent.map((r) => [r.status, r.body.root]),
      [
        [202, 'nb-eu/dcim.device:7'],
        [202, 'nb-us/dcim.device:7'],
        [202, 'nb-us/dcim.device:8'],
      ],
    );
    const unknown = await post(change(9, 4, EMEA), 'some-other-secret-0000001');
    assert.equal(unknown.status, 401);

    const onA = await readAll(BROKERS.join(','), `${prefix}.events.v1`, 2);
    const onB = await readAll(broker.brokers, `${prefix}.events.v1`, 1);
    const summary = (messages: Message[]) => messages.map((m) => [m.key, m.value.source, m.value.data.source, m.value.data.route]).sort();
    assert.deepEqual(summary(onA), [
      ['nb-eu/dcim.device:7', 'netbox://nb-eu', 'nb-eu', 'a'],
      ['nb-us/dcim.device:8', 'netbox://nb-us', 'nb-us', 'a'],
    ]);
    assert.deepEqual(summary(onB), [['nb-us/dcim.device:7', 'netbox://nb-us', 'nb-us', 'b']]);
    // the key is the root key on the spine
    for (const m of [...onA, ...onB]) assert.equal(m.key, m.value.data.root.key);

    // the roots API takes the source-qualified key (URL-encoded, as the plugin sends it with `source_name`)
    for (const root of ['nb-eu/dcim.device:7', 'nb-us/dcim.device:7']) {
      const state = await http.get(`/v1/roots/${encodeURIComponent(root)}`).set('authorization', `Bearer ${API_TOKEN}`);
      assert.equal(state.status, 200, JSON.stringify(state.body));
      assert.equal(state.body.root, root);
      assert.equal(state.body.lastSequence, 1);
    }

    const ready = await http.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
    assert.deepEqual(Object.keys(ready.body.checks.routes).sort(), ['a', 'b']);
  });

  for (const signal of ['SIGSTOP', 'SIGKILL'] as const) {
    it(`keeps route a flowing while route b's broker is down (${signal}): b holds up to its limit, then 503 for b alone; 0 lost, order kept`, async () => {
      const stamp = signal === 'SIGSTOP' ? 1000 : 2000;
      const accepted = { a: [] as string[], b: [] as string[] };
      let refusedA = 0;
      let refusedB = 0;
      let n = 0;
      // Ten roots per route, interleaved.
      const send = async (route: 'a' | 'b', count: number): Promise<void> => {
        for (let i = 0; i < count; i++) {
          n++;
          const device = stamp + (route === 'a' ? 0 : 100) + (n % 10);
          const r = await post(change(device, stamp * 10 + n, route === 'a' ? EMEA : AMER), route === 'a' ? EU_SECRET : US_SECRET);
          if (r.status === 202) accepted[route].push(r.body.id as string);
          else if (r.status === 503 && route === 'a') refusedA++;
          else if (r.status === 503) refusedB++;
          else assert.fail(`${route}: ${r.status} ${JSON.stringify(r.body)}`);
        }
      };
      const topicA = `${prefix}.events.v1`;
      const countOnA = async () => (await readAll(BROKERS.join(','), topicA, 0, 1)).length;
      await send('a', 20);
      await send('b', 20);
      const pid = broker.pid();
      process.kill(pid, signal);
      try {
        const aBefore = await countOnA();
        // b fills up to its limit and is then refused; a keeps being accepted and published meanwhile
        await send('b', B_LIMIT + 20);
        await send('a', 40);
        assert.ok(refusedB > 0, 'route b answered 503 once at its limit');
        assert.equal(refusedA, 0, 'route a never answered 503');
        // still in service for route a: degraded, naming b (full, or its cluster unreachable)
        const ready = await http.get('/readyz');
        assert.equal(ready.status, 200);
        assert.equal(ready.body.status, 'degraded');
        const { a, b } = ready.body.checks.routes;
        assert.ok(a.reachable && a.depth < a.limit, JSON.stringify(a));
        assert.ok(!b.reachable || b.depth >= b.limit, JSON.stringify(b));
        await waitFor(async () => (await countOnA()) >= aBefore + 40, 60_000, "route a's events reach cluster a while b is down");
        console.log(`      ${signal}: while b was down, ${(await countOnA()) - aBefore} events of a reached cluster a; b answered ${refusedB} × 503`);
      } finally {
        if (signal === 'SIGSTOP') process.kill(pid, 'SIGCONT');
        else await broker.up();
      }
      await waitFor(() => receiver.store.depth() === 0, 120_000, 'every route drained');
      const onA = (await readAll(BROKERS.join(','), topicA, 0, 1)).filter((m) => accepted.a.includes(m.value.id));
      const onB = (await readAll(broker.brokers, `${prefix}.events.v1`, accepted.b.length)).filter((m) => accepted.b.includes(m.value.id));
      for (const [route, messages] of [
        ['a', onA],
        ['b', onB],
      ] as const) {
        const ids = new Set(messages.map((m) => m.value.id));
        assert.equal(accepted[route].filter((id) => !ids.has(id)).length, 0, `route ${route}: none lost`);
        // at-least-once: a copy of an earlier message may follow; order is about first arrivals
        const first = messages.filter((m, i) => messages.findIndex((o) => o.value.id === m.value.id) === i);
        const last = new Map<string, string>();
        for (const m of first) {
          assert.ok((last.get(m.key) ?? '') < m.value.sequence, `route ${route}: per-root order of ${m.key}`);
          last.set(m.key, m.value.sequence);
        }
      }
    });
  }
});
