import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { SignJWT, base64url } from 'jose';
import { createOidcVerifier } from '../../src/iam/oidc-verifier.js';
import type { UnicopError } from '../../src/errors.js';
import { grantWebhookBody } from '../helpers/access-grants.js';
import { signed } from '../helpers/fixtures.js';
import { TestIssuer, deviceUpdate, iamPolicyFile } from '../helpers/iam.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';

const AUDIENCE = 'unicop-api';
const ROOT = '/v1/roots/dcim.device:501';

describe('OIDC bearer tokens on /v1 (real JWKS server, jose keys)', function () {
  this.timeout(60_000);
  let issuer: TestIssuer;
  let t: TestReceiver;
  let logs = '';

  before(async () => {
    issuer = await new TestIssuer().start();
    const policy = iamPolicyFile({
      version: 1,
      roles: { viewer: ['roots:read'] },
      bindings: [
        { subjects: { users: ['alice'] }, role: 'viewer', scope: '*' },
        { subjects: { groups: ['netops'] }, role: 'viewer', scope: '*' },
      ],
    });
    const log = new PassThrough();
    log.on('data', (d: Buffer) => (logs += d.toString()));
    // No cooldown here, so a rotation is seen at once; the rate limit has its own test below.
    t = startTestReceiver({ UNICOP_IAM_POLICY: policy, UNICOP_OIDC_ISSUER: issuer.issuer, UNICOP_OIDC_AUDIENCE: AUDIENCE }, { jwksCooldownMs: 0, log });
    const { raw, signature } = signed(deviceUpdate(501, { site: 'ams1' }, 1));
    assert.equal((await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature })).status, 202);
  });
  after(async () => {
    await t.close();
    await issuer.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const tokensSent: string[] = [];

  async function call(token: string) {
    tokensSent.push(token);
    return t.http.get(ROOT).set('authorization', `Bearer ${token}`);
  }

  async function refused(token: string, code: string) {
    const res = await call(token);
    assert.deepEqual([res.status, res.body.error?.code], [401, code], JSON.stringify(res.body));
    // The error body is the contract's shape and nothing else: no stack, no jose text, no token.
    assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'details', 'message']);
    assert.doesNotMatch(res.text, /\bat .+:\d+:\d+|stack|JWS|JWT[A-Z]/);
    assert.ok(!res.text.includes(token));
  }

  it('accepts a valid token of a bound user, discovered through the issuer, and of a bound group', async () => {
    assert.equal((await call(await issuer.sign(AUDIENCE, { preferred_username: 'alice' }))).status, 200);
    assert.equal((await call(await issuer.sign(AUDIENCE, { preferred_username: 'bob', groups: ['netops'] }))).status, 200);
  });

  it('tolerates 30 s of clock skew on exp, not more', async () => {
    assert.equal((await call(await issuer.sign(AUDIENCE, { preferred_username: 'alice', exp: now() - 10 }))).status, 200);
    await refused(await issuer.sign(AUDIENCE, { preferred_username: 'alice', exp: now() - 60 }), 'UNICOP_API_TOKEN_EXPIRED');
  });

  it('refuses a token that is not valid yet', async () => {
    await refused(await issuer.sign(AUDIENCE, { preferred_username: 'alice', nbf: now() + 120 }), 'UNICOP_API_TOKEN_NOT_YET_VALID');
  });

  it('refuses another issuer and another audience', async () => {
    await refused(await issuer.sign(AUDIENCE, { preferred_username: 'alice', iss: 'http://127.0.0.1:1/evil' }), 'UNICOP_API_TOKEN_ISSUER');
    await refused(await issuer.sign('another-api', { preferred_username: 'alice' }), 'UNICOP_API_TOKEN_AUDIENCE');
  });

  it('refuses alg none', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify({ iss: issuer.issuer, aud: AUDIENCE, exp: now() + 300, preferred_username: 'alice' }));
    await refused(`${header}.${payload}.`, 'UNICOP_API_TOKEN_ALGORITHM');
  });

  it("refuses HS256 signed with the provider's public key as the secret", async () => {
    const jwk = issuer.publicJwk();
    const token = await new SignJWT({ iss: issuer.issuer, aud: AUDIENCE, exp: now() + 300, preferred_username: 'alice' })
      .setProtectedHeader({ alg: 'HS256', kid: jwk.kid })
      .sign(new TextEncoder().encode(JSON.stringify(jwk)));
    await refused(token, 'UNICOP_API_TOKEN_ALGORITHM');
  });

  it('refuses a tampered payload and a malformed header', async () => {
    const [h, , s] = (await issuer.sign(AUDIENCE, { preferred_username: 'bob' })).split('.');
    const forged = base64url.encode(JSON.stringify({ iss: issuer.issuer, aud: AUDIENCE, exp: now() + 300, preferred_username: 'alice' }));
    await refused(`${h}.${forged}.${s}`, 'UNICOP_API_TOKEN_INVALID');
    await refused(`${base64url.encode('{"alg":')}.${forged}.${s}`, 'UNICOP_API_TOKEN_INVALID');
    await refused('e30.e30.e30', 'UNICOP_API_TOKEN_INVALID');
  });

  it('refuses a token naming no user', async () => {
    await refused(await issuer.sign(AUDIENCE, { sub: 'x' }), 'UNICOP_API_TOKEN_INVALID');
  });

  it('refuses an unknown kid, then accepts it once the provider publishes the key (rotation)', async () => {
    const next = await issuer.unpublishedKey();
    const token = await issuer.sign(AUDIENCE, { preferred_username: 'alice' }, next);
    await refused(token, 'UNICOP_API_TOKEN_KEY_UNKNOWN');
    const kid = await issuer.rotate();
    assert.equal((await call(await issuer.sign(AUDIENCE, { preferred_username: 'alice' }))).status, 200, `rotated to ${kid}`);
  });

  it("honours a temporary grant from NetBox as an extra binding of the user's JWT", async () => {
    const carol = await issuer.sign(AUDIENCE, { preferred_username: 'carol' });
    assert.equal((await call(carol)).status, 404);
    const grant = grantWebhookBody({
      id: 91,
      action: 'created',
      createdAt: Date.now(),
      expiresAt: Date.now() + 3_600_000,
      user: 'carol',
      role: 'viewer',
      scope: { sites: ['ams1'] },
    });
    const { raw, signature } = signed(grant);
    assert.equal((await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature })).status, 202);
    assert.equal((await call(carol)).status, 200);
  });

  it('counts key set fetches on /metrics', async () => {
    const metrics = (await t.http.get('/metrics')).text;
    const fetches = Number(/^unicop_oidc_jwks_fetches_total (\d+)/m.exec(metrics)?.[1]);
    assert.ok(fetches >= 2 && fetches === issuer.jwksRequests, `${fetches} counted, ${issuer.jwksRequests} served`);
  });

  it('writes no token into its logs', () => {
    assert.ok(logs.length > 0, 'the receiver logged at debug level');
    for (const token of tokensSent) assert.ok(!logs.includes(token), 'a token reached the log');
  });
});

describe('OIDC key set refetch is rate-limited (cooldown)', function () {
  this.timeout(30_000);

  it('makes no extra JWKS fetch for a storm of unknown kids within the cooldown', async () => {
    const issuer = await new TestIssuer().start();
    try {
      let fetches = 0;
      const verify = createOidcVerifier({
        issuer: issuer.issuer,
        audience: AUDIENCE,
        jwksUrl: `${issuer.url}/jwks`,
        discover: () => Promise.reject(new Error('not used')),
        groupsClaim: 'groups',
        usernameClaim: 'preferred_username',
        onJwksFetch: () => fetches++,
        cooldownMs: 60_000,
      });
      assert.equal((await verify(await issuer.sign(AUDIENCE, { preferred_username: 'alice' }))).kind, 'user');
      for (let i = 0; i < 20; i++) {
        const token = await issuer.sign(AUDIENCE, { preferred_username: 'alice' }, await issuer.unpublishedKey());
        await assert.rejects(verify(token), (e: UnicopError) => e.code === 'UNICOP_API_TOKEN_KEY_UNKNOWN');
      }
      assert.equal(fetches, 1);
      assert.equal(issuer.jwksRequests, 1);
    } finally {
      await issuer.close();
    }
  });

  it('answers 503 UNICOP_API_OIDC_UNAVAILABLE when discovery fails, without asking again at once', async () => {
    let asked = 0;
    const verify = createOidcVerifier({
      issuer: 'http://127.0.0.1:1',
      audience: AUDIENCE,
      jwksUrl: null,
      discover: () => {
        asked++;
        return Promise.reject(new Error('ECONNREFUSED'));
      },
      groupsClaim: 'groups',
      usernameClaim: 'preferred_username',
      onJwksFetch: () => undefined,
    });
    for (let i = 0; i < 3; i++) await assert.rejects(verify('a.b.c'), (e: UnicopError) => e.code === 'UNICOP_API_OIDC_UNAVAILABLE' && e.httpStatus === 503);
    assert.equal(asked, 1);
  });
});
