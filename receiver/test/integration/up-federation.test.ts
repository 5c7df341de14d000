import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_REPLAY_ENV, signed, TEST_SECRET } from '../helpers/fixtures.js';
import { deviceUpdate } from '../helpers/iam.js';
import { BROKERS, consume, randomPrefix } from '../helpers/kafka.js';
import { freePort } from '../helpers/process.js';
import { waitFor } from '../helpers/wait-for.js';

const REPO = new URL('../../../', import.meta.url).pathname;

interface Up {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `scripts/up` with exactly `env` (plus PATH and HOME, which npm needs): none of the test run's own Kafka settings. */
function up(args: string[], env: Record<string, string>): Up {
  let output = '';
  const child = spawn(join(REPO, 'scripts/up'), args, {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('scripts/up with a federation file', function () {
  this.timeout(300_000);
  const brokers = BROKERS.join(',');
  const prefix = randomPrefix();
  let dir: string;
  let file: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-up-federation-'));
    writeFileSync(join(dir, 'nb-eu-secret'), `${TEST_SECRET}\n`, { mode: 0o600 });
    file = join(dir, 'federation.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        cell: 'eu',
        sources: [{ name: 'nb-eu', secretsFile: 'nb-eu-secret' }],
        owners: [{ scope: '*', cell: 'eu' }],
        routes: [
          { scope: { regions: ['emea'] }, brokers, topicPrefix: prefix, name: 'emea' },
          { scope: '*', brokers, topicPrefix: `${prefix}-rest`, name: 'rest' },
        ],
      }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const beside of ['KAFKA_BROKERS', 'UNICOP_WEBHOOK_SECRETS', 'UNICOP_SOURCE']) {
    it(`refuses ${beside} set beside it, before starting anything`, async () => {
      const run = up([], { UNICOP_FEDERATION: file, [beside]: beside === 'KAFKA_BROKERS' ? brokers : 'netbox://nb-eu-0123456789' });
      assert.equal(await run.exited, 2, run.output());
      assert.match(run.output(), new RegExp(`^up: a federation file names the sources, their secrets and the Kafka clusters; unset ${beside} `, 'm'));
      assert.doesNotMatch(run.output(), /^kafka:/m);
    });
  }

  it('refuses a file it cannot read, and --netbox with it', async () => {
    const missing = up(['--federation', join(dir, 'missing.json')], {});
    assert.equal(await missing.exited, 2, missing.output());
    assert.match(missing.output(), /^up: cannot read the federation file .*missing\.json$/m);
    const netbox = up(['--netbox', '--federation', file], {});
    assert.equal(await netbox.exited, 2, netbox.output());
    assert.match(netbox.output(), /^up: --netbox makes its own NetBox, webhook secret and broker; it takes no federation file$/m);
  });

  it('starts no broker, runs the receiver with the routes, puts a webhook on its route and stops on SIGTERM', async () => {
    const port = await freePort();
    // where scripts/kafka would keep a broker it started: it must stay untouched
    const kafkaDir = join(dir, 'kafka-never-started');
    const run = up(['--federation', file], {
      PORT: String(port),
      HOST: '127.0.0.1',
      UNICOP_DATA_DIR: join(dir, 'data'),
      UNICOP_TOPIC_PARTITIONS: '3',
      UNICOP_LOG_LEVEL: 'info',
      KAFKA_DATA_DIR: kafkaDir,
      KAFKA_PORT: String(await freePort()),
      ...FIXTURE_REPLAY_ENV,
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      type Readiness = { status: string; checks: { routes: Record<string, { reachable: boolean }> } };
      const readiness = await waitFor(
        async (): Promise<Readiness | 'exited' | null> => {
          if (run.child.exitCode !== null) return 'exited';
          const res = await fetch(`${url}/readyz`).catch(() => null);
          if (res?.status !== 200) return null;
          // 200 is also "degraded" (a route not reached yet): each route's relay connects on its own
          const body = (await res.json()) as Readiness;
          return body.status === 'ready' ? body : null;
        },
        240_000,
        'the receiver started by scripts/up to be ready',
      ).catch((error: unknown) => assert.fail(`${String(error)}\n${run.output()}`));
      if (readiness === 'exited') assert.fail(`scripts/up exited ${run.child.exitCode}:\n${run.output()}`);
      assert.deepEqual(Object.keys(readiness.checks.routes).sort(), ['emea', 'rest']);
      assert.equal(readiness.checks.routes.emea?.reachable, true);

      const out = run.output();
      assert.match(out, new RegExp(`^route emea: Kafka ${brokers}, topics ${prefix}\\.\\*$`, 'm'));
      assert.match(out, new RegExp(`^route rest: Kafka ${brokers}, topics ${prefix}-rest\\.\\*$`, 'm'));
      assert.match(out, new RegExp(`^receiver: ${url} .* Kafka: emea ${brokers}; rest ${brokers}$`, 'm'));
      assert.doesNotMatch(out, /^kafka:/m, 'scripts/kafka ran');
      assert.ok(!existsSync(kafkaDir), 'a broker data dir was made');

      const body = deviceUpdate(42, { site: 'ams1', region: 'nl', regions: ['nl', 'emea'] }, 1);
      const { raw, signature } = signed(body);
      const res = await fetch(`${url}/v1/netbox/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hook-signature': signature },
        body: raw,
      });
      assert.equal(res.status, 202, await res.text());
      const requestId = (body.request as { id: string }).id;
      const events = await consume(`${prefix}.events.v1`, 1, { settleMs: 0 });
      const event = events.find((e) => (e.value.data as { actor?: { requestId?: string } }).actor?.requestId === requestId);
      assert.ok(event, `the webhook's event is not on ${prefix}.events.v1`);
      assert.equal(event.key, 'dcim.device:42');
      assert.equal(event.value.source, 'netbox://nb-eu');
      assert.deepEqual(
        { route: (event.value.data as { route?: string }).route, source: (event.value.data as { source?: string }).source },
        { route: 'emea', source: 'nb-eu' },
      );

      run.child.kill('SIGTERM');
      assert.equal(await run.exited, 0, run.output());
      assert.match(run.output(), /"msg":"stopped; outbox empty"/);
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        run.child.kill('SIGKILL');
        await run.exited;
      }
    }
  });
});
