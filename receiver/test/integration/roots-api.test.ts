import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SchemaRegistry } from '../../src/schema-registry.js';
import type { EventEnvelope } from '../../src/model/event.js';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { consume } from '../helpers/kafka.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const TOKEN = 'unicop-test-api-token-0123456789';
const isEnvelope = new SchemaRegistry().validator<EventEnvelope>('event-envelope.v1.schema.json');

describe('roots API (/v1/roots, service tokens)', function () {
  this.timeout(60_000);
  let t: TestReceiver;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    t = startTestReceiver({ UNICOP_API_TOKENS: TOKEN });
    for (let n = 1; n <= 3; n++) {
      const { raw, signature } = signed(interfaceUpdate(42, 10 + n, n));
      const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature });
      assert.equal(res.status, 202);
    }
  });
  after(async () => {
    await t.close();
  });

  async function get(path: string, headers: Record<string, string> = auth) {
    const res = await t.http.get(path).set(headers);
    const template = path.split('?')[0]!.replace(/\/v1\/roots\/[^/]+/, '/v1/roots/{root}');
    assertMatchesOpenapi('GET', template, res);
    return res;
  }

  it('refuses calls without a bearer token (401) or with an unknown one (401)', async () => {
    const missing = await get('/v1/roots/dcim.device:42', {});
    assert.deepEqual([missing.status, missing.body.error.code], [401, 'UNICOP_API_TOKEN_MISSING']);
    const wrong = await get('/v1/roots/dcim.device:42', { authorization: 'Bearer not-the-token-at-all' });
    assert.deepEqual([wrong.status, wrong.body.error.code], [401, 'UNICOP_API_TOKEN_INVALID']);
  });

  it('is forbidden (403) when no service token is configured', async () => {
    const closed = startTestReceiver();
    try {
      const res = await closed.http.get('/v1/roots/dcim.device:42').set(auth);
      assert.deepEqual([res.status, res.body.error.code], [403, 'UNICOP_API_DISABLED']);
    } finally {
      await closed.close();
    }
  });

  it('answers 400 for a malformed root key and 404 for a root with no events', async () => {
    const bad = await get('/v1/roots/device-42');
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'UNICOP_API_ROOT_INVALID']);
    const unknown = await get('/v1/roots/dcim.device:999999');
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'UNICOP_API_ROOT_NOT_FOUND']);
  });

  it('shows the root with its last sequence and last event', async () => {
    const res = await get('/v1/roots/dcim.device:42');
    assert.equal(res.status, 200);
    assert.equal(res.body.lastSequence, 3);
    assert.equal(res.body.state, 'idle');
    assert.equal(res.body.lastEvent.sequence, 3);
    assert.equal(res.body.lastEvent.subject, 'dcim.interface:13');
  });

  it('pages the timeline newest first', async () => {
    const first = await get('/v1/roots/dcim.device:42/timeline?limit=2');
    assert.deepEqual(
      first.body.items.map((i: { sequence: number }) => i.sequence),
      [3, 2],
    );
    assert.equal(first.body.next, 2);
    const second = await get(`/v1/roots/dcim.device:42/timeline?limit=2&before=${first.body.next}`);
    assert.deepEqual(
      second.body.items.map((i: { sequence: number }) => i.sequence),
      [1],
    );
    assert.equal(second.body.next, null);
    const bad = await get('/v1/roots/dcim.device:42/timeline?limit=5000');
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'UNICOP_API_QUERY_INVALID']);
  });

  it('turns a reconcile request into a unicop.reconcile.requested event in the root stream, once per Idempotency-Key; a bad token is 401 and publishes nothing', async () => {
    const post = (body: unknown, key?: string) => {
      let req = t.http.post('/v1/roots/dcim.device:42/reconcile').set(auth);
      if (key) req = req.set('idempotency-key', key);
      return req.send(body as object);
    };
    for (const headers of [{}, { authorization: 'Bearer not-the-token-at-all' }, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }]) {
      const refused = await t.http.post('/v1/roots/dcim.device:42/reconcile').set(headers).send({ reason: 'not allowed' });
      assertMatchesOpenapi('POST', '/v1/roots/{root}/reconcile', refused);
      assert.equal(refused.status, 401, `reconcile with ${JSON.stringify(headers)}`);
      assert.match(refused.body.error.code, /^UNICOP_API_TOKEN_(MISSING|INVALID)$/);
    }
    const first = await post({ reason: 'drift suspected' }, 'press-1');
    assertMatchesOpenapi('POST', '/v1/roots/{root}/reconcile', first);
    assert.deepEqual([first.status, first.body.result, first.body.sequence], [202, 'accepted', 4]);
    const again = await post({ reason: 'drift suspected' }, 'press-1');
    assert.deepEqual([again.status, again.body.result, again.body.id], [200, 'duplicate', first.body.id]);
    const invalid = await post({ reason: 'x', force: true });
    assertMatchesOpenapi('POST', '/v1/roots/{root}/reconcile', invalid);
    assert.deepEqual([invalid.status, invalid.body.error.code], [400, 'UNICOP_API_BODY_INVALID']);

    const messages = await consume(t.topics.events, 4);
    const request = messages.find((m) => m.value.type === 'unicop.reconcile.requested');
    assert.ok(request, 'the request reached Kafka');
    assert.equal(messages.filter((m) => m.value.type === 'unicop.reconcile.requested').length, 1, 'the refused requests published nothing');
    assert.equal(request.key, 'dcim.device:42');
    assert.equal(request.headers.message_uuid, first.body.id);
    assert.ok(isEnvelope(request.value));
    assert.equal(request.value.sequence, '00000000000000000004');
    assert.deepEqual((request.value.data as { reason: string }).reason, 'drift suspected');
    const { requestedBy, actor } = request.value.data as { requestedBy: string; actor: unknown };
    assert.match(requestedBy, /^token:[0-9a-f]{12}$/);
    assert.deepEqual(actor, { user: null, principal: requestedBy }, 'no X-Unicop-On-Behalf-Of: no person, only the principal');
  });

  it("records X-Unicop-On-Behalf-Of as the event's actor.user next to the authenticated principal, and the timeline shows that user", async () => {
    const post = (onBehalfOf: string, key: string) =>
      t.http
        .post('/v1/roots/dcim.device:42/reconcile')
        .set(auth)
        .set('idempotency-key', key)
        .set('x-unicop-on-behalf-of', onBehalfOf)
        .send({ reason: 'pressed' });
    const alice = await post('alice', 'obo-alice');
    assertMatchesOpenapi('POST', '/v1/roots/{root}/reconcile', alice);
    assert.equal(alice.status, 202);
    const jurgen = await post('J%C3%BCrgen%20M%C3%BCller', 'obo-jurgen');
    assert.equal(jurgen.status, 202);

    const messages = await consume(t.topics.events, jurgen.body.sequence);
    const byId = (id: string) => messages.find((m) => m.value.id === id);
    const aliceEvent = byId(alice.body.id);
    assert.ok(aliceEvent, 'the request reached Kafka');
    assert.ok(isEnvelope(aliceEvent.value), 'the widened envelope schema accepts actor');
    const data = aliceEvent.value.data as { requestedBy: string; actor: { user: string; principal: string } };
    assert.deepEqual(data.actor, { user: 'alice', principal: data.requestedBy });
    assert.match(data.actor.principal, /^token:[0-9a-f]{12}$/);
    assert.equal((byId(jurgen.body.id)?.value.data as { actor: { user: string } }).actor.user, 'Jürgen Müller');

    const timeline = await get('/v1/roots/dcim.device:42/timeline?limit=5');
    const users = new Map(timeline.body.items.map((i: { id: string; user: string | null }) => [i.id, i.user]));
    assert.equal(users.get(alice.body.id), 'alice');
    assert.equal(users.get(jurgen.body.id), 'Jürgen Müller');
  });

  it('refuses a bad X-Unicop-On-Behalf-Of with 400 UNICOP_API_ON_BEHALF_OF_INVALID and records nothing', async () => {
    const before = t.receiver.store.lastSequence('dcim.device:42');
    const bad = ['', 'x'.repeat(151), '%07bell', 'a%0Ab', '%20alice', 'alice%20', '%E2%80%8Balice', 'broken%E0%A4%A', 'a%00b'];
    for (const [n, value] of bad.entries()) {
      const res = await t.http
        .post('/v1/roots/dcim.device:42/reconcile')
        .set(auth)
        .set('idempotency-key', `bad-obo-${n}`)
        .set('x-unicop-on-behalf-of', value)
        .send({});
      assertMatchesOpenapi('POST', '/v1/roots/{root}/reconcile', res);
      assert.deepEqual([res.status, res.body.error?.code], [400, 'UNICOP_API_ON_BEHALF_OF_INVALID'], JSON.stringify(value));
    }
    const twice = await t.http
      .post('/v1/roots/dcim.device:42/reconcile')
      .set(auth)
      .set('x-unicop-on-behalf-of', ['alice', 'bob'] as unknown as string)
      .send({});
    assert.deepEqual([twice.status, twice.body.error?.code], [400, 'UNICOP_API_ON_BEHALF_OF_INVALID'], 'sent twice');
    const longest = await t.http
      .post('/v1/roots/dcim.device:42/reconcile')
      .set(auth)
      .set('idempotency-key', 'obo-150')
      .set('x-unicop-on-behalf-of', 'y'.repeat(150))
      .send({});
    assert.equal(longest.status, 202, '150 characters is a NetBox username');
    assert.equal(t.receiver.store.lastSequence('dcim.device:42'), before + 1, 'only the valid request was recorded');
  });

  it('says no reconcile policy is configured, and answers a root it holds no record of only when asked with known=any', async () => {
    const held = await get('/v1/roots/dcim.device:42');
    assert.equal(held.body.known, true);
    assert.deepEqual(held.body.policy, { matched: false, reason: 'no reconcile policy configured (UNICOP_RECONCILE_POLICY is not set)' });
    const strict = await get('/v1/roots/dcim.site:5');
    assert.deepEqual([strict.status, strict.body.error.code], [404, 'UNICOP_API_ROOT_NOT_FOUND'], 'the 404 contract stays');
    const any = await get('/v1/roots/dcim.site:5?known=any');
    assert.equal(any.status, 200);
    assert.deepEqual(
      { known: any.body.known, state: any.body.state, lastSequence: any.body.lastSequence, lastEvent: any.body.lastEvent, matched: any.body.policy.matched },
      { known: false, state: 'idle', lastSequence: 0, lastEvent: null, matched: false },
    );
    const bad = await get('/v1/roots/dcim.site:5?known=yes');
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'UNICOP_API_QUERY_INVALID']);
  });

  describe('with a reconcile policy: whether a root would be reconciled', () => {
    let withPolicy: TestReceiver;
    before(async () => {
      withPolicy = startTestReceiver({
        UNICOP_API_TOKENS: TOKEN,
        UNICOP_RECONCILE_POLICY: policyFile([{ ...DEVICE_RULE, match: { rootType: 'dcim.device', objectTypes: ['dcim.interface'] } }]),
      });
      await waitFor(() => withPolicy.receiver.reconciler?.rebuilding === false, 30_000, 'the state rebuild of the new database');
    });
    after(async () => {
      await withPolicy.close();
    });

    it("names the matching rule's job template, or says no rule matches the root type", async () => {
      const ask = async (root: string) => {
        const res = await withPolicy.http.get(`/v1/roots/${root}?known=any`).set(auth);
        assertMatchesOpenapi('GET', '/v1/roots/{root}', res);
        assert.equal(res.status, 200, root);
        return res.body.policy;
      };
      // A reconcile request carries no object type, so a rule limited to some object types still matches it (reconciler.ts).
      assert.deepEqual(await ask('dcim.device:7'), { matched: true, jobTemplate: { name: 'reconcile-device', organization: 'Default' } });
      assert.deepEqual(await ask('dcim.site:7'), { matched: false, reason: 'no rule matches dcim.site' });
    });
  });

  it('refuses to reconcile a root it holds no record of (404), and publishes nothing for it', async () => {
    const res = await t.http.post('/v1/roots/dcim.device:777/reconcile').set(auth).send({});
    assertMatchesOpenapi('POST', '/v1/roots/{root}/reconcile', res);
    assert.deepEqual([res.status, res.body.error.code], [404, 'UNICOP_API_ROOT_NOT_FOUND']);
    assert.equal(t.receiver.store.lastSequence('dcim.device:777'), 0);
  });

  it('treats a repeated request without an Idempotency-Key from the same caller within the window as the same request', async () => {
    const first = await t.http.post('/v1/roots/dcim.device:42/reconcile').set(auth).send({});
    assert.deepEqual([first.status, first.body.result], [202, 'accepted']);
    const again = await t.http.post('/v1/roots/dcim.device:42/reconcile').set(auth).send({});
    assertMatchesOpenapi('POST', '/v1/roots/{root}/reconcile', again);
    assert.deepEqual([again.status, again.body.result, again.body.id, again.body.sequence], [200, 'duplicate', first.body.id, first.body.sequence]);
    assert.equal(t.receiver.store.lastSequence('dcim.device:42'), first.body.sequence, 'one event for both presses');
  });

  it('answers a bad %-encoding in {root} 400, not 500', async () => {
    for (const path of ['/v1/roots/dcim.device%3', '/v1/roots/%E0%A4%A/timeline', '/v1/roots/%ZZ']) {
      const res = await t.http.get(path).set(auth);
      assert.deepEqual([res.status, res.body.error?.code], [400, 'UNICOP_API_ROOT_INVALID'], path);
    }
    const post = await t.http.post('/v1/roots/%E0%A4%A/reconcile').set(auth).send({});
    assert.deepEqual([post.status, post.body.error?.code], [400, 'UNICOP_API_ROOT_INVALID']);
  });

  it('takes the Bearer scheme in any case and refuses a token followed by anything', async () => {
    assert.equal((await get('/v1/roots/dcim.device:42', { authorization: `bearer ${TOKEN}` })).status, 200);
    const junk = await get('/v1/roots/dcim.device:42', { authorization: `Bearer ${TOKEN} junk` });
    assert.deepEqual([junk.status, junk.body.error.code], [401, 'UNICOP_API_TOKEN_MISSING']);
  });

  describe('with NETBOX_URL: a root NetBox confirms can be reconciled before any of its events', () => {
    let netbox: Server;
    let withNetbox: TestReceiver;
    const asked: string[] = [];

    before(async () => {
      // NetBox's object-types and device endpoints, as NetBox 4.7 answers them (core/api/serializers_/object_types.py)
      netbox = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://netbox');
        asked.push(url.pathname);
        const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (url.pathname === '/api/core/object-types/') {
          const known = url.searchParams.get('app_label') === 'dcim' && url.searchParams.get('model') === 'device';
          return json(200, {
            count: known ? 1 : 0,
            next: null,
            results: known ? [{ app_label: 'dcim', model: 'device', rest_api_endpoint: '/api/dcim/devices/' }] : [],
          });
        }
        if (url.pathname === '/api/dcim/devices/7/') return json(200, { id: 7, name: 'made-before-unicop' });
        if (url.pathname === '/api/dcim/devices/9/') return json(500, { detail: 'boom' });
        return json(404, { detail: 'Not found.' });
      });
      await new Promise<void>((resolve) => netbox.listen(0, '127.0.0.1', resolve));
      const { port } = netbox.address() as AddressInfo;
      withNetbox = startTestReceiver({
        UNICOP_API_TOKENS: TOKEN,
        NETBOX_URL: `http://127.0.0.1:${port}`,
        NETBOX_TOKEN: 'netbox-test-token-0123456789',
        UNICOP_CATCHUP_INTERVAL_MS: '3600000',
      });
    });
    after(async () => {
      await withNetbox.close();
      await new Promise((resolve) => netbox.close(resolve));
    });

    it('accepts a device NetBox has, 404s one it lacks or a type it does not know, 502s when NetBox fails', async () => {
      const post = (root: string) => withNetbox.http.post(`/v1/roots/${root}/reconcile`).set(auth).send({});
      const made = await post('dcim.device:7');
      assertMatchesOpenapi('POST', '/v1/roots/{root}/reconcile', made);
      assert.deepEqual([made.status, made.body.result, made.body.sequence], [202, 'accepted', 1]);
      assert.ok(asked.includes('/api/dcim/devices/7/'));
      for (const root of ['dcim.device:8', 'foo.bar:1']) {
        const missing = await post(root);
        assert.deepEqual([missing.status, missing.body.error.code], [404, 'UNICOP_API_ROOT_NOT_FOUND'], root);
      }
      const failing = await post('dcim.device:9');
      assertMatchesOpenapi('POST', '/v1/roots/{root}/reconcile', failing);
      assert.deepEqual([failing.status, failing.body.error.code], [502, 'UNICOP_CLIENT_REQUEST_FAILED']);
      assert.doesNotMatch(JSON.stringify(failing.body), /netbox-test-token/);
    });
  });
});
