import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { createKafka } from '../../src/pipeline/publish/kafka-client.js';
import { LaneProducers, transactionalIdOf } from '../../src/pipeline/publish/lane-transactions.js';
import { classifyPublishError } from '../../src/pipeline/publish/producer-errors.js';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { pool, postWebhook } from '../helpers/http.js';
import { BROKERS, consume, kafka, randomPrefix, sleep, type Received } from '../helpers/kafka.js';
import { killHard, spawnReceiver } from '../helpers/process.js';
import { processEnv } from '../helpers/receiver.js';
import { TEST_STORE } from '../helpers/store.js';

/** Every id once, and each root's sequences rising by one. */
function assertExactlyOnceInOrder(messages: Received[], accepted: ReadonlySet<string>): void {
  const ids = messages.map((m) => String(m.value.id));
  const copies = ids.length - new Set(ids).size;
  assert.equal(copies, 0, `${copies} event ids seen twice by a read_committed consumer`);
  assert.deepEqual(
    [...accepted].filter((id) => !ids.includes(id)),
    [],
    'every accepted event was published',
  );
  const last = new Map<string, number>();
  for (const m of messages) {
    const seq = Number(m.value.sequence);
    assert.equal(seq, (last.get(m.key) ?? 0) + 1, `per-root order for ${m.key}`);
    last.set(m.key, seq);
  }
}

describe('exactly-once publication (real broker, transactional lanes)', function () {
  this.timeout(180_000);

  it('publishes a batch once when the receiver dies by SIGKILL after Kafka committed it and before the cursor write', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-eos-'));
    const prefix = randomPrefix();
    const env = processEnv(dataDir, prefix);
    // The test hook: the first receiver kills itself right after its first committed transaction.
    let receiver = await spawnReceiver({ ...env, UNICOP_TEST_KILL_AFTER_COMMITS: '1' });
    const first = receiver;
    const died = new Promise<void>((resolve) => first.child.once('exit', () => resolve()));
    let restarting: Promise<void> | null = null;
    const accepted = new Set<string>();
    const bodies = Array.from({ length: 300 }, (_, i) => signed(interfaceUpdate(4000 + (i % 30), 40000 + i, i)));
    try {
      await pool(bodies.length, 8, async (i) => {
        const { raw, signature } = bodies[i]!;
        for (;;) {
          if (first.child.signalCode !== null && !restarting) restarting = spawnReceiver(env).then((r) => void (receiver = r));
          if (restarting) await restarting;
          try {
            const res = await postWebhook(receiver.url, raw, signature);
            assert.ok(res.status === 202 || res.status === 200, `unexpected ${res.status}: ${JSON.stringify(res.body)}`);
            accepted.add(String(res.body.id));
            return;
          } catch (error) {
            if (error instanceof assert.AssertionError) throw error;
            await sleep(50); // connection refused while the process is down: the client retries
          }
        }
      });
      await died;
      assert.equal(first.child.signalCode, 'SIGKILL', 'the hook killed the first receiver');
      restarting ??= spawnReceiver(env).then((r) => void (receiver = r));
      await restarting;
      assert.equal(accepted.size, bodies.length);
      const messages = await consume(`${prefix}.events.v1`, bodies.length, { timeoutMs: 120_000, settleMs: 3000 });
      assertExactlyOnceInOrder(messages, accepted);
      assert.match(receiver.output(), /relay lane cursor moved to what Kafka already holds/, 'the restart found the committed batch in Kafka');
      for (const m of messages) {
        // SQLite: one lane for every partition; PostgreSQL: one lane per partition of the events topic.
        const lane = TEST_STORE === 'sqlite' ? 0 : m.partition;
        assert.equal(m.headers.relay_lane, transactionalIdOf(prefix, 'default', lane), 'the lane’s transactional id: <prefix>.relay.<route>.<partition>');
        assert.match(m.headers.outbox_pos ?? '', /^[1-9][0-9]*$/);
      }
    } finally {
      await killHard(receiver.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('fences a zombie: once a newer producer initialised the lane’s transactional id, the old one’s transaction fails and none of it is visible', async () => {
    const prefix = randomPrefix();
    const topic = `${prefix}.events.v1`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const id = transactionalIdOf(prefix, 'default', 0);
    const log = createLogger('silent');
    const zombie = new LaneProducers(createKafka(BROKERS, log, {}));
    const holder = new LaneProducers(createKafka(BROKERS, log, {}));
    const message = (n: string) => ({ key: 'dcim.device:1', value: JSON.stringify({ id: n, sequence: '1' }), headers: { message_uuid: n } });
    try {
      const old = await (await zombie.get(id)).transaction();
      await old.sendBatch({ acks: -1, topicMessages: [{ topic, messages: [message('zombie-1')] }] });
      // The lane is taken: the new holder's initialisation fences the old producer and aborts its open transaction.
      const taker = await (await holder.get(id)).transaction();
      await taker.sendBatch({ acks: -1, topicMessages: [{ topic, messages: [message('holder-1')] }] });
      await taker.commit();
      const refused = await old.commit().then(
        () => null,
        (error: unknown) => error,
      );
      assert.ok(refused, 'the zombie could not commit');
      assert.equal(classifyPublishError(refused), 'fenced');
      const seen = await consume(topic, 1, { timeoutMs: 30_000, settleMs: 2000 });
      const ids = seen.map((m) => String(m.value.id)).sort();
      assert.deepEqual(ids, ['holder-1'], 'nothing of the fenced transaction is visible to read_committed consumers');
    } finally {
      await Promise.allSettled([zombie.closeAll(), holder.closeAll()]);
    }
  });
});
