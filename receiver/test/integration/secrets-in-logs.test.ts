import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { createDatabase } from '../helpers/store.js';
import { randomPrefix } from '../helpers/kafka.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { freePort, spawnReceiver, stopGracefully } from '../helpers/process.js';
import { processEnv } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

/** Every secret the receiver holds, each carrying the same marker: no log line may ever contain it. */
const MARKER = 'LEAKMARKER';
const SECRETS = {
  UNICOP_WEBHOOK_SECRETS: `${MARKER}-webhook-secret-0123456789`,
  NETBOX_TOKEN: `nbt_${MARKER}netboxkey.netboxsecret0123456789`,
  AWX_TOKEN: `${MARKER}-awx-token-0123456789`,
  UNICOP_AWX_NOTIFY_TOKEN: `${MARKER}-notify-token-0123456789`,
  UNICOP_API_TOKENS: `${MARKER}-api-token-0123456789`,
};

/** NetBox and AWX as an operator meets them on a bad day: down, failing, or refusing the token. */
type Fault = 'closed port' | 'HTTP 500' | 'HTTP 401';

async function faultyServer(fault: Fault): Promise<{ url: string; close: () => Promise<void> }> {
  const port = await freePort();
  if (fault === 'closed port') return { url: `http://127.0.0.1:${port}`, close: async () => undefined };
  const status = fault === 'HTTP 500' ? 500 : 401;
  const server: Server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end('{"detail":"no"}'));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** Fails naming every log line that holds `secret`. */
function assertNotIn(output: string, secret: string): void {
  const lines = output.split('\n').filter((l) => l.includes(secret));
  assert.deepEqual(lines, [], `a secret reached the log:\n${lines.join('\n')}`);
}

describe('no secret reaches a log line (receiver process, debug level)', function () {
  this.timeout(120_000);

  for (const fault of ['closed port', 'HTTP 500', 'HTTP 401'] as const) {
    it(`writes none of its secrets while NetBox and AWX answer with a ${fault}, for two poll intervals of each`, async () => {
      const netbox = await faultyServer(fault);
      const awx = await faultyServer(fault);
      const dataDir = mkdtempSync(join(tmpdir(), 'unicop-secrets-'));
      const receiver = await spawnReceiver(
        processEnv(dataDir, randomPrefix(), {
          ...SECRETS,
          NETBOX_URL: netbox.url,
          AWX_URL: awx.url,
          UNICOP_AWX_NOTIFY_USER: 'awx',
          // the webhook below starts an attempt; past half its deadline the poller asks AWX about it
          UNICOP_RECONCILE_POLICY: policyFile([{ ...DEVICE_RULE, debounceMs: 0, deadlineMs: 6000 }]),
          UNICOP_CATCHUP_INTERVAL_MS: '1000',
          UNICOP_AWX_POLL_INTERVAL_MS: '250',
          UNICOP_LOG_LEVEL: 'debug',
        }),
      );
      try {
        const { raw, signature } = signed(interfaceUpdate(42, 11, 1), SECRETS.UNICOP_WEBHOOK_SECRETS);
        const post = (sig: string) =>
          fetch(`${receiver.url}/v1/netbox/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hook-signature': sig }, body: raw });
        assert.equal((await post(signature)).status, 202);
        assert.equal((await post('0'.repeat(128))).status, 401);
        const api = (token: string) => fetch(`${receiver.url}/v1/roots/dcim.device:42`, { headers: { authorization: `Bearer ${token}` } });
        // a new data dir: the reconciler reads its state topic first and answers 503 until then
        const first = await waitFor(
          async () => {
            const res = await api(SECRETS.UNICOP_API_TOKENS);
            return res.status === 503 ? null : res;
          },
          60_000,
          'the reconcile state rebuilt',
        );
        assert.equal(first.status, 200);
        assert.equal((await api(`${SECRETS.UNICOP_API_TOKENS}x`)).status, 401);
        const notify = (authorization: string) =>
          fetch(`${receiver.url}/v1/awx/notifications`, {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/json' },
            body: JSON.stringify({ id: 1, status: 'successful', extra_vars: '{}' }),
          });
        assert.equal((await notify(`Bearer ${SECRETS.UNICOP_AWX_NOTIFY_TOKEN}`)).status, 202);
        assert.equal((await notify(`Basic ${Buffer.from(`awx:${SECRETS.UNICOP_AWX_NOTIFY_TOKEN}`).toString('base64')}`)).status, 202);
        assert.equal((await notify(`Basic ${Buffer.from(`root:${SECRETS.UNICOP_AWX_NOTIFY_TOKEN}`).toString('base64')}`)).status, 401);

        await waitFor(
          () => count(receiver.output(), 'changelog catch-up failed') >= 2 && count(receiver.output(), 'AWX outcome poll failed') >= 2,
          60_000,
          'two failed polls of NetBox and of AWX',
        );
      } finally {
        await stopGracefully(receiver.child);
        await Promise.all([netbox.close(), awx.close()]);
        rmSync(dataDir, { recursive: true, force: true });
      }
      const output = receiver.output();
      assertNotIn(output, MARKER);
      // the failures are logged, as {service, code, status, method, url} and nothing more of the request
      const code = fault === 'closed port' ? 'ECONNREFUSED' : `HTTP_${fault.slice(5)}`;
      for (const service of ['netbox', 'awx']) {
        assert.match(output, new RegExp(`"request":\\{"service":"${service}","code":"${code}"`), `${service} failures are logged with their code`);
      }
    });
  }

  it('writes no PostgreSQL password, whether PostgreSQL takes it or refuses it', async () => {
    const url = new URL(createDatabase());
    const password = decodeURIComponent(url.password);
    assert.ok(password.length >= 16, 'the test cluster has a real password');
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-secrets-pg-'));
    const env = processEnv(dataDir, randomPrefix(), { UNICOP_WEBHOOK_SECRETS: SECRETS.UNICOP_WEBHOOK_SECRETS, UNICOP_LOG_LEVEL: 'debug' });
    try {
      const receiver = await spawnReceiver({ ...env, UNICOP_DATABASE_URL: url.toString() });
      const { raw, signature } = signed(interfaceUpdate(42, 11, 1), SECRETS.UNICOP_WEBHOOK_SECRETS);
      const res = await fetch(`${receiver.url}/v1/netbox/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hook-signature': signature },
        body: raw,
      });
      assert.equal(res.status, 202, 'the receiver runs on that store');
      await stopGracefully(receiver.child);
      // A wrong password: the start fails, and says why without the password either.
      const refused = await exitOutput({ ...env, UNICOP_DATABASE_URL: Object.assign(new URL(url), { password: `${MARKER}-wrong-password` }).toString() });
      assert.notEqual(refused.code, 0);
      assert.match(refused.output, /password authentication failed/);
      for (const [output, secret] of [
        [receiver.output(), password],
        [refused.output, MARKER],
      ] as const) {
        assertNotIn(output, secret);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** Runs a receiver process that is expected to stop by itself; its exit code and output. */
async function exitOutput(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'receiver/src/main.ts'], {
    cwd: new URL('../../../', import.meta.url).pathname,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(await freePort()), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}
