/**
 * The whole control loop on real parts: signed NetBox webhook → receiver (outbox, relay) → Kafka →
 * reconciler → reconcile command on Kafka → real ansible-rulebook (scripts/eda) → AWX API double →
 * AWX default notification (or, when it is lost, the receiver's poller) → outcome and root state.
 * Needs KAFKA_BROKERS (scripts/test starts a broker); FAILS, never skips, without Kafka or ansible-rulebook.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwxDouble, type Fate, type LaunchInfo } from '../helpers/awx-double.js';
import { edaEnvironment, runEda } from '../helpers/eda.js';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { listen, postWebhook } from '../helpers/http.js';
import { kafka } from '../helpers/kafka.js';
import { policyFile } from '../helpers/policy.js';
import { startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const TEMPLATE = { name: 'reconcile-device', organization: 'Default' };
const AWX_TOKEN = 'unicop-e2e-awx-token-0123456789';
const NOTIFY = 'unicop-e2e-notify-token-0123456789';
const API = 'unicop-e2e-api-token-0123456789';

/** Each device id scripts its job's fate on the double. */
const FATES: Record<string, Fate> = {
  'dcim.device:501': 'successful',
  'dcim.device:502': 'failed',
  'dcim.device:503': { kind: 'notification-lost', status: 'successful' },
  'dcim.device:504': 'never-finishes',
  'dcim.device:505': { kind: 'successful', runMs: 4000 },
};

describe('control loop: webhook → reconciler → ansible-rulebook → AWX double → outcome', function () {
  this.timeout(900_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'unicop-loop-e2e-'));
  const awx = new AwxDouble({
    token: AWX_TOKEN,
    templates: [TEMPLATE],
    pendingMs: 100,
    runMs: 800,
    fates: (launch: LaunchInfo) => FATES[String(launch.extraVars.unicop_root)] ?? 'successful',
  });
  let t: TestReceiver;
  let server: Awaited<ReturnType<typeof listen>>;
  let edaEnv: NodeJS.ProcessEnv;
  let n = 0;

  const eda = (action: 'install' | 'up' | 'down') => runEda(action, edaEnv);

  async function change(deviceId: number): Promise<number> {
    const { raw, signature } = signed(interfaceUpdate(deviceId, 9000 + ++n, 100_000 + n));
    const res = await postWebhook(server.url, raw, signature);
    assert.equal(res.status, 202);
    return Date.now();
  }

  async function root(key: string) {
    const res = await t.http.get(`/v1/roots/${key}`).set('authorization', `Bearer ${API}`);
    return res.body as {
      state: string;
      attempt: number;
      lastOutcome: { result: string; class: string | null; awxJobId: number | null } | null;
      desiredVersion: string | null;
      appliedVersion: string | null;
    };
  }

  const launchesFor = (key: string) => awx.launches().filter((l) => l.extraVars.unicop_root === key);

  before(async function () {
    const awxUrl = await awx.start();
    t = startTestReceiver({
      UNICOP_RECONCILE_POLICY: policyFile([{ match: { rootType: 'dcim.device' }, jobTemplate: TEMPLATE, debounceMs: 300, deadlineMs: 12_000 }]),
      UNICOP_AWX_NOTIFY_TOKEN: NOTIFY,
      UNICOP_API_TOKENS: API,
      AWX_URL: awxUrl,
      AWX_TOKEN,
      UNICOP_AWX_POLL_INTERVAL_MS: '500',
    });
    server = await listen(t.receiver.app);
    awx.setNotification({ url: `${server.url}/v1/awx/notifications`, headers: { Authorization: `Bearer ${NOTIFY}` } });
    const prefix = t.topics.events.replace(/\.events\.v1$/, '');
    // The receiver creates every topic at its first contact with Kafka; the rulebook's source needs them.
    const admin = kafka.admin();
    await admin.connect();
    await waitFor(async () => (await admin.listTopics()).includes(`${prefix}.reconcile.requests.v1`), 60_000, 'topics created by the receiver');
    await admin.disconnect();
    edaEnv = edaEnvironment({ awxUrl, awxToken: AWX_TOKEN, prefix, dataDir, templateRefreshDelay: '0.5', shutdownDelay: '5' });
    await eda('install');
    await eda('up');
  });

  after(async () => {
    await eda('down').catch(() => undefined);
    await server?.close();
    await t?.close();
    await awx.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('launches the job with the reconcile id in extra vars and ends succeeded (latency printed)', async () => {
    const posted = await change(501);
    const [launch] = await waitFor(() => (launchesFor('dcim.device:501').length > 0 ? launchesFor('dcim.device:501') : null), 60_000, 'AWX launch');
    console.log(`      change → AWX launch: ${launch!.launchedAt - posted} ms (debounce 300 ms included)`);
    assert.equal(launch!.templateName, TEMPLATE.name);
    assert.equal(launch!.extraVars.unicop_attempt, 1);
    assert.match(String(launch!.extraVars.unicop_reconcile_id), /^[0-9a-f-]{36}$/);
    const state = await waitFor(async () => ((await root('dcim.device:501')).state === 'succeeded' ? root('dcim.device:501') : null), 60_000, 'succeeded');
    assert.equal(state.lastOutcome?.awxJobId, launch!.jobId);
    // Converged, in one line: the job was asked to apply the root's desired state, and that is what was applied.
    assert.match(String(state.desiredVersion), /^sha256:[0-9a-f]{64}$/);
    assert.equal(launch!.extraVars.unicop_desired_version, state.desiredVersion, 'the job got the desiredVersion to apply');
    assert.equal(state.appliedVersion, state.desiredVersion, 'the success applied it');
  });

  it('ends a failed job as failed/execution and never relaunches it (default policy)', async () => {
    await change(502);
    const state = await waitFor(async () => ((await root('dcim.device:502')).state === 'failed' ? root('dcim.device:502') : null), 60_000, 'failed');
    assert.equal(state.lastOutcome?.class, 'execution');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(launchesFor('dcim.device:502').length, 1);
  });

  it('finds the outcome by polling AWX when the notification is lost', async () => {
    await change(503);
    const state = await waitFor(
      async () => ((await root('dcim.device:503')).state === 'succeeded' ? root('dcim.device:503') : null),
      60_000,
      'succeeded via the poller',
    );
    assert.equal(state.lastOutcome?.result, 'succeeded');
    assert.equal(
      awx.notifications().filter((x) => x.jobId === launchesFor('dcim.device:503')[0]?.jobId && x.type !== 'started').length,
      0,
      'no notification was sent',
    );
  });

  it('turns a job that never finishes into timed_out at the deadline', async () => {
    await change(504);
    const state = await waitFor(async () => ((await root('dcim.device:504')).state === 'timed_out' ? root('dcim.device:504') : null), 60_000, 'timed_out');
    assert.equal(state.lastOutcome?.class, 'timeout');
  });

  it('coalesces 50 changes made while a job runs into exactly one follow-up launch', async () => {
    await change(505);
    await waitFor(() => launchesFor('dcim.device:505').length === 1, 60_000, 'first launch');
    for (let i = 0; i < 50; i++) await change(505);
    await waitFor(
      async () => (await root('dcim.device:505')).state === 'succeeded' && launchesFor('dcim.device:505').length === 2,
      90_000,
      'the follow-up succeeded',
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const launches = launchesFor('dcim.device:505');
    assert.equal(launches.length, 2, 'exactly one follow-up');
    assert.ok(launches[1]!.launchedAt >= launches[0]!.finishedAt!, 'one root never runs twice at once');
  });
});
