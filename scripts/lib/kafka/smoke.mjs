#!/usr/bin/env node
// Smoke test / diagnostic of a broker with kafkajs (the client the receiver uses).
//
//   KAFKA_BROKERS=127.0.0.1:9092 node scripts/lib/kafka/smoke.mjs [--keep] [--topic NAME] [--txn]
//
// Creates a topic with 3 partitions, sends 100 keyed messages (10 keys x 10 sequence numbers) with an
// idempotent producer (idempotent: true, maxInFlightRequests: 1, acks -1), reads them back with a consumer
// group from the beginning, and checks: all 100 arrive exactly once, each key stays on one partition, and the
// sequence numbers of every key arrive in order. --txn also runs one transactional send + commit (needs the
// transaction state log settings of scripts/kafka). The topic is deleted at the end unless --keep is given.
// Exit 0 on success, 1 on any failure (the error is printed).
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { randomBytes } from 'node:crypto';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const run = `${Date.now()}-${randomBytes(3).toString('hex')}`;
const topic = opt('--topic') || `unicop.smoke.${run}`;
const groupId = `unicop-smoke-${run}`;
const KEYS = 10;
const PER_KEY = 10;
const TOTAL = KEYS * PER_KEY;
const TIMEOUT_MS = Number(process.env.SMOKE_TIMEOUT_MS || 60000);

const kafka = new Kafka({
  clientId: 'unicop-kafka-smoke',
  brokers,
  logLevel: process.env.SMOKE_DEBUG ? logLevel.INFO : logLevel.NOTHING,
  connectionTimeout: 3000,
  requestTimeout: 30000,
});

const t0 = Date.now();
const step = (msg) => console.log(`[smoke +${String(Date.now() - t0).padStart(5)} ms] ${msg}`);
const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms).unref())]);

// Retry an admin call on retriable broker errors. Right after createTopics(waitForLeaders) a broker may still
// answer NOT_LEADER_OR_FOLLOWER to ListOffsets for a moment (seen on a freshly started 4.4.0 broker), and
// kafkajs' admin.fetchTopicOffsets does not retry that by itself.
async function retrying(what, fn, tries = 40) {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!err || !err.retriable || i >= tries) throw err;
      if (process.env.SMOKE_DEBUG) step(`${what}: ${err.message} (retry ${i})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const admin = kafka.admin();
const producer = kafka.producer({
  idempotent: true,
  maxInFlightRequests: 1,
  createPartitioner: Partitioners.DefaultPartitioner,
});
const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
let txProducer;

async function main() {
  step(`brokers ${brokers.join(',')}, topic ${topic}`);
  await admin.connect();
  const cluster = await admin.describeCluster();
  step(`cluster ${cluster.clusterId}: ${cluster.brokers.length} broker(s), controller ${cluster.controller}`);

  const existing = await admin.listTopics();
  const preExisting = existing.includes(topic);
  if (!preExisting) {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    });
    if (!created) throw new Error(`createTopics returned false for new topic ${topic}`);
  }
  const meta = await retrying('fetchTopicMetadata', () => admin.fetchTopicMetadata({ topics: [topic] }));
  const partitions = meta.topics[0].partitions.length;
  if (partitions !== 3) throw new Error(`topic ${topic} has ${partitions} partitions, expected 3`);
  step('topic ready (3 partitions)');

  // Offsets before producing, so a --keep'd topic that already holds data is checked only on the new messages.
  const startOffsets = new Map(
    preExisting ? (await retrying('fetchTopicOffsets', () => admin.fetchTopicOffsets(topic))).map((p) => [p.partition, BigInt(p.high)]) : [],
  );

  await producer.connect();
  // 10 rounds; each round one awaited sendBatch with one message per key, so per-key order is the send order.
  for (let seq = 0; seq < PER_KEY; seq++) {
    const messages = [];
    for (let k = 0; k < KEYS; k++) {
      messages.push({ key: `key-${k}`, value: JSON.stringify({ key: `key-${k}`, seq, run }), headers: { run } });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  step(`produced ${TOTAL} messages (idempotent, acks -1, maxInFlightRequests 1)`);

  if (flag('--txn')) {
    txProducer = kafka.producer({
      transactionalId: `unicop-smoke-tx-${run}`,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await txProducer.connect();
    const tx = await txProducer.transaction();
    await tx.send({ topic, messages: [{ key: 'key-tx', value: JSON.stringify({ key: 'key-tx', seq: 0, run }) }] });
    await tx.commit();
    step('transactional send committed');
  }
  const expected = TOTAL + (flag('--txn') ? 1 : 0);

  const seen = new Map(); // key -> { last, partition, count }
  const errors = [];
  let received = 0;
  let resolveDone;
  const done = new Promise((r) => {
    resolveDone = r;
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const tJoin = Date.now();
  let firstAt;
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (BigInt(message.offset) < (startOffsets.get(partition) ?? 0n)) return;
      firstAt ??= Date.now();
      const v = JSON.parse(message.value.toString());
      const key = message.key.toString();
      if (v.run !== run) return;
      const s = seen.get(key) || { last: -1, partition, count: 0 };
      if (s.partition !== partition) errors.push(`${key} on partitions ${s.partition} and ${partition}`);
      if (v.seq !== s.last + 1) errors.push(`${key}: seq ${v.seq} after ${s.last}`);
      s.last = v.seq;
      s.count++;
      seen.set(key, s);
      received++;
      if (received >= expected) resolveDone();
    },
  });
  await withTimeout(done, TIMEOUT_MS, `consumed ${received}/${expected}`);
  step(`consumed ${received} messages with group ${groupId} (first message ${firstAt - tJoin} ms after run())`);

  if (errors.length) throw new Error(`order check failed:\n  ${errors.slice(0, 20).join('\n  ')}`);
  const usedPartitions = new Set([...seen.values()].map((s) => s.partition));
  for (let k = 0; k < KEYS; k++) {
    const s = seen.get(`key-${k}`);
    if (!s || s.count !== PER_KEY) throw new Error(`key-${k}: got ${s ? s.count : 0} of ${PER_KEY}`);
  }
  step(`per-key order OK for ${KEYS} keys over ${usedPartitions.size} partition(s)`);

  await consumer.disconnect();
  // the group's committed offsets must be visible through the admin API
  const offsets = await retrying('fetchOffsets', () => admin.fetchOffsets({ groupId, topics: [topic] }));
  const committed = offsets[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  step(`group offsets committed: ${committed}`);

  if (!flag('--keep') && !opt('--topic')) {
    await admin.deleteTopics({ topics: [topic], timeout: 10000 });
    await admin.deleteGroups([groupId]).catch(() => {});
    step('topic deleted');
  }
  console.log(`SMOKE OK ${TOTAL} messages, topic ${topic}, ${Date.now() - t0} ms`);
}

async function cleanup() {
  for (const c of [consumer, producer, txProducer, admin]) {
    if (!c) continue;
    try {
      await c.disconnect();
    } catch {
      /* ignore */
    }
  }
}

try {
  await withTimeout(main(), TIMEOUT_MS + 30000, 'smoke test');
  await cleanup();
  process.exit(0);
} catch (err) {
  console.error(`SMOKE FAILED: ${err && err.stack ? err.stack : err}`);
  await withTimeout(cleanup(), 5000, 'cleanup').catch(() => {});
  process.exit(1);
}
