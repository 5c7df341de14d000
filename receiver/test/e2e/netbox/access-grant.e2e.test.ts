/**
 * Temporary access end to end (issue "identity and access", item 6; docs/access-grants.md): an AccessGrant of 20 s
 * made in NetBox gives dave — who has no binding of his own — the operator role on one site, in NetBox (the grant's
 * ObjectPermission) and on the receiver's API (an extra IAM binding, his token from the local OpenID provider),
 * and both refuse him again after the expiry: once with the receiver running, once with it stopped across the
 * expiry. Each grant is one `unicop.access.granted` and one `unicop.access.expired` on `<prefix>.access.v1`.
 *
 * Needs what receiver-under-test.ts and sso.e2e.test.ts need (NetBox with the plugin and SSO, the provider).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got from 'got';
import { consume, topicSize } from '../../helpers/kafka.js';
import { loginForToken, runningIdp, type Browser, type Idp } from '../../helpers/idp.js';
import { makeDevice, netbox, NETBOX_URL, requireNetbox, runTag, type NetboxList, type NetboxObject } from '../../helpers/netbox.js';
import { ssoLogin } from '../../helpers/netbox-sso.js';
import { waitFor } from '../../helpers/wait-for.js';
import { API_TOKEN, RECEIVER_URL, startReceiver, stopReceiver, TOPIC_PREFIX, writeIamPolicy } from './receiver-under-test.js';

const GRANT_S = 20;
/** The contract: the receiver stops honouring an expired grant within 10 s (it checks the clock on every call). */
const HONOURED_WITHIN_MS = 10_000;
const ACCESS_TOPIC = `${TOPIC_PREFIX}.access.v1`;

describe('a temporary access grant of 20 s, in NetBox and on the receiver API', function () {
  this.timeout(300_000);
  const work = mkdtempSync(join(tmpdir(), 'unicop-access-grant-'));
  let idp: Idp;
  let env: Record<string, string>;
  let dave: { browser: Browser; id: number; token: string };
  let device: NetboxObject;
  let site: NetboxObject;
  let root: string;

  /** dave's answer from the receiver for the device's root (200 while a grant covers it, 404 outside his scope). */
  const daveReadsRoot = async (): Promise<number> =>
    (
      await got(`${RECEIVER_URL}/v1/roots/${encodeURIComponent(root)}`, {
        headers: { authorization: `Bearer ${dave.token}` },
        throwHttpErrors: false,
        retry: { limit: 0 },
      })
    ).statusCode;
  /**
   * dave's answer from NetBox for the device, with his SSO session: 200 with a permission covering it; 403 without
   * any view permission on devices, 404 with one whose constraints leave the device out.
   */
  const daveSeesDevice = async (): Promise<number> => (await dave.browser.get(`${NETBOX_URL}/api/dcim/devices/${device.id}/`)).statusCode;

  async function grant(seconds: number): Promise<{ id: number; key: string; expiresAt: number }> {
    const expiresAt = Date.now() + seconds * 1000;
    const made = await netbox<NetboxObject & { permission: number | null }>('POST', 'plugins/unicop/access-grants/', {
      user: dave.id,
      role: 'operator',
      scope: { sites: [site.slug] },
      reason: 'e2e: incident drill',
      expires_at: new Date(expiresAt).toISOString(),
    });
    return { id: made.id, key: `unicop_netbox.accessgrant:${made.id}`, expiresAt };
  }

  /** The access messages about one grant: their types, in Kafka order. */
  async function accessMessages(key: string): Promise<string[]> {
    const all = await consume(ACCESS_TOPIC, await topicSize(ACCESS_TOPIC), { timeoutMs: 30_000, settleMs: 500 });
    return all.filter((m) => m.key === key).map((m) => String(m.value.type));
  }

  /** The grant's ObjectPermissions in NetBox (`unicop:grant:<id>`, or one `unicop:grant:<id>:<type>` per root type its scope covers). */
  async function grantPermissions(id: number): Promise<number> {
    const base = `unicop:grant:${id}`;
    const found = await netbox<NetboxList<{ name: string }>>('GET', `users/permissions/?q=${encodeURIComponent(base)}&limit=1000`);
    return found.results.filter((p) => p.name === base || p.name.startsWith(`${base}:`)).length;
  }

  before(async () => {
    requireNetbox();
    idp = runningIdp();
    // dave is bound to nothing: whatever he may do comes from the grant
    const policy = writeIamPolicy(work, []);
    env = { UNICOP_OIDC_ISSUER: idp.issuer, UNICOP_OIDC_AUDIENCE: idp.audience, UNICOP_IAM_POLICY: policy };
    await stopReceiver();
    await startReceiver(env);

    ({ site, device } = await makeDevice(`grant-${runTag()}`));
    root = `dcim.device:${device.id}`;
    const { browser } = await ssoLogin(idp, 'dave', idp.password('dave'));
    const user = (await netbox<NetboxList>('GET', 'users/users/?username=dave')).results[0];
    assert.ok(user, 'SSO made dave a NetBox user');
    dave = { browser, id: user.id, token: (await loginForToken(idp, 'dave', idp.password('dave'))).accessToken };
    // the receiver knows the device (its created event arrived) before dave asks about it
    await waitFor(
      async () =>
        (await got(`${RECEIVER_URL}/v1/roots/${encodeURIComponent(root)}`, { headers: { authorization: `Bearer ${API_TOKEN}` }, throwHttpErrors: false }))
          .statusCode === 200,
      60_000,
      `the receiver knows ${root}`,
    );
    assert.equal(await daveReadsRoot(), 404, 'without a grant the root is outside dave’s scope: 404 as if unknown');
    assert.equal(await daveSeesDevice(), 403, 'without a grant NetBox refuses dave the device');
  });

  after(async () => {
    await stopReceiver();
    await startReceiver();
    rmSync(work, { recursive: true, force: true });
  });

  it('is honoured on both sides within seconds, refused after its expiry, and is one granted and one expired message', async () => {
    const g = await grant(GRANT_S);
    assert.ok((await grantPermissions(g.id)) > 0, 'the grant’s ObjectPermission exists with it');
    await waitFor(async () => (await daveReadsRoot()) === 200, HONOURED_WITHIN_MS, 'the receiver honours the grant');
    assert.equal(await daveSeesDevice(), 200, 'NetBox shows dave the device in the grant’s scope');

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, g.expiresAt - Date.now())));
    await waitFor(async () => (await daveReadsRoot()) === 404, HONOURED_WITHIN_MS, 'the receiver stops honouring the grant at its expiry');
    await waitFor(async () => (await grantPermissions(g.id)) === 0, 30_000, 'NetBox’s background job removes the grant’s permission');
    assert.equal(await daveSeesDevice(), 403, 'NetBox refuses dave the device again');
    await waitFor(async () => (await accessMessages(g.key)).length >= 2, 30_000, 'granted and expired on the access topic');
    assert.deepEqual(await accessMessages(g.key), ['unicop.access.granted', 'unicop.access.expired']);
  });

  it('ends on time while the receiver is stopped across the expiry: refused at once after start-up, expired published once', async () => {
    const g = await grant(GRANT_S);
    await waitFor(async () => (await daveReadsRoot()) === 200, HONOURED_WITHIN_MS, 'the receiver honours the grant');
    await stopReceiver();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, g.expiresAt - Date.now()) + 2000));
    await startReceiver(env);
    assert.equal(await daveReadsRoot(), 404, 'the first answer after start-up already refuses the expired grant');
    await waitFor(async () => (await accessMessages(g.key)).length >= 2, 30_000, 'expired published after start-up');
    assert.deepEqual(await accessMessages(g.key), ['unicop.access.granted', 'unicop.access.expired'], 'each exactly once');
    await waitFor(async () => (await grantPermissions(g.id)) === 0, 30_000, 'NetBox’s side ended too');
  });
});
