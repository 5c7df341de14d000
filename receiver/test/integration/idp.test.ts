import { strict as assert } from 'node:assert';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import got from 'got';
import { loginForToken, LoginRefused, signWithProviderKey, startIdp, type Idp } from '../helpers/idp.js';

describe('local OpenID provider (scripts/idp)', function () {
  this.timeout(120_000);
  let idp: Idp;

  before(async () => {
    idp = await startIdp();
  });
  after(async () => {
    await idp?.stop();
  });

  const verify = (token: string) =>
    jwtVerify(token, createRemoteJWKSet(new URL(`${idp.issuer}/jwks`)), { issuer: idp.issuer, audience: idp.audience, algorithms: ['RS256'] });

  it('gives a user who logs in a JWT access token for the receiver with their name and groups', async () => {
    const { accessToken } = await loginForToken(idp, 'alice', idp.password('alice'));
    const { payload, protectedHeader } = await verify(accessToken);
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.iss, idp.issuer);
    assert.equal(payload.aud, idp.audience);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.preferred_username, 'alice');
    assert.deepEqual(payload.groups, ['netops-emea']);
  });

  it('puts the user name, e-mail and groups in the ID token', async () => {
    const { idToken } = await loginForToken(idp, 'bob', idp.password('bob'));
    const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(`${idp.issuer}/jwks`)), {
      issuer: idp.issuer,
      audience: idp.env.IDP_CLI_CLIENT_ID,
    });
    assert.equal(payload.preferred_username, 'bob');
    assert.equal(payload.email, 'bob@example.net');
    assert.deepEqual(payload.groups, ['netops-amer']);
  });

  it('refuses a wrong password', async () => {
    await assert.rejects(loginForToken(idp, 'alice', `${idp.password('alice')}x`), LoginRefused);
    await assert.rejects(loginForToken(idp, 'alice', idp.password('bob')), LoginRefused);
    await assert.rejects(loginForToken(idp, 'mallory', idp.password('alice')), LoginRefused);
  });

  it('gives a machine client a JWT for the receiver through client credentials', async () => {
    const { access_token: token } = await got
      .post(`${idp.issuer}/token`, {
        form: { grant_type: 'client_credentials', scope: 'unicop' },
        username: idp.env.IDP_MACHINE_CLIENT_ID,
        password: idp.env.IDP_MACHINE_CLIENT_SECRET,
      })
      .json<{ access_token: string }>();
    const { payload } = await verify(token);
    assert.equal(payload.client_id, idp.env.IDP_MACHINE_CLIENT_ID);
    assert.equal(payload.groups, undefined);
  });

  it('signs crafted tokens with its real key, so a verifier tells them apart only by their claims', async () => {
    await verify(await signWithProviderKey(idp, { sub: 'carol', groups: ['auditors'] }));
    const now = Math.floor(Date.now() / 1000);
    await assert.rejects(verify(await signWithProviderKey(idp, { sub: 'carol', exp: now - 600, iat: now - 900 })), { code: 'ERR_JWT_EXPIRED' });
    await assert.rejects(verify(await signWithProviderKey(idp, { sub: 'carol', aud: 'urn:other' })), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  });

  it('publishes a new kid after rotate, keeps the old one, and signs new tokens with the new one', async () => {
    const before = await got(`${idp.issuer}/jwks`).json<{ keys: { kid: string }[] }>();
    const { accessToken: old } = await loginForToken(idp, 'carol', idp.password('carol'));
    const kid = await idp.rotate();
    const after = await got(`${idp.issuer}/jwks`).json<{ keys: { kid: string }[] }>();
    assert.ok(!before.keys.some((k) => k.kid === kid), 'the new kid was not published before');
    assert.deepEqual(
      after.keys.map((k) => k.kid),
      [kid, ...before.keys.map((k) => k.kid)],
    );
    const { accessToken } = await loginForToken(idp, 'carol', idp.password('carol'));
    assert.equal(decodeProtectedHeader(accessToken).kid, kid);
    await verify(old);
  });
});
