/**
 * The receiver the NetBox e2e tests own: a process on the port NetBox's webhook points at
 * (UNICOP_RECEIVER_URL, set by `scripts/netbox bootstrap`), with the changelog catch-up on, so a test
 * can stop it, change NetBox, and start it again. Loaded by mocha as a root hook plugin
 * (`--require`): it starts once before the first test file and stops after the last.
 *
 * Needs (it FAILS, never skips, when they are absent): scripts/kafka up (KAFKA_BROKERS);
 * scripts/netbox up && scripts/netbox bootstrap with the same UNICOP_RECEIVER_URL and
 * UNICOP_WEBHOOK_SECRETS; NETBOX_URL, NETBOX_TOKEN, NETBOX_ADMIN_USER/PASSWORD (var/netbox/env).
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROKERS } from '../../helpers/kafka.js';
import { netbox, requireNetbox, type NetboxList } from '../../helpers/netbox.js';
import { spawnReceiver, stopGracefully } from '../../helpers/process.js';

export const RECEIVER_URL = (process.env.UNICOP_RECEIVER_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const TOPIC_PREFIX = process.env.UNICOP_TOPIC_PREFIX ?? `tnb${Date.now()}`;
export const EVENTS_TOPIC = `${TOPIC_PREFIX}.events.v1`;
/** The plugin's panel token (`receiver_token`, from UNICOP_RECEIVER_TOKEN at `scripts/netbox up`): the panel can read this receiver. */
export const API_TOKEN = process.env.UNICOP_RECEIVER_TOKEN ?? randomBytes(24).toString('hex');

/** Webhooks are left to themselves this long before the catch-up steps in: longer than any delivery here. */
export const WEBHOOK_GRACE_MS = 60_000;

const dataDir = mkdtempSync(join(tmpdir(), 'unicop-netbox-e2e-'));
let current: { child: ChildProcess; output: () => string } | null = null;
let log = '';

function environment(overrides: Record<string, string>): Record<string, string> {
  const secrets = process.env.UNICOP_WEBHOOK_SECRETS;
  assert.ok(secrets, 'UNICOP_WEBHOOK_SECRETS is not set: give the secret `scripts/netbox bootstrap` configured');
  return {
    KAFKA_BROKERS: BROKERS.join(','),
    UNICOP_WEBHOOK_SECRETS: secrets,
    UNICOP_DATA_DIR: dataDir,
    UNICOP_TOPIC_PREFIX: TOPIC_PREFIX,
    UNICOP_API_TOKENS: API_TOKEN,
    UNICOP_LOG_LEVEL: 'info',
    NETBOX_URL: process.env.NETBOX_URL ?? '',
    NETBOX_TOKEN: process.env.NETBOX_TOKEN ?? '',
    // Poll often (a lost change shows up within seconds); each poll re-reads the overlap's row keys only.
    UNICOP_CATCHUP_INTERVAL_MS: '2000',
    UNICOP_CATCHUP_OVERLAP: '200',
    UNICOP_CATCHUP_GRACE_MS: String(WEBHOOK_GRACE_MS),
    ...overrides,
  };
}

/**
 * Writes an IAM policy (UNICOP_IAM_POLICY) into `dir`: roles viewer and operator, the plugin's panel token an
 * operator everywhere (so NetBox's panels keep working), and `bindings` for the people under test. Returns its path.
 */
export function writeIamPolicy(dir: string, bindings: readonly unknown[]): string {
  const path = join(dir, 'iam-policy.json');
  writeFileSync(
    path,
    JSON.stringify({
      version: 1,
      roles: { viewer: ['roots:read'], operator: ['roots:read', 'roots:reconcile'] },
      tokens: [{ name: 'netbox-plugin', sha256: createHash('sha256').update(API_TOKEN).digest('hex') }],
      bindings: [...bindings, { subjects: { tokens: ['netbox-plugin'] }, role: 'operator', scope: '*' }],
    }),
  );
  return path;
}

/** Starts the receiver (same data dir, same topics each time) with optional settings on top. */
export async function startReceiver(overrides: Record<string, string> = {}): Promise<void> {
  assert.equal(current, null, 'the receiver is already running');
  current = await spawnReceiver(environment(overrides), Number(new URL(RECEIVER_URL).port));
}

/**
 * Starts the receiver under a federation file (UNICOP_FEDERATION) on the suite's port, data dir and topic prefix:
 * the file is then the only place for sources, secrets, NetBox and brokers, so none of those is set beside it.
 */
export async function startFederatedReceiver(federationFile: string, overrides: Record<string, string> = {}): Promise<void> {
  assert.equal(current, null, 'the receiver is already running');
  const env = environment({ UNICOP_FEDERATION: federationFile, ...overrides });
  for (const name of ['KAFKA_BROKERS', 'UNICOP_WEBHOOK_SECRETS', 'UNICOP_TOPIC_PREFIX', 'NETBOX_URL', 'NETBOX_TOKEN']) delete env[name];
  current = await spawnReceiver(env, Number(new URL(RECEIVER_URL).port));
}

/** Stops it the way an operator does (SIGTERM: drain, then exit). */
export async function stopReceiver(): Promise<void> {
  if (!current) return;
  await stopGracefully(current.child);
  log += current.output();
  current = null;
}

/** The receiver's log lines so far (pino JSON), across restarts. */
export function receiverLog(): string {
  return log + (current?.output() ?? '');
}

/** The receiver's Prometheus metric `name` (summed over labels). */
export async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${RECEIVER_URL}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    requireNetbox();
    const hooks = await netbox<NetboxList<{ payload_url: string }>>('GET', 'extras/webhooks/?name=unicop');
    assert.equal(
      hooks.results[0]?.payload_url,
      `${RECEIVER_URL}/v1/netbox/webhooks`,
      'NetBox\'s "unicop" webhook points at this receiver: run scripts/netbox bootstrap with the same UNICOP_RECEIVER_URL',
    );
    await startReceiver();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopReceiver();
    rmSync(dataDir, { recursive: true, force: true });
  },
  afterEach(this: Mocha.Context) {
    if (this.currentTest?.state === 'failed') console.error(`--- receiver log (last 40 lines)\n${receiverLog().split('\n').slice(-41).join('\n')}`);
  },
};
