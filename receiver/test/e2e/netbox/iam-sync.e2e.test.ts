/**
 * The IAM policy applied to NetBox (`unicop_iam_sync`, plugin): its dry run changes nothing, a real run makes
 * NetBox's groups and ObjectPermissions match the policy, a second run changes nothing — and alice, whose
 * `netops-emea` group the provider names, then sees a device in a child region of `emea` in NetBox with her SSO
 * session, while a device outside stays hidden: the same binding the receiver enforces on its API.
 *
 * Needs what sso.e2e.test.ts needs; runs `scripts/netbox manage unicop_iam_sync` against the NetBox under test.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runningIdp } from '../../helpers/idp.js';
import { makeDevice, netbox, NETBOX_URL, requireNetbox, runTag, type NetboxList, type NetboxObject } from '../../helpers/netbox.js';
import { ssoLogin } from '../../helpers/netbox-sso.js';

const REPO = new URL('../../../../', import.meta.url).pathname;

async function iamSync(...args: string[]): Promise<string[]> {
  const { stdout } = await promisify(execFile)(join(REPO, 'scripts/netbox'), ['manage', 'unicop_iam_sync', ...args], { cwd: REPO, timeout: 120_000 });
  return stdout.trim().split('\n');
}

/** The permissions unicop_iam_sync manages, by name. */
async function managedPermissions(): Promise<string[]> {
  const found = await netbox<NetboxList<{ name: string }>>('GET', 'users/permissions/?q=unicop%3Aiam%3A&limit=1000');
  return found.results.map((p) => p.name).sort();
}

describe('unicop_iam_sync: the IAM policy applied to NetBox', function () {
  this.timeout(300_000);
  const work = mkdtempSync(join(tmpdir(), 'unicop-iam-sync-'));
  const policy = join(work, 'iam-policy.json');
  let inside: NetboxObject;
  let outside: NetboxObject;

  before(async () => {
    requireNetbox();
    const tag = runTag();
    const existing = (await netbox<NetboxList>('GET', 'dcim/regions/?slug=emea')).results[0];
    const emea = existing ?? (await netbox<NetboxObject>('POST', 'dcim/regions/', { name: 'EMEA', slug: 'emea' }));
    const child = await netbox('POST', 'dcim/regions/', { name: `e2e-sync-${tag}`, slug: `e2e-sync-${tag}`, parent: emea.id });
    inside = (await makeDevice(`sync-in-${tag}`, { region: child.id })).device;
    outside = (await makeDevice(`sync-out-${tag}`)).device;
    // a new region under emea: the sync expands descendants when it writes the permission, so it runs after this
    writeFileSync(
      policy,
      JSON.stringify({
        version: 1,
        roles: { operator: ['roots:read', 'roots:reconcile'] },
        bindings: [{ subjects: { groups: ['netops-emea'] }, role: 'operator', scope: { regions: ['emea'] } }],
      }),
    );
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  it('dry run: prints the plan, changes nothing', async () => {
    const before = await managedPermissions();
    const lines = await iamSync('--dry-run', '--policy', policy);
    assert.match(lines.at(-1) ?? '', /^[0-9]+ change\(s\) planned, none made \(dry run\)$/);
    assert.deepEqual(await managedPermissions(), before);
  });

  it('applies the policy, then a second run changes nothing', async () => {
    const first = await iamSync('--policy', policy);
    assert.match(first.at(-1) ?? '', /^[0-9]+ change\(s\)$/);
    assert.notEqual(first.at(-1), '0 change(s)', `the first run changes NetBox: ${first.join(' | ')}`);
    assert.ok((await managedPermissions()).length > 0, 'managed permissions exist');
    const second = await iamSync('--policy', policy);
    assert.equal(second.at(-1), '0 change(s)', `second run: ${second.join(' | ')}`);
  });

  it('gives alice (netops-emea) the device in a child region of emea, and nothing outside', async () => {
    // signed in after the sync: it created the group, her sign-in puts her in it (the provider names it)
    const idp = runningIdp();
    const { browser: alice } = await ssoLogin(idp, 'alice', idp.password('alice'));
    assert.equal((await alice.get(`${NETBOX_URL}/api/dcim/devices/${inside.id}/`)).statusCode, 200);
    assert.equal((await alice.get(`${NETBOX_URL}/api/dcim/devices/${outside.id}/`)).statusCode, 404, 'outside the scope: hidden');
  });
});
