import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { postWebhook } from '../helpers/http.js';
import { consume, randomPrefix } from '../helpers/kafka.js';
import { processEnv } from '../helpers/receiver.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { killHard, spawnReceiver } from '../helpers/process.js';
import { waitFor } from '../helpers/wait-for.js';

const NOTIFY = 'unicop-test-notify-token-0123456789';
const API = 'unicop-test-api-token-0123456789';

describe('reconciler across a receiver crash (SIGKILL, same data dir)', function () {
  this.timeout(180_000);

  it('loses and duplicates no reconcile: the attempt in flight survives and its outcome lands after the restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-reconcile-kill-'));
    const prefix = randomPrefix();
    const env = processEnv(dataDir, prefix, {
      UNICOP_RECONCILE_POLICY: policyFile([DEVICE_RULE]),
      UNICOP_AWX_NOTIFY_TOKEN: NOTIFY,
      UNICOP_API_TOKENS: API,
    });
    const rootState = async (url: string) =>
      (await (await fetch(`${url}/v1/roots/dcim.device:61`, { headers: { authorization: `Bearer ${API}` } })).json()) as {
        state: string;
        inFlight: { reconcileId: string } | null;
        lastOutcome: { result: string } | null;
        pendingFollowUp: boolean;
      };
    let r = await spawnReceiver(env);
    try {
      const first = signed(interfaceUpdate(61, 6100, 1));
      assert.equal((await postWebhook(r.url, first.raw, first.signature)).status, 202);
      const inFlight = await waitFor(async () => (await rootState(r.url)).inFlight, 30_000, 'an attempt in flight');
      // A change during flight, then the crash: the follow-up must survive too.
      const second = signed(interfaceUpdate(61, 6101, 2));
      assert.equal((await postWebhook(r.url, second.raw, second.signature)).status, 202);
      await waitFor(async () => (await rootState(r.url)).pendingFollowUp, 30_000, 'the follow-up recorded');
      await killHard(r.child);

      r = await spawnReceiver(env);
      const after = await rootState(r.url);
      assert.equal(after.inFlight?.reconcileId, inFlight.reconcileId, 'the same attempt is still in flight');
      const notified = await fetch(`${r.url}/v1/awx/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${NOTIFY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 5, status: 'successful', extra_vars: JSON.stringify({ unicop_reconcile_id: inFlight.reconcileId }) }),
      });
      assert.equal(((await notified.json()) as { result: string }).result, 'applied');

      const commands = await consume(`${prefix}.reconcile.requests.v1`, 2, { settleMs: 3000 });
      const ids = commands.map((c) => String((c.value.data as { reconcileId: string }).reconcileId));
      assert.equal(new Set(ids).size, 2, 'the first attempt and exactly one follow-up, nothing lost');
      assert.equal(ids[0], inFlight.reconcileId);
      const outcomes = await consume(`${prefix}.reconcile.outcomes.v1`, 1, { settleMs: 2000 });
      assert.deepEqual(new Set(outcomes.map((outcome) => (outcome.value.data as { reconcileId: string }).reconcileId)), new Set([inFlight.reconcileId]));
    } finally {
      await killHard(r.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
