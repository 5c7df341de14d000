import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { listen, pool, postWebhook } from '../helpers/http.js';
import { consume, kafkaControl, randomPrefix, sleep, type Received } from '../helpers/kafka.js';
import { killHard, spawnReceiver } from '../helpers/process.js';
import { processEnv, startTestReceiver } from '../helpers/receiver.js';

/** Per root, in arrival order and ignoring repeats of an id already seen, sequences go 1, 2, 3, … */
function assertPerRootOrder(messages: Received[]): void {
  const seen = new Set<string>();
  const last = new Map<string, number>();
  for (const m of messages) {
    const id = String(m.value.id);
    if (seen.has(id)) continue;
    seen.add(id);
    const seq = Number(m.value.sequence);
    assert.equal(seq, (last.get(m.key) ?? 0) + 1, `root ${m.key}: ${seq} after ${last.get(m.key) ?? 0}`);
    last.set(m.key, seq);
  }
}

describe('durability (real broker stopped and started, receiver killed)', function () {
  this.timeout(300_000);

  it('accepts 500 webhooks while Kafka is down and delivers all of them, in per-root order, once it is back', async () => {
    const t = startTestReceiver();
    const server = await listen(t.receiver.app);
    // closed whatever fails: a receiver left open keeps mocha (and scripts/test) from ever exiting
    try {
      try {
        await kafkaControl('down');
        const results = await pool(500, 16, (i) => {
          const { raw, signature } = signed(interfaceUpdate(2000 + (i % 20), 9000 + i, i));
          return postWebhook(server.url, raw, signature);
        });
        assert.deepEqual([...new Set(results.map((r) => r.status))], [202], 'accepted while the broker is away');
        // every event is held, with what it carries (object states, root projections: docs/desired-state.md)
        const held = t.receiver.store.pending(100_000);
        assert.equal(held.filter((row) => row.topic === 'events').length, 500);
        assert.equal(t.receiver.store.depth(), held.length);
        assert.equal(t.receiver.relay.reachable, false);
      } finally {
        await kafkaControl('up');
      }
      const messages = await consume(t.topics.events, 500, { timeoutMs: 120_000 });
      assert.equal(new Set(messages.map((m) => m.value.id)).size, 500, 'all 500 arrived');
      assert.equal(messages.length, 500, 'none twice');
      assertPerRootOrder(messages);
    } finally {
      await server.close();
      await t.close();
    }
  });

  it('loses nothing when the receiver is killed with SIGKILL in the middle of a 2,000-event run', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-kill-'));
    const prefix = randomPrefix();
    const env = processEnv(dataDir, prefix);
    let receiver = await spawnReceiver(env);
    const accepted = new Set<string>();
    let killed = false;
    let restarting: Promise<void> | null = null;
    const bodies = Array.from({ length: 2000 }, (_, i) => signed(interfaceUpdate(3000 + (i % 50), 20000 + i, i)));
    try {
      await pool(bodies.length, 16, async (i) => {
        const { raw, signature } = bodies[i]!;
        for (;;) {
          if (i === 800 && !killed) {
            killed = true;
            await killHard(receiver.child);
            restarting = spawnReceiver(env).then((r) => void (receiver = r));
          }
          if (restarting) await restarting;
          try {
            const res = await postWebhook(receiver.url, raw, signature);
            if (res.status === 202 || res.status === 200) {
              accepted.add(String(res.body.id));
              return;
            }
            assert.fail(`unexpected ${res.status}: ${JSON.stringify(res.body)}`);
          } catch (error) {
            if (error instanceof assert.AssertionError) throw error;
            await sleep(50); // connection refused while the process is down: the client retries, as NetBox would with RQ_RETRY_MAX
          }
        }
      });
      assert.ok(killed);
      assert.equal(accepted.size, 2000);
      const messages = await consume(`${prefix}.events.v1`, 2000, { timeoutMs: 120_000, settleMs: 2000 });
      const published = new Set(messages.map((m) => String(m.value.id)));
      const missing = [...accepted].filter((id) => !published.has(id));
      assert.deepEqual(missing, [], 'every accepted event was published');
      assert.equal(published.size, 2000);
      assertPerRootOrder(messages);
    } finally {
      await killHard(receiver.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
