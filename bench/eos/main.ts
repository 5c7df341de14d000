/**
 * The cost of exactly-once publication, measured in one run (`bench/eos/run`; README there).
 *
 * Part 1, the producer alone (kafkajs, one broker): an idempotent producer's `sendBatch` (the relay
 * before transactions) against a transactional one's transaction + `sendBatch` + commit (the relay
 * now), interleaved round by round, for batches of 1, 50 and 500 messages of ~6 KB.
 * Part 2, the whole receiver: the same webhooks posted to a receiver built from another checkout
 * (`--before <dir>`, e.g. a `git archive` of the commit before) and to this one, alternating
 * (before, after, before, after), each with a fresh data dir and topic prefix: events/s from the
 * first POST to the last event on Kafka, and per-event latency POST start → seen by a read_committed
 * consumer, at a steady rate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { Bodies, REPLAY_ENV, SECRET } from '../chaos/client.js';
import { freePort, sleep } from '../chaos/procs.js';
import { percentile } from '../load/stats.js';
import { MAX_MESSAGE_BYTES } from '../../receiver/src/pipeline/publish/topics.js';
import { kafkajsRetry } from '../../receiver/src/pipeline/publish/kafka-client.js';
import { RETRY_POLICIES } from '../../receiver/src/retry/policies.js';

const REPO = new URL('../../', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    rounds: { type: 'string' },
    events: { type: 'string' },
    rate: { type: 'string' },
    pairs: { type: 'string' },
  },
});
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set');
const kafka = new Kafka({ clientId: 'unicop-eos-bench', brokers, logLevel: logLevel.NOTHING });
const ROUNDS = Number(values.rounds ?? 40);
const EVENTS = Number(values.events ?? 4000);
const RATE = Number(values.rate ?? 200);
const PAIRS = Number(values.pairs ?? 2);
const VALUE = 'x'.repeat(6000);

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

async function producerCost(): Promise<string[]> {
  const topic = `eosbench${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'max.message.bytes', value: String(MAX_MESSAGE_BYTES) }] }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  // The relay's settings (lane-transactions.ts), its quick first retries included.
  const txn = kafka.producer({
    retry: kafkajsRetry(RETRY_POLICIES['kafka-lane-producer']),
    idempotent: true,
    maxInFlightRequests: 1,
    transactionalId: `${topic}.relay.default.0`,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await Promise.all([plain.connect(), txn.connect()]);
  const lines = [
    '| batch | idempotent sendBatch: msgs/s | p50 / p99 per batch | transaction (send + commit): msgs/s | p50 / p99 per batch |',
    '|---|---|---|---|---|',
  ];
  try {
    for (const size of [1, 50, 500]) {
      const messages = Array.from({ length: size }, (_, i) => ({ key: `dcim.device:${i % 100}`, value: VALUE }));
      const times = { plain: [] as number[], txn: [] as number[] };
      const rounds = size === 500 ? Math.max(5, Math.floor(ROUNDS / 4)) : ROUNDS;
      for (let r = 0; r < rounds; r++) {
        for (const kind of ['plain', 'txn'] as const) {
          const t0 = performance.now();
          if (kind === 'plain') await plain.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
          else await inTransaction(txn, topic, messages);
          times[kind].push(performance.now() - t0);
        }
      }
      const rate = (t: number[]) => (size * t.length * 1000) / t.reduce((a, b) => a + b, 0);
      const lat = (t: number[]) => `${percentile(t, 50).toFixed(1)} / ${percentile(t, 99).toFixed(1)} ms`;
      lines.push(`| ${size} | ${fmt(rate(times.plain))} | ${lat(times.plain)} | ${fmt(rate(times.txn))} | ${lat(times.txn)} |`);
    }
  } finally {
    await Promise.allSettled([plain.disconnect(), txn.disconnect()]);
  }
  return lines;
}

async function inTransaction(producer: Producer, topic: string, messages: { key: string; value: string }[]): Promise<void> {
  const t = await producer.transaction();
  await t.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
  await t.commit();
}

interface Run {
  which: string;
  eventsPerS: number;
  p50: number;
  p99: number;
}

function startReceiver(cwd: string, port: number, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'receiver/src/main.ts'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: 'ignore',
  });
  return (async () => {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return child;
    }
    child.kill('SIGKILL');
    throw new Error(`receiver in ${cwd} not ready within 60 s`);
  })();
}

/** One receiver: a steady-rate phase (latency), then all at once (events/s to Kafka). */
async function receiverRun(which: string, cwd: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'unicop-eos-bench-'));
  const prefix = `eos${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const child = await startReceiver(cwd, port, {
    KAFKA_BROKERS: brokers.join(','),
    UNICOP_WEBHOOK_SECRETS: SECRET,
    UNICOP_DATA_DIR: dir,
    UNICOP_TOPIC_PREFIX: prefix,
    UNICOP_TOPIC_PARTITIONS: '3',
    UNICOP_LOG_LEVEL: 'warn',
    ...REPLAY_ENV,
  });
  const seen = new Map<string, number>();
  const consumer = kafka.consumer({ groupId: `eos-bench-${randomUUID()}`, readUncommitted: false });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}.events.v1`, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.set(JSON.parse(message.value!.toString()).id as string, performance.now()) });
    const bodies = new Bodies(200);
    const posted = new Map<string, number>();
    const post = async (i: number): Promise<void> => {
      const b = bodies.make(i);
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/v1/netbox/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hook-signature': b.signature },
        body: b.raw,
      });
      const id = ((await res.json()) as { id: string }).id;
      if (res.status !== 202) throw new Error(`${which}: POST answered ${res.status}`);
      posted.set(id, t0);
    };
    // steady rate: latency
    const steady = Math.floor(EVENTS / 2);
    const inFlight: Promise<void>[] = [];
    const start = performance.now();
    for (let i = 0; i < steady; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      inFlight.push(post(i));
    }
    await Promise.all(inFlight);
    for (const deadline = Date.now() + 120_000; seen.size < steady && Date.now() < deadline;) await sleep(50);
    const latencies = [...posted].map(([id, t0]) => (seen.get(id) ?? Number.NaN) - t0);
    // all at once: events/s to Kafka
    const burstStart = performance.now();
    let next = steady;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < EVENTS) await post(next++);
      }),
    );
    for (const deadline = Date.now() + 180_000; seen.size < EVENTS && Date.now() < deadline;) await sleep(20);
    if (seen.size < EVENTS) throw new Error(`${which}: ${seen.size} of ${EVENTS} events on Kafka`);
    const last = Math.max(...[...seen.values()]);
    return { which, eventsPerS: ((EVENTS - steady) * 1000) / (last - burstStart), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`## Producer: idempotent vs transactional (${ROUNDS} rounds, ~6 KB messages, 3 partitions, acks=all)\n`);
  console.log((await producerCost()).join('\n'));
  if (!values.before) return;
  console.log(
    `\n## Receiver, before (${values.before}) and after (${REPO}), alternating ×${PAIRS}; ${EVENTS / 2} events at ${RATE}/s, then ${EVENTS / 2} at once (32 in flight)\n`,
  );
  const runs: Run[] = [];
  for (let i = 0; i < PAIRS; i++) for (const which of ['before', 'after']) runs.push(await receiverRun(which, which === 'before' ? values.before! : REPO));
  console.log('| receiver | events/s to Kafka (all at once) | POST → read_committed consumer p50 / p99 (steady rate) |');
  console.log('|---|---|---|');
  for (const r of runs) console.log(`| ${r.which} | ${fmt(r.eventsPerS)} | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} ms |`);
  for (const which of ['before', 'after']) {
    const mine = runs.filter((r) => r.which === which);
    const med = (f: (r: Run) => number) => percentile(mine.map(f), 50);
    console.log(
      `| **${which}, median of ${mine.length}** | ${fmt(med((r) => r.eventsPerS))} | ${med((r) => r.p50).toFixed(1)} / ${med((r) => r.p99).toFixed(1)} ms |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
