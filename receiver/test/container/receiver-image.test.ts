import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_REPLAY_ENV, TEST_SECRET, captureWorld, fixture, signed } from '../helpers/fixtures.js';
import { BROKERS, consume, randomPrefix } from '../helpers/kafka.js';
import { freePort } from '../helpers/process.js';
import { waitFor } from '../helpers/wait-for.js';
import { ULIMITS, podman, podmanOk } from './podman.js';

/**
 * The receiver image as docker/compose.yaml runs it — read-only root filesystem, /tmp a tmpfs, the data in a
 * named volume, the webhook secret from a file — against the Kafka of the integration tests, reached through
 * host networking (scripts/stack smoke; scripts/test runs it after `scripts/stack build receiver`).
 */
const IMAGE = process.env.UNICOP_RECEIVER_IMAGE ?? 'localhost/unicop-receiver:latest';

describe('receiver image (podman, host network, real Kafka)', function () {
  this.timeout(180_000);
  const name = `unicop-smoke-${randomUUID().slice(0, 8)}`;
  const volume = `${name}-data`;
  const prefix = randomPrefix();
  const secretsDir = mkdtempSync(join(tmpdir(), 'unicop-smoke-'));
  const secretFile = join(secretsDir, 'webhook_secret');
  let url = '';

  async function start(): Promise<void> {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      KAFKA_BROKERS: BROKERS.join(','),
      UNICOP_WEBHOOK_SECRETS_FILE: '/run/secrets/webhook_secret',
      UNICOP_TOPIC_PREFIX: prefix,
      UNICOP_TOPIC_PARTITIONS: '1',
      ...FIXTURE_REPLAY_ENV,
    };
    await podmanOk(
      'run',
      '--detach',
      '--name',
      name,
      '--network',
      'host',
      ...ULIMITS,
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--volume',
      `${volume}:/var/lib/unicop`,
      '--volume',
      `${secretFile}:/run/secrets/webhook_secret:ro`,
      ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      IMAGE,
    );
    await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => null))?.ok, 60_000, 'the container answers /readyz');
  }

  async function post(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const { raw, signature } = signed(body);
    const res = await fetch(`${url}/v1/netbox/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hook-signature': signature },
      body: raw,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function stop(): Promise<{ exitCode: number; logs: string }> {
    await podmanOk('stop', '--time', '30', name);
    const exitCode = Number((await podmanOk('inspect', '--format', '{{.State.ExitCode}}', name)).trim());
    const logs = (await podman('logs', name)).stdout;
    await podmanOk('rm', name);
    return { exitCode, logs };
  }

  before(async () => {
    writeFileSync(secretFile, `${TEST_SECRET}\n`);
    chmodSync(secretFile, 0o444); // the container's user is not the file's owner
    await podmanOk('volume', 'create', volume);
    await start();
  });

  after(async () => {
    await podman('rm', '--force', '--time', '5', name);
    await podman('volume', 'rm', '--force', volume);
    rmSync(secretsDir, { recursive: true, force: true });
  });

  it('runs as a non-root user under tini, and its HEALTHCHECK passes', async () => {
    const uid = (await podmanOk('exec', name, 'node', '-e', 'process.stdout.write(String(process.getuid()))')).trim();
    assert.notEqual(uid, '0');
    const pid1 = await podmanOk('exec', name, 'cat', '/proc/1/cmdline');
    assert.match(pid1.split('\0')[0] ?? '', /tini$/);
    assert.equal((await podman('healthcheck', 'run', name)).code, 0, 'podman healthcheck run');
  });

  it('turns a signed webhook into one event on Kafka, keyed by its root', async () => {
    const res = await post(fixture('4.7', 'dcim.interface', 'updated').body);
    assert.equal(res.status, 202);
    const root = captureWorld('4.7').roots['dcim.interface']!;
    const [message, ...extra] = await consume(`${prefix}.events.v1`, 1);
    assert.ok(message, 'the event reached Kafka');
    assert.deepEqual(extra, []);
    assert.equal(message.key, root);
    assert.equal(message.headers.message_uuid, res.body.id);
    assert.equal(message.value.id, res.body.id);
  });

  it('refuses an unsigned webhook with 401', async () => {
    const res = await fetch(`${url}/v1/netbox/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fixture('4.7', 'dcim.device', 'updated').body),
    });
    assert.equal(res.status, 401);
  });

  it('stops cleanly on SIGTERM and keeps its data in the volume across a new container', async () => {
    const body = fixture('4.7', 'dcim.device', 'updated').body;
    const first = await post(body);
    assert.equal(first.status, 202);
    const { exitCode, logs } = await stop();
    assert.equal(exitCode, 0, 'exit code after SIGTERM');
    assert.match(logs, /stopped; outbox empty/);
    await start();
    const again = await post(body);
    assert.equal(again.status, 200, 'the new container knows the event the old one stored');
    assert.equal(again.body.result, 'duplicate');
    assert.equal(again.body.id, first.body.id);
  });
});
