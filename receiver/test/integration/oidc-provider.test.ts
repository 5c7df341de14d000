import { strict as assert } from 'node:assert';
import { signed } from '../helpers/fixtures.js';
import { deviceUpdate, iamPolicyFile } from '../helpers/iam.js';
import { loginForToken, signWithProviderKey, startIdp, type Idp } from '../helpers/idp.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';

describe('OIDC with the local OpenID provider (scripts/idp: real login, real keys, discovery)', function () {
  this.timeout(120_000);
  let idp: Idp;
  let t: TestReceiver;

  before(async () => {
    idp = await startIdp();
    const policy = iamPolicyFile({
      version: 1,
      roles: { operator: ['roots:read', 'roots:reconcile'] },
      bindings: [{ subjects: { groups: ['netops-emea'] }, role: 'operator', scope: { regions: ['emea'] } }],
    });
    t = startTestReceiver({ UNICOP_IAM_POLICY: policy, UNICOP_OIDC_ISSUER: idp.issuer, UNICOP_OIDC_AUDIENCE: idp.audience }, { jwksCooldownMs: 0 });
    for (const [id, regions] of [
      [801, ['nl', 'emea']],
      [802, ['us-east', 'amer']],
    ] as const) {
      const { raw, signature } = signed(deviceUpdate(id, { site: `s${id}`, region: regions[0], regions: [...regions] }, 1));
      assert.equal((await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature })).status, 202);
    }
  });
  after(async () => {
    await t?.close();
    await idp?.stop();
  });

  const get = (root: string, token: string) => t.http.get(`/v1/roots/${root}`).set('authorization', `Bearer ${token}`);

  it("takes a user's access token from the provider's login, within the group's scope only", async () => {
    const { accessToken } = await loginForToken(idp, 'alice', idp.password('alice'));
    const inScope = await get('dcim.device:801', accessToken);
    assert.equal(inScope.status, 200, JSON.stringify(inScope.body));
    assert.equal((await get('dcim.device:802', accessToken)).status, 404);
  });

  it('takes tokens signed with a new key after `scripts/idp rotate`, and refuses an expired one', async () => {
    const kid = await idp.rotate();
    const token = await signWithProviderKey(idp, { sub: 'alice', preferred_username: 'alice', groups: ['netops-emea'] });
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid, kid);
    assert.equal((await get('dcim.device:801', token)).status, 200);
    const now = Math.floor(Date.now() / 1000);
    const expired = await signWithProviderKey(idp, { sub: 'alice', preferred_username: 'alice', groups: ['netops-emea'], iat: now - 900, exp: now - 600 });
    const res = await get('dcim.device:801', expired);
    assert.deepEqual([res.status, res.body.error.code], [401, 'UNICOP_API_TOKEN_EXPIRED']);
  });
});
