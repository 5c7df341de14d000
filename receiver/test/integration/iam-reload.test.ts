import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signed } from '../helpers/fixtures.js';
import { deviceUpdate, iamPolicyFile, sha256hex } from '../helpers/iam.js';
import { randomPrefix } from '../helpers/kafka.js';
import { spawnReceiver, stopGracefully } from '../helpers/process.js';
import { processEnv } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const A = 'reload-token-a-0123456789abcdef';
const B = 'reload-token-b-0123456789abcdef';
const tokens = [
  { name: 'a', sha256: sha256hex(A) },
  { name: 'b', sha256: sha256hex(B) },
];
const roles = { viewer: ['roots:read'] };

describe('IAM policy reload on SIGHUP (receiver process)', function () {
  this.timeout(90_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'unicop-iam-reload-'));
  const policy = iamPolicyFile({ version: 1, roles, tokens, bindings: [{ subjects: { tokens: ['a'] }, role: 'viewer', scope: '*' }] });
  let r: { child: ChildProcess; url: string; output: () => string };

  before(async () => {
    r = await spawnReceiver(processEnv(dataDir, randomPrefix(), { UNICOP_IAM_POLICY: policy, UNICOP_LOG_LEVEL: 'info' }));
    const { raw, signature } = signed(deviceUpdate(701, { site: 'ams1' }, 1));
    const res = await fetch(`${r.url}/v1/netbox/webhooks`, {
      method: 'POST',
      body: raw,
      headers: { 'content-type': 'application/json', 'x-hook-signature': signature },
    });
    assert.equal(res.status, 202);
  });
  after(async () => {
    await stopGracefully(r.child);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(policy, { force: true });
  });

  const status = async (token: string) => (await fetch(`${r.url}/v1/roots/dcim.device:701`, { headers: { authorization: `Bearer ${token}` } })).status;
  const reloads = async (result: string) => {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    return Number(new RegExp(`^unicop_iam_policy_reloads_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  };

  it('swaps in a good policy', async () => {
    assert.deepEqual([await status(A), await status(B)], [200, 404]);
    writeFileSync(policy, JSON.stringify({ version: 1, roles, tokens, bindings: [{ subjects: { tokens: ['b'] }, role: 'viewer', scope: '*' }] }));
    r.child.kill('SIGHUP');
    await waitFor(async () => (await reloads('ok')) === 1, 10_000, 'reload ok');
    assert.deepEqual([await status(A), await status(B)], [404, 200]);
  });

  it('keeps the policy in force when the new file is broken, and logs every problem', async () => {
    writeFileSync(
      policy,
      JSON.stringify({ version: 1, roles, tokens, bindings: [{ subjects: { tokens: ['b'] }, role: 'root', scope: { planets: ['mars'] } }] }),
    );
    r.child.kill('SIGHUP');
    await waitFor(async () => (await reloads('failed')) === 1, 10_000, 'reload failed');
    assert.deepEqual([await status(A), await status(B)], [404, 200]);
    const line = r
      .output()
      .split('\n')
      .find((l) => l.includes('IAM policy reload failed'));
    assert.ok(line, r.output());
    assert.match(line, /UNICOP_POLICY_INVALID/);
    assert.match(line, /\/bindings\/0\/role/);
    assert.match(line, /\/bindings\/0\/scope/);
  });

  it('refuses to start with a broken policy, listing every problem', async () => {
    const badDir = mkdtempSync(join(tmpdir(), 'unicop-iam-bad-'));
    const broken = iamPolicyFile({ version: 1, roles, bindings: [{ subjects: { tokens: ['ghost'] }, role: 'root', scope: { planets: ['mars'] } }] });
    try {
      await assert.rejects(
        spawnReceiver(processEnv(badDir, randomPrefix(), { UNICOP_IAM_POLICY: broken })),
        (e: Error) =>
          /exited 1/.test(e.message) && ['/bindings/0/role', '/bindings/0/scope', '/bindings/0/subjects/tokens/0'].every((p) => e.message.includes(p)),
      );
    } finally {
      rmSync(broken, { force: true });
      rmSync(badDir, { recursive: true, force: true });
    }
  });
});
