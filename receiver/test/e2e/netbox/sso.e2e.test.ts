/**
 * Single sign-on into NetBox through the local OpenID provider, driven over HTTP as a browser does it. The session
 * is then the provider's user, and the plugin's pipeline step (unicop_netbox.sso.sync_groups) made the user's
 * NetBox groups follow the token's groups claim: claimed groups added, an unclaimed one removed at the next login.
 *
 * Needs (it FAILS, never skips): scripts/idp up before scripts/netbox up (NetBox is configured from the provider's
 * env file in IDP_DATA_DIR), NETBOX_URL and NETBOX_TOKEN (var/netbox/env).
 */
import { strict as assert } from 'node:assert';
import { Browser, runningIdp, type Idp } from '../../helpers/idp.js';
import { NETBOX_URL, netbox, requireNetbox, type NetboxList } from '../../helpers/netbox.js';
import { ssoLogin, startSso } from '../../helpers/netbox-sso.js';

interface NetboxUser {
  id: number;
  username: string;
  email: string;
  groups: { name: string }[];
}

async function userNamed(username: string): Promise<NetboxUser | undefined> {
  return (await netbox<NetboxList<NetboxUser>>('GET', `users/users/?username=${username}`)).results[0];
}

async function ensureGroup(name: string): Promise<number> {
  const found = await netbox<NetboxList>('GET', `users/groups/?name=${name}`);
  return found.results[0]?.id ?? (await netbox('POST', 'users/groups/', { name })).id;
}

describe('single sign-on into NetBox through the local OpenID provider', function () {
  this.timeout(120_000);
  let idp: Idp;
  const groups: Record<string, number> = {};

  before(async () => {
    requireNetbox();
    idp = runningIdp();
    // the groups exist as unicop_iam_sync (or an operator) made them; the SSO step never creates groups
    for (const name of ['netops-emea', 'netops-amer']) groups[name] = await ensureGroup(name);
  });

  it("signs alice in as herself, with the groups the provider's claim names", async () => {
    const { browser } = await ssoLogin(idp, 'alice', idp.password('alice'));
    const profile = await browser.get(`${NETBOX_URL}/user/profile/`);
    assert.equal(new URL(profile.url).pathname, '/user/profile/', `the session reaches the profile page, not ${profile.url}`);
    assert.match(profile.body, /alice@example\.net/, "the profile is alice's");
    const alice = await userNamed('alice');
    assert.equal(alice?.email, 'alice@example.net');
    assert.deepEqual(
      alice?.groups.map((g) => g.name),
      ['netops-emea'],
    );
  });

  it('takes alice out of a group her claim does not name at her next login', async () => {
    const alice = await userNamed('alice');
    assert.ok(alice, 'alice logged in before');
    await netbox('PATCH', `users/users/${alice.id}/`, { groups: [groups['netops-emea'], groups['netops-amer']] });
    await ssoLogin(idp, 'alice', idp.password('alice'));
    assert.deepEqual(
      (await userNamed('alice'))?.groups.map((g) => g.name),
      ['netops-emea'],
    );
  });

  it('refuses a wrong password at the provider and leaves the browser logged out of NetBox', async () => {
    const browser = new Browser();
    const refused = await browser.submitLogin(await startSso(browser), 'bob', `${idp.password('bob')}-wrong`);
    assert.equal(refused.statusCode, 401);
    const profile = await browser.get(`${NETBOX_URL}/user/profile/`);
    assert.equal(new URL(profile.url).pathname, '/login/', 'NetBox still asks the browser to log in');
  });
});
