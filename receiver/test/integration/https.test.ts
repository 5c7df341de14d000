import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createListener, type Listener } from '../../src/listener/listener.js';
import { readTlsMaterial } from '../../src/listener/tls-material.js';
import { createLogger } from '../../src/log.js';
import { makeTestCertificates, type TestCertificates } from '../helpers/certificates.js';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { clientTls, httpsRequest, servedSerial, type ClientTls } from '../helpers/https-client.js';
import { consume, randomPrefix } from '../helpers/kafka.js';
import { spawnReceiver, stopGracefully } from '../helpers/process.js';
import { processEnv, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const webhook = (n: number) => {
  const { raw, signature } = signed(interfaceUpdate(9000 + (n % 8), 90_000 + n, n));
  return { method: 'POST', body: raw, headers: { 'content-type': 'application/json', 'x-hook-signature': signature } };
};

/** The value of one series of a Prometheus text exposition, or undefined. */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('HTTPS listener', function () {
  this.timeout(60_000);
  let certs: TestCertificates;
  let trusting: ClientTls;
  before(() => {
    certs = makeTestCertificates();
    trusting = clientTls(certs.ca.cert);
  });
  after(() => rmSync(certs.dir, { recursive: true, force: true }));

  describe('trust and client certificates (listener in process)', () => {
    let t: TestReceiver;
    const listeners: Listener[] = [];
    let plain: string;
    let mutual: string;

    const listen = async (clientCaFile: string | null): Promise<string> => {
      const files = { certFile: certs.server.cert, keyFile: certs.server.key, clientCaFile, keyPassword: null };
      const tls = { files, material: readTlsMaterial(files) };
      const listener = createListener({ handler: t.receiver.app, tls, metrics: t.receiver.metrics.tls, log: createLogger('silent') });
      listeners.push(listener);
      listener.server.listen(0, '127.0.0.1');
      await once(listener.server, 'listening');
      return `https://127.0.0.1:${(listener.server.address() as AddressInfo).port}`;
    };

    before(async () => {
      t = startTestReceiver();
      plain = await listen(null);
      mutual = await listen(certs.ca.cert);
    });
    after(async () => {
      for (const l of listeners) l.server.close();
      await t.close();
    });

    it('accepts a signed webhook over HTTPS and answers every other route as over HTTP', async () => {
      const res = await httpsRequest(`${plain}/v1/netbox/webhooks`, { ...webhook(1), tls: trusting });
      assert.equal(res.status, 202, res.body);
      assert.equal(JSON.parse(res.body).result, 'accepted');
      const calls = [
        { method: 'GET', path: '/healthz' },
        { method: 'GET', path: '/v1/roots/dcim.device:9001' },
        { method: 'GET', path: '/v1/roots?state=idle' },
        { method: 'POST', path: '/v1/awx/notifications', body: '{}' },
        { method: 'POST', path: '/v1/netbox/batches', body: '{}' },
        { method: 'GET', path: '/no/such/route' },
      ];
      for (const call of calls) {
        const body = call.body === undefined ? undefined : Buffer.from(call.body);
        const headers = { 'content-type': 'application/json' };
        const over = await httpsRequest(`${plain}${call.path}`, { method: call.method, headers, body, tls: trusting });
        const direct = await t.http[call.method === 'GET' ? 'get' : 'post'](call.path).set(headers).send(call.body);
        assert.deepEqual([over.status, JSON.parse(over.body)], [direct.status, direct.body], `${call.method} ${call.path}`);
      }
      await waitFor(async () => (await httpsRequest(`${plain}/readyz`, { tls: trusting })).status === 200, 30_000, '/readyz over HTTPS');
      const metrics = (await httpsRequest(`${plain}/metrics`, { tls: trusting })).body;
      const notAfter = readTlsMaterial({ certFile: certs.server.cert, keyFile: certs.server.key, clientCaFile: null, keyPassword: null }).certificate.notAfter;
      const series = `unicop_tls_certificate_expiry_timestamp_seconds{subject="${certs.server.subject}",serial="${certs.server.serial}"}`;
      assert.equal(sample(metrics, series), Math.floor(notAfter.getTime() / 1000), metrics);
    });

    it('fails for a client that does not trust the CA', async () => {
      await assert.rejects(httpsRequest(`${plain}/healthz`, { tls: clientTls(certs.stranger.cert) }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    });

    it('with a client CA, refuses a client without a certificate or with a stranger’s at the handshake, and accepts one the CA signed', async () => {
      const body = webhook(2);
      // TLS 1.3: the client's side of the handshake ends before the server judges its certificate, so the
      // refusal (an alert) arrives as the request's error, before any HTTP answer — or, when the server's
      // close wins the race, as a reset.
      const refused = (alert: string) => (error: NodeJS.ErrnoException) => [alert, 'ECONNRESET'].includes(error.code ?? '');
      await assert.rejects(httpsRequest(`${mutual}/v1/netbox/webhooks`, { ...body, tls: trusting }), refused('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'));
      const stranger = clientTls(certs.ca.cert, certs.strangerClient);
      await assert.rejects(httpsRequest(`${mutual}/v1/netbox/webhooks`, { ...body, tls: stranger }), refused('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'));
      // The same body is new to the receiver: the refused requests never reached it.
      const res = await httpsRequest(`${mutual}/v1/netbox/webhooks`, { ...body, tls: clientTls(certs.ca.cert, certs.client) });
      assert.equal(res.status, 202, res.body);
      assert.equal(JSON.parse(res.body).result, 'accepted');
    });
  });

  describe('certificate rotation on SIGHUP (receiver process)', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-https-'));
    const prefix = randomPrefix();
    let live: { cert: string; key: string };
    let r: { child: ChildProcess; url: string; output: () => string };
    const metrics = async () => (await httpsRequest(`${r.url}/metrics`, { tls: trusting })).body;
    const reloads = async (result: 'ok' | 'failed') => sample(await metrics(), `unicop_tls_reloads_total{result="${result}"}`);
    const accepted = new Set<string>();

    before(async () => {
      live = { cert: join(dataDir, 'live.crt'), key: join(dataDir, 'live.key') };
      copyFileSync(certs.server.cert, live.cert);
      copyFileSync(certs.server.key, live.key);
      const env = processEnv(dataDir, prefix, { UNICOP_TLS_CERT_FILE: live.cert, UNICOP_TLS_KEY_FILE: live.key, UNICOP_LOG_LEVEL: 'info' });
      r = await spawnReceiver(env, undefined, {
        scheme: 'https',
        healthy: async (url) => (await httpsRequest(`${url}/healthz`, { tls: trusting })).status === 200,
      });
    });
    after(async () => {
      r?.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('loses no request of a stream while the certificate is swapped, and serves the new one to new connections', async () => {
      assert.equal(await servedSerial(r.url, trusting), certs.server.serial);
      assert.deepEqual([await reloads('ok'), await reloads('failed')], [0, 0]);
      // Four keep-alive clients, one connection each, sending signed webhooks back to back until the
      // reload is confirmed and each has sent 20 more on its connection opened before it.
      let next = 0;
      let reloadedAt: number | null = null;
      const answers: { client: number; status: number; id: string; socket: TLSSocket; serial: string; afterReload: boolean }[] = [];
      const client = async (c: number): Promise<void> => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1, ...trusting });
        try {
          let after = 0;
          while (after < 20) {
            const n = next++;
            const afterReload = reloadedAt !== null;
            const res = await httpsRequest(`${r.url}/v1/netbox/webhooks`, { ...webhook(n), agent });
            answers.push({ client: c, status: res.status, id: String(JSON.parse(res.body).id), socket: res.socket, serial: res.serial, afterReload });
            if (afterReload) after++;
          }
        } finally {
          agent.destroy();
        }
      };
      const stream = Promise.all([0, 1, 2, 3].map(client));
      let broken = false;
      stream.catch(() => (broken = true)); // awaited below: a failed request ends the wait at once
      await waitFor(() => answers.length >= 40 || broken, 30_000, '40 answers before the swap');
      copyFileSync(certs.nextServer.cert, live.cert);
      copyFileSync(certs.nextServer.key, live.key);
      r.child.kill('SIGHUP');
      await waitFor(async () => (await reloads('ok')) === 1, 10_000, 'TLS reload ok');
      assert.equal(await servedSerial(r.url, trusting), certs.nextServer.serial);
      reloadedAt = answers.length;
      await stream;

      assert.ok(reloadedAt >= 40 && answers.length > reloadedAt, `stream ${answers.length} answers, reload after ${reloadedAt}`);
      assert.deepEqual(
        answers.filter((a) => a.status !== 202),
        [],
      );
      for (const c of [0, 1, 2, 3]) {
        const mine = answers.filter((a) => a.client === c);
        // One connection carried every request of a client: none was dropped or reset by the reload.
        assert.equal(new Set(mine.map((a) => a.socket)).size, 1, `client ${c} reconnected`);
        // …and kept the certificate it was opened with, after the reload too.
        assert.deepEqual([...new Set(mine.map((a) => a.serial))], [certs.server.serial]);
        assert.ok(mine.some((a) => a.afterReload));
      }
      for (const a of answers) accepted.add(a.id);
      assert.equal(accepted.size, answers.length);
      const events = await consume(`${prefix}.events.v1`, accepted.size);
      assert.deepEqual(new Set(events.map((m) => String(m.value.id))), accepted);

      const line = r
        .output()
        .split('\n')
        .find((l) => l.includes('TLS certificate reloaded'));
      assert.ok(line, r.output());
      assert.equal(JSON.parse(line).subject, certs.nextServer.subject);
      assert.ok(JSON.parse(line).notAfter);
      const exposed = await metrics();
      assert.ok(exposed.includes(`serial="${certs.nextServer.serial}"`) && !exposed.includes(`serial="${certs.server.serial}"`), exposed);
    });

    it('keeps serving the certificate in use when the new files are bad, and logs and counts the failure', async () => {
      // the previous certificate with the current key: a half-finished copy
      copyFileSync(certs.server.cert, live.cert);
      r.child.kill('SIGHUP');
      await waitFor(async () => (await reloads('failed')) === 1, 10_000, 'TLS reload failed');
      assert.equal(await reloads('ok'), 1);
      assert.equal(await servedSerial(r.url, trusting), certs.nextServer.serial);
      const res = await httpsRequest(`${r.url}/v1/netbox/webhooks`, { ...webhook(100_000), tls: trusting });
      assert.equal(res.status, 202, res.body);
      const line = r
        .output()
        .split('\n')
        .find((l) => l.includes('TLS reload failed'));
      assert.ok(line, r.output());
      assert.match(line, /UNICOP_TLS_KEY_MISMATCH/);
      assert.ok(line.includes(live.key) && line.includes(live.cert), line);
      assert.doesNotMatch(r.output(), /PRIVATE KEY/);
      assert.equal(r.child.exitCode, null);
    });

    it('still stops gracefully on SIGTERM', async () => {
      const exited = once(r.child, 'exit');
      await stopGracefully(r.child);
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, r.output());
      assert.match(r.output(), /stopped; outbox empty/);
    });
  });

  it('refuses to start with a key that is not the certificate’s, naming the files and printing no key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-https-bad-'));
    try {
      const env = processEnv(dataDir, randomPrefix(), { UNICOP_TLS_CERT_FILE: certs.server.cert, UNICOP_TLS_KEY_FILE: certs.nextServer.key });
      await assert.rejects(
        spawnReceiver(env),
        (e: Error) =>
          /exited 1/.test(e.message) &&
          e.message.includes('UNICOP_TLS_KEY_MISMATCH') &&
          e.message.includes(certs.nextServer.key) &&
          !/PRIVATE KEY/.test(e.message),
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
