import { strict as assert } from 'node:assert';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { listen, pool, postWebhook } from '../helpers/http.js';
import { consume } from '../helpers/kafka.js';
import { startTestReceiver } from '../helpers/receiver.js';

const EVENTS = 2000;
const ROOTS = 50;
const CONCURRENCY = 32;

describe('per-root order under concurrency (real broker)', function () {
  this.timeout(180_000);

  it(`delivers ${EVENTS} events over ${ROOTS} roots, posted ${CONCURRENCY} at a time, with strictly increasing sequence per root`, async () => {
    const t = startTestReceiver();
    const server = await listen(t.receiver.app);
    try {
      const results = await pool(EVENTS, CONCURRENCY, (i) => {
        const { raw, signature } = signed(interfaceUpdate(1000 + (i % ROOTS), 5000 + i, i));
        return postWebhook(server.url, raw, signature);
      });
      assert.deepEqual([...new Set(results.map((r) => r.status))], [202]);

      const messages = await consume(t.topics.events, EVENTS, { timeoutMs: 120_000 });
      assert.equal(messages.length, EVENTS, 'every accepted event arrived, none twice');
      assert.equal(new Set(messages.map((m) => m.value.id)).size, EVENTS);

      const lastSeen = new Map<string, number>();
      const partitionOf = new Map<string, number>();
      for (const m of messages) {
        const seq = Number(m.value.sequence);
        const previous = lastSeen.get(m.key) ?? 0;
        assert.equal(seq, previous + 1, `root ${m.key}: sequence ${seq} after ${previous}`);
        lastSeen.set(m.key, seq);
        assert.equal(partitionOf.get(m.key) ?? m.partition, m.partition, `root ${m.key} stays on one partition`);
        partitionOf.set(m.key, m.partition);
      }
      assert.equal(lastSeen.size, ROOTS);
      for (const last of lastSeen.values()) assert.equal(last, EVENTS / ROOTS);
    } finally {
      await server.close();
      await t.close();
    }
  });
});
