import { strict as assert } from 'node:assert';
import { signed } from '../helpers/fixtures.js';
import { deviceUpdate, iamPolicyFile, sha256hex, type ScopeSlugs } from '../helpers/iam.js';
import { consume } from '../helpers/kafka.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const TOKENS = {
  emeaOps: 'emea-ops-token-0123456789abcdef',
  nycViewer: 'nyc-viewer-token-0123456789abcd',
  everywhere: 'everywhere-viewer-token-01234567',
};
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Roots: 601 in Amsterdam (region nl, child of emea), 602 in New York, 603 with no recorded scope. */
const DEVICES: [number, ScopeSlugs][] = [
  [601, { tenant: 'acme', site: 'ams1', region: 'nl', regions: ['nl', 'emea'] }],
  [602, { tenant: 'globex', site: 'nyc1', region: 'us-east', regions: ['us-east', 'amer'] }],
];

describe('IAM policy on /v1/roots (service tokens, scopes, audit)', function () {
  this.timeout(90_000);
  let t: TestReceiver;

  before(async () => {
    const policy = iamPolicyFile({
      version: 1,
      roles: { viewer: ['roots:read'], operator: ['roots:read', 'roots:reconcile'] },
      tokens: Object.entries(TOKENS).map(([name, token]) => ({ name, sha256: sha256hex(token) })),
      bindings: [
        { subjects: { tokens: ['emeaOps'] }, role: 'operator', scope: { regions: ['emea'] } },
        { subjects: { tokens: ['nycViewer'] }, role: 'viewer', scope: { sites: ['nyc1'] } },
        { subjects: { tokens: ['everywhere'] }, role: 'viewer', scope: '*' },
      ],
    });
    t = startTestReceiver({ UNICOP_IAM_POLICY: policy, UNICOP_RECONCILE_POLICY: policyFile([DEVICE_RULE]) });
    // a new database rebuilds the reconcile state first, and the roots API answers 503 until it is done
    await waitFor(() => t.receiver.reconciler?.rebuilding === false, 30_000, 'the state rebuild of the new database');
    for (const [id, scope] of DEVICES) {
      const { raw, signature } = signed(deviceUpdate(id, scope, 1));
      assert.equal((await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature })).status, 202);
    }
    // 603's events name no tenant, site or region: nothing places it anywhere.
    const { raw, signature } = signed(deviceUpdate(603, {}, 1));
    assert.equal((await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature })).status, 202);
  });
  after(async () => {
    await t.close();
  });

  async function get(path: string, token: string) {
    const res = await t.http.get(path).set(bearer(token));
    assertMatchesOpenapi('GET', path.split('?')[0]!.replace(/\/v1\/roots\/[^/]+/, '/v1/roots/{root}'), res);
    return res;
  }

  it('lets a region binding cover a root in a child region (the root carries its region ancestry)', async () => {
    const res = await get('/v1/roots/dcim.device:601', TOKENS.emeaOps);
    assert.equal(res.status, 200);
    assert.equal((await get('/v1/roots/dcim.device:601/timeline', TOKENS.emeaOps)).status, 200);
  });

  it('answers a root outside the caller’s scope exactly as an unknown root (404, same body)', async () => {
    for (const suffix of ['', '/timeline']) {
      const hidden = await get(`/v1/roots/dcim.device:602${suffix}`, TOKENS.emeaOps);
      const unknown = await get(`/v1/roots/dcim.device:602${suffix}`.replace('602', '699'), TOKENS.emeaOps);
      assert.equal(hidden.status, 404);
      assert.deepEqual(hidden.body, JSON.parse(JSON.stringify(unknown.body).replaceAll('699', '602')));
    }
    const hiddenAny = await get('/v1/roots/dcim.device:602?known=any', TOKENS.emeaOps);
    assert.deepEqual([hiddenAny.status, hiddenAny.body.known, hiddenAny.body.lastSequence], [200, false, 0]);
  });

  it('lets only "*" bindings see a root without a recorded scope', async () => {
    assert.equal((await get('/v1/roots/dcim.device:603', TOKENS.everywhere)).status, 200);
    assert.equal((await get('/v1/roots/dcim.device:603', TOKENS.emeaOps)).status, 404);
  });

  it('forbids (403) a reconcile in scope without the permission, and hides (404) one out of scope', async () => {
    const forbidden = await t.http.post('/v1/roots/dcim.device:602/reconcile').set(bearer(TOKENS.nycViewer)).send({});
    assert.deepEqual([forbidden.status, forbidden.body.error.code], [403, 'UNICOP_API_FORBIDDEN']);
    assertMatchesOpenapi('POST', '/v1/roots/{root}/reconcile', forbidden);
    const hidden = await t.http.post('/v1/roots/dcim.device:601/reconcile').set(bearer(TOKENS.nycViewer)).send({});
    const unknown = await t.http.post('/v1/roots/dcim.device:698/reconcile').set(bearer(TOKENS.nycViewer)).send({});
    assert.equal(hidden.status, 404);
    assert.deepEqual(hidden.body, JSON.parse(JSON.stringify(unknown.body).replaceAll('698', '601')));
  });

  it('records the principal and the person acted for on a reconcile request', async () => {
    const res = await t.http
      .post('/v1/roots/dcim.device:601/reconcile')
      .set({ ...bearer(TOKENS.emeaOps), 'x-unicop-on-behalf-of': 'alice' })
      .send({ reason: 'iam test' });
    assert.equal(res.status, 202);
    const events = await consume(t.topics.events, 4, { settleMs: 200 });
    const request = events.find((e) => e.value.id === res.body.id);
    const data = request?.value.data as { requestedBy: string; actor: { principal: string; user: string } };
    assert.deepEqual([data.requestedBy, data.actor.principal, data.actor.user], ['token:emeaOps', 'token:emeaOps', 'alice']);
  });

  it('lists only the roots the caller may read', async () => {
    const all = await waitFor(
      async () => {
        const res = await get('/v1/roots?state=requested', TOKENS.everywhere);
        return res.body.items.length === 3 ? res.body.items : null;
      },
      30_000,
      'three roots requested',
    );
    assert.equal(all.length, 3);
    const emea = await get('/v1/roots?state=requested', TOKENS.emeaOps);
    assert.deepEqual(
      emea.body.items.map((i: { root: string }) => i.root),
      ['dcim.device:601'],
    );
    const limited = await get('/v1/roots?state=requested&limit=1', TOKENS.nycViewer);
    assert.deepEqual(
      limited.body.items.map((i: { root: string }) => i.root),
      ['dcim.device:602'],
    );
  });

  it('puts a deny and a reconcile on the audit topic, keyed by principal, without any token or hash', async () => {
    const anonymous = await t.http.get('/v1/roots/dcim.device:601').set('authorization', `Bearer ${TOKENS.emeaOps}x`);
    assert.deepEqual([anonymous.status, anonymous.body.error.code], [401, 'UNICOP_API_TOKEN_INVALID']);
    const messages = await waitFor(
      async () => {
        const got = await consume(t.topics.audit, 1, { settleMs: 200, timeoutMs: 10_000 });
        const hasAll =
          got.some((m) => m.key === 'anonymous') &&
          got.some((m) => m.key === 'token:emeaOps' && (m.value.data as { action: string }).action === 'roots:reconcile') &&
          got.some((m) => m.key === 'token:nycViewer' && (m.value.data as { code: string }).code === 'UNICOP_API_FORBIDDEN');
        return hasAll ? got : null;
      },
      30_000,
      'audit messages',
    );
    const reconcile = messages.find((m) => m.key === 'token:emeaOps' && (m.value.data as { action: string }).action === 'roots:reconcile')!;
    assert.deepEqual(
      { ...(reconcile.value.data as object), at: 'x', requestId: 'x' },
      {
        principal: 'token:emeaOps',
        action: 'roots:reconcile',
        target: 'dcim.device:601',
        scope: { tenant: 'acme', site: 'ams1', regions: ['nl', 'emea'] },
        decision: 'allow',
        reason: 'reconcile requested',
        code: null,
        at: 'x',
        requestId: 'x',
      },
    );
    const hiddenDeny = messages.find((m) => m.key === 'token:emeaOps' && (m.value.data as { code: string }).code === 'UNICOP_API_ROOT_NOT_FOUND');
    assert.equal((hiddenDeny?.value.data as { decision: string }).decision, 'deny');
    const anon = messages.find((m) => m.key === 'anonymous')!;
    assert.deepEqual(
      [(anon.value.data as { code: string }).code, (anon.value.data as { target: string }).target],
      ['UNICOP_API_TOKEN_INVALID', 'dcim.device:601'],
    );
    const text = JSON.stringify(messages);
    for (const token of Object.values(TOKENS)) {
      assert.ok(!text.includes(token) && !text.includes(sha256hex(token)), 'a token or its hash reached the audit topic');
    }
  });
});
