import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AwxDouble } from '../helpers/awx-double.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The whole loop in containers (scripts/stack test): `scripts/stack up` on this host's network, a device made over the
 * containerised NetBox's REST API (token provisioned by `up`), its event on the containerised Kafka, and the reconcile
 * command the containerised ansible-rulebook turns into a job launch on the AWX API double — which runs here, on the
 * host, because AWX is not a product of this repository (docker/README.md) — and its outcome back in the receiver.
 */
const run = promisify(execFile);
const REPO = new URL('../../../', import.meta.url).pathname;
const SECRETS = process.env.STACK_SECRETS_DIR ?? join(REPO, 'var/stack/secrets');
const secret = (name: string): string => readFileSync(join(SECRETS, name), 'utf8').trim();

async function stack(...args: string[]): Promise<string> {
  const { stdout } = await run(join(REPO, 'scripts/stack'), args, { env: process.env, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

function envFile(path: string): Record<string, string> {
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries);
}

describe('compose stack (podman, host network): NetBox → receiver → Kafka → ansible-rulebook → AWX double', function () {
  this.timeout(1_200_000);
  const awx = new AwxDouble({ token: secret('awx_token'), templates: [{ name: 'unicop-reconcile', organization: 'Default' }] });
  let env: Record<string, string> = {};

  before(async () => {
    // `scripts/stack test` sets the test's own ports and project; run any other way, `up` would take the users' defaults
    assert.ok(process.env.STACK_AWX_PORT && process.env.STACK_PROJECT, 'run this test with scripts/stack test');
    await awx.start(Number(process.env.STACK_AWX_PORT));
    const out = await stack('up');
    const last = out.trim().split('\n').pop() ?? '';
    assert.match(last, /^STACK_ENV_FILE=/);
    env = envFile(last.slice('STACK_ENV_FILE='.length));
    awx.setNotification({
      url: `${env.UNICOP_RECEIVER_URL}/v1/awx/notifications`,
      headers: { Authorization: `Bearer ${secret('awx_notify_token')}` },
    });
    // the helpers read their addresses when first imported
    Object.assign(process.env, { NETBOX_URL: env.NETBOX_URL, NETBOX_TOKEN: env.NETBOX_TOKEN, KAFKA_BROKERS: env.KAFKA_BROKERS });
  });

  after(async () => {
    if (process.env.STACK_KEEP !== '1') await stack('down', '--volumes').catch((e: Error) => console.error(e.message));
    await awx.stop();
  });

  it('turns a device made over the REST API into an event, a job launch and a succeeded root', async () => {
    const { makeDevice, runTag, eventsUntil } = await import('../helpers/netbox.js');
    const { device } = await makeDevice(runTag());
    const key = `dcim.device:${device.id}`;

    const created = await eventsUntil(
      `${env.UNICOP_TOPIC_PREFIX}.events.v1`,
      (events) => events.find((e) => e.subject === key && e.type === 'unicop.object.created'),
      120_000,
      `the created event of ${key} on Kafka`,
    );
    assert.equal(created.partitionkey, key);

    const launch = await waitFor(() => awx.launches().find((l) => l.extraVars.unicop_root === key), 300_000, `a job launch for ${key}`);
    assert.equal(launch.templateName, 'unicop-reconcile');
    assert.equal(launch.organization, 'Default');

    const api = secret('receiver_api_token');
    const state = await waitFor(
      async () => {
        const res = await fetch(`${env.UNICOP_RECEIVER_URL}/v1/roots/${encodeURIComponent(key)}`, { headers: { authorization: `Bearer ${api}` } });
        const body = res.ok ? ((await res.json()) as { state: string; lastOutcome: { result: string; awxJobId: number } | null }) : null;
        return body?.state === 'succeeded' ? body : null;
      },
      120_000,
      `${key} succeeded in the receiver`,
    );
    assert.equal(state.lastOutcome?.awxJobId, launch.jobId);
  });
});
