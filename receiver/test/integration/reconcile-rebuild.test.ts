/**
 * The reconciler's state after its data directory is lost: a new receiver on the same topic prefix
 * rebuilds every root from `<prefix>.roots.state.v1`, keeps the attempt in flight correlated with
 * its AWX job (the AWX API double, launched here the way ansible-rulebook does) and re-issues nothing.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { AwxDouble, type Fate, type LaunchInfo } from '../helpers/awx-double.js';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { postWebhook } from '../helpers/http.js';
import { consume, kafka, randomPrefix, topicSize } from '../helpers/kafka.js';
import { processEnv } from '../helpers/receiver.js';
import { loseStore } from '../helpers/store.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { freePort, killHard, spawnReceiver } from '../helpers/process.js';
import { waitFor } from '../helpers/wait-for.js';

const NOTIFY = 'unicop-test-notify-token-0123456789';
const API = 'unicop-test-api-token-0123456789';
const AWX_TOKEN = 'unicop-test-awx-token-0123456789';
const TEMPLATE = { name: 'reconcile-device', organization: 'Default' };
const FATES: Record<string, Fate> = { 'dcim.device:71': 'successful', 'dcim.device:72': 'never-finishes', 'dcim.device:73': 'failed' };
const DEVICES = ['dcim.device:71', 'dcim.device:72', 'dcim.device:73'];
const VM = 'virtualization.virtualmachine:74';

interface RootBody {
  state: string;
  attempt: number;
  lastSequence: number;
  lastEvent: unknown;
  inFlight: { reconcileId: string; awxJobId: number | null } | null;
  lastOutcome: { reconcileId: string; result: string; class: string | null } | null;
  pendingFollowUp: boolean;
}

describe('reconciler after its data directory is lost (rebuild from the compacted state topic)', function () {
  this.timeout(240_000);

  it('restores every root, keeps the attempt in flight correlated, and re-issues no command', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'unicop-rebuild-')), 'data');
    const prefix = randomPrefix();
    const env = processEnv(dataDir, prefix, {
      // Deadlines far away: nothing may time out while the receiver is down; the VM stays pending for an hour.
      UNICOP_RECONCILE_POLICY: policyFile([
        { ...DEVICE_RULE, deadlineMs: 3_600_000 },
        { ...DEVICE_RULE, match: { rootType: 'virtualization.virtualmachine' }, debounceMs: 3_600_000 },
      ]),
      UNICOP_AWX_NOTIFY_TOKEN: NOTIFY,
      UNICOP_API_TOKENS: API,
      UNICOP_LOG_LEVEL: 'info',
    });
    const awx = new AwxDouble({
      token: AWX_TOKEN,
      templates: [TEMPLATE],
      pendingMs: 50,
      runMs: 200,
      fates: (l: LaunchInfo) => FATES[String(l.extraVars.unicop_root)] ?? 'successful',
    });
    await awx.start();
    const get = (url: string, path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${API}` } });
    const root = async (url: string, key: string): Promise<RootBody | null> => {
      const res = await get(url, `/v1/roots/${key}`);
      const body = (await res.json()) as RootBody;
      assertMatchesOpenapi('GET', '/v1/roots/{root}', { status: res.status, headers: Object.fromEntries(res.headers), body });
      return res.status === 200 ? body : null;
    };
    const outboxEmpty = async (url: string) =>
      ((await (await fetch(`${url}/readyz`)).json()) as { checks: { outbox: { depth: number } } }).checks.outbox.depth === 0;
    const reconcileFields = ({ state, attempt, inFlight, lastOutcome, pendingFollowUp }: RootBody) => ({
      state,
      attempt,
      inFlight,
      lastOutcome,
      pendingFollowUp,
    });
    const notifyTo = (url: string) =>
      awx.setNotification({ url: `${url}/v1/awx/notifications`, headers: { Authorization: `Bearer ${NOTIFY}` }, on: ['started', 'success', 'error'] });

    let r = await spawnReceiver(env);
    const eda = await fakeEda(`${prefix}.reconcile.requests.v1`, awx);
    try {
      notifyTo(r.url);
      for (const [i, key] of DEVICES.entries()) {
        const { raw, signature } = signed(interfaceUpdate(Number(key.split(':')[1]), 7100 + i, 1));
        assert.equal((await postWebhook(r.url, raw, signature)).status, 202);
      }
      const vm = signed(vmUpdate(74));
      assert.equal((await postWebhook(r.url, vm.raw, vm.signature)).status, 202);

      const expected = ['succeeded', 'running', 'failed', 'pending'];
      const before = await waitFor(
        async () => {
          const bodies = await Promise.all([...DEVICES, VM].map((key) => root(r.url, key)));
          return bodies.every((b, i) => b?.state === expected[i]) && (await outboxEmpty(r.url)) ? (bodies as RootBody[]) : null;
        },
        60_000,
        'roots succeeded, running, failed, pending and every state message published',
      );
      assert.ok(before[1]!.inFlight?.awxJobId, 'the running attempt knows its AWX job');
      const commandsBefore = await topicSize(`${prefix}.reconcile.requests.v1`);
      const statesBefore = await topicSize(`${prefix}.roots.state.v1`);
      assert.equal(commandsBefore, 3, 'one command per device, none for the VM still in its debounce window');

      await killHard(r.child);
      loseStore(dataDir);

      r = await spawnReceiver(env);
      notifyTo(r.url);
      const after = await waitFor(
        async () => {
          const bodies = await Promise.all([...DEVICES, VM].map((key) => root(r.url, key)));
          return bodies.every(Boolean) ? (bodies as RootBody[]) : null;
        },
        60_000,
        'the rebuilt roots (503 until the rebuild is done)',
      );
      assert.deepEqual(after.map(reconcileFields), before.map(reconcileFields), 'the same reconcile state per root');
      assert.deepEqual(
        after.map((b) => [b.lastSequence, b.lastEvent]),
        after.map(() => [0, null]),
        'the event index starts empty: honest about it',
      );
      await waitFor(() => outboxEmpty(r.url), 30_000, 'the outbox of the new receiver drained');
      assert.equal(await topicSize(`${prefix}.roots.state.v1`), statesBefore, 'the rebuild republished no state');
      const metrics = await (await fetch(`${r.url}/metrics`)).text();
      for (const state of ['succeeded', 'running', 'failed', 'pending'])
        assert.match(metrics, new RegExp(`unicop_reconcile_rebuilt_roots_total\\{state="${state}"\\} 1\\b`));
      assert.match(r.output(), /"restored":4,"inFlight":1,"skipped":0/, 'one log line with the counts');

      // The job AWX still runs finishes now: its notification must correlate with the restored attempt.
      const inFlight = before[1]!.inFlight!;
      awx.finishJob(inFlight.awxJobId!, 'successful');
      const finished = await waitFor(
        async () => {
          const b = await root(r.url, DEVICES[1]!);
          return b?.state === 'succeeded' ? b : null;
        },
        30_000,
        'the outcome of the restored attempt',
      );
      assert.equal(finished.lastOutcome?.reconcileId, inFlight.reconcileId);
      const orphans = /unicop_reconcile_orphans_total\{[^}]*\} [1-9]/.test(await (await fetch(`${r.url}/metrics`)).text());
      assert.equal(orphans, false, 'no notification became an orphan');

      // A new change after the restart: its command covers exactly that change, so no old event was replayed.
      const sentinel = signed(interfaceUpdate(71, 7100, 2));
      const accepted = await postWebhook(r.url, sentinel.raw, sentinel.signature);
      assert.equal(accepted.status, 202);
      const commands = await consume(`${prefix}.reconcile.requests.v1`, commandsBefore + 1, { settleMs: 3000 });
      assert.equal(commands.length, commandsBefore + 1, 'no command was re-issued; only the new change made one');
      const original = new Set(before.map((b) => b.inFlight?.reconcileId ?? b.lastOutcome?.reconcileId));
      const last = commands.find((c) => !original.has((c.value.data as { reconcileId: string }).reconcileId));
      assert.deepEqual([last?.key, (last?.value.data as { triggeringEvents: string[] }).triggeringEvents], ['dcim.device:71', [accepted.body.id]]);
      assert.equal((await root(r.url, VM))?.state, 'pending', 'the VM keeps its debounce window');
    } finally {
      await killHard(r.child);
      await eda.stop();
      await awx.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('waits for Kafka instead of starting on an empty state: 503 and a warning per try', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-rebuild-nokafka-'));
    const r = await spawnReceiver(
      processEnv(dataDir, randomPrefix(), {
        KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
        UNICOP_RECONCILE_POLICY: policyFile([DEVICE_RULE]),
        UNICOP_AWX_NOTIFY_TOKEN: NOTIFY,
        UNICOP_API_TOKENS: API,
      }),
    );
    try {
      await waitFor(() => r.output().split('state topic could not be read').length > 2, 60_000, 'two warnings, one per try');
      const res = await fetch(`${r.url}/v1/roots?state=failed`, { headers: { authorization: `Bearer ${API}` } });
      const body = (await res.json()) as { error: { code: string } };
      assertMatchesOpenapi('GET', '/v1/roots', { status: res.status, headers: Object.fromEntries(res.headers), body });
      assert.deepEqual([res.status, body.error.code], [503, 'UNICOP_RECONCILE_REBUILDING']);
      const notified = await fetch(`${r.url}/v1/awx/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${NOTIFY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 5, status: 'successful', extra_vars: JSON.stringify({ unicop_reconcile_id: randomUUID() }) }),
      });
      assert.equal(notified.status, 503, 'not stored as an orphan of an empty state');
      assert.match(await (await fetch(`${r.url}/metrics`)).text(), /^unicop_reconcile_rebuilding 1$/m);
    } finally {
      await killHard(r.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** ansible-rulebook's part, reduced: every command on the requests topic launches its template on the AWX double. */
async function fakeEda(topic: string, awx: AwxDouble): Promise<{ stop(): Promise<void> }> {
  const admin = kafka.admin();
  await admin.connect();
  // The receiver creates its topics at its first contact with Kafka.
  await waitFor(async () => (await admin.listTopics()).includes(topic), 30_000, `topic ${topic}`).finally(() => admin.disconnect());
  const consumer: Consumer = kafka.consumer({ groupId: `unicop-test-eda-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const command = JSON.parse(message.value?.toString() ?? '{}') as { data: { extraVars: Record<string, unknown> } };
      const res = await fetch(`${awx.url}/api/v2/job_templates/7/launch/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${AWX_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ extra_vars: command.data.extraVars }),
      });
      if (res.status !== 201) throw new Error(`launch answered ${res.status}`);
    },
  });
  return { stop: () => consumer.disconnect() };
}

function vmUpdate(id: number) {
  return {
    event: 'updated',
    timestamp: '2026-03-01T10:00:00.000000+00:00',
    object_type: 'virtualization.virtualmachine',
    data: { id, display: `vm-${id}`, last_updated: '2026-03-01T10:00:00.000000+00:00' },
    snapshots: { prechange: { status: 'active' }, postchange: { status: 'offline' } },
    request: { id: randomUUID(), user: 'admin', method: 'PATCH', path: '/', path_info: '/', GET: {} },
  };
}
