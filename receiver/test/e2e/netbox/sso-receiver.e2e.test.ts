/**
 * One identity for NetBox and the receiver's API: alice signs in to NetBox through the local OpenID provider, then
 * calls the receiver with an access token from the same provider, which the receiver verifies against the
 * provider's JWKS and authorizes with the IAM policy (ARCHITECTURE.md "Identity and access": UNICOP_OIDC_ISSUER,
 * UNICOP_OIDC_AUDIENCE, UNICOP_IAM_POLICY; 401 codes UNICOP_API_TOKEN_MISSING / _EXPIRED).
 *
 * Needs what sso.e2e.test.ts and receiver-under-test.ts need.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got from 'got';
import { loginForToken, runningIdp, signWithProviderKey, type Idp } from '../../helpers/idp.js';
import { makeDevice, netbox, requireNetbox, runTag, type NetboxList, type NetboxObject } from '../../helpers/netbox.js';
import { waitFor } from '../../helpers/wait-for.js';
import { ssoLogin } from '../../helpers/netbox-sso.js';
import { API_TOKEN, RECEIVER_URL, startReceiver, stopReceiver, writeIamPolicy } from './receiver-under-test.js';

describe('the same identity provider for NetBox and the receiver API', function () {
  this.timeout(180_000);
  const work = mkdtempSync(join(tmpdir(), 'unicop-sso-receiver-'));
  let idp: Idp;

  let root = '';
  const roots = (authorization?: string) =>
    got(`${RECEIVER_URL}/v1/roots/${encodeURIComponent(root)}`, {
      headers: authorization ? { authorization } : {},
      throwHttpErrors: false,
      retry: { limit: 0 },
    });
  const errorCode = (body: string): string | undefined => (JSON.parse(body) as { error?: { code?: string } }).error?.code;

  before(async () => {
    requireNetbox();
    idp = runningIdp();
    const policy = writeIamPolicy(work, [{ subjects: { groups: ['netops-emea'] }, role: 'operator', scope: { regions: ['emea'] } }]);
    await stopReceiver();
    await startReceiver({ UNICOP_OIDC_ISSUER: idp.issuer, UNICOP_OIDC_AUDIENCE: idp.audience, UNICOP_IAM_POLICY: policy });

    // a device in a child region of "emea": alice's binding covers it through the region ancestry events carry
    const tag = runTag();
    const existing = (await netbox<NetboxList>('GET', 'dcim/regions/?slug=emea')).results[0];
    const emea = existing ?? (await netbox<NetboxObject>('POST', 'dcim/regions/', { name: 'EMEA', slug: 'emea' }));
    const child = await netbox('POST', 'dcim/regions/', { name: `e2e-${tag}`, slug: `e2e-${tag}`, parent: emea.id });
    const { device } = await makeDevice(tag, { region: child.id });
    root = `dcim.device:${device.id}`;
    await waitFor(async () => (await roots(`Bearer ${API_TOKEN}`)).statusCode === 200, 60_000, `the receiver knows ${root}`);
  });

  after(async () => {
    // the other NetBox e2e files expect the receiver as receiver-under-test.ts starts it
    await stopReceiver();
    await startReceiver();
    rmSync(work, { recursive: true, force: true });
  });

  it('lets alice, signed in to NetBox through the provider, call the API with its access token', async () => {
    await ssoLogin(idp, 'alice', idp.password('alice'));
    const { accessToken } = await loginForToken(idp, 'alice', idp.password('alice'));
    const answer = await roots(`Bearer ${accessToken}`);
    assert.equal(answer.statusCode, 200, `GET /v1/roots/${root} with alice's token → ${answer.statusCode}: ${answer.body}`);
    // bob's group is bound nowhere here: the same root is outside his scope, answered as if unknown
    const bob = await loginForToken(idp, 'bob', idp.password('bob'));
    const hidden = await roots(`Bearer ${bob.accessToken}`);
    assert.equal(hidden.statusCode, 404);
    assert.equal(errorCode(hidden.body), 'UNICOP_API_ROOT_NOT_FOUND');
  });

  it('answers 401 with the contract codes for no token and for an expired one signed by the provider', async () => {
    const none = await roots();
    assert.equal(none.statusCode, 401);
    assert.equal(errorCode(none.body), 'UNICOP_API_TOKEN_MISSING');
    const now = Math.floor(Date.now() / 1000);
    const expired = await signWithProviderKey(idp, { sub: 'alice', preferred_username: 'alice', groups: ['netops-emea'], iat: now - 900, exp: now - 600 });
    const late = await roots(`Bearer ${expired}`);
    assert.equal(late.statusCode, 401);
    assert.equal(errorCode(late.body), 'UNICOP_API_TOKEN_EXPIRED');
    assert.ok(!late.body.includes(expired), 'the answer never echoes the token');
  });
});
