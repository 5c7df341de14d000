/**
 * Ceiling B: what the relay's Kafka side could do at best — a bare kafkajs idempotent producer
 * (the receiver's own client settings, acks -1, maxInFlightRequests 1, one batch in flight like
 * the relay) sending the receiver's real ~4 KB envelopes (normalized and sequenced from the same
 * fixture bodies, keyed by the same 1,000 roots) in batches of the relay's size (500), for
 * BENCH_CEILING_SECONDS. Run as a child process by main.ts; sends its result over IPC.
 */
import { Partitioners, type Message } from 'kafkajs';
import { createLogger } from '../../receiver/src/log.js';
import { CLOUDEVENTS_CONTENT_TYPE } from '../../receiver/src/model/event.js';
import type { NetboxWebhookBody } from '../../receiver/src/model/netbox-webhook.js';
import { DEFAULT_ROOT_POLICY } from '../../receiver/src/pipeline/normalize/default-root-policy.js';
import { createNormalizer } from '../../receiver/src/pipeline/normalize/normalize.js';
import { createRootResolver } from '../../receiver/src/pipeline/normalize/root-policy.js';
import { createKafka } from '../../receiver/src/pipeline/publish/kafka-client.js';
import { ensureTopics, topicNames } from '../../receiver/src/pipeline/publish/topics.js';
import { sequenceEvent } from '../../receiver/src/pipeline/sequence/sequencer.js';
import { Payloads, ROOTS } from './payloads.js';
import { percentile } from './stats.js';

/** The relay's default batch size (receiver/src/pipeline/publish/relay.ts). */
export const RELAY_BATCH = 500;
const DISTINCT = ROOTS * 4;

export interface KafkaCeilingResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  batches: number;
  batchMs: { p50: number; p99: number };
  envelopeBytes: number;
  /** Producer process CPU time per event (user + system) over the timed loop. */
  cpuMsPerEvent: number;
}

async function main(): Promise<void> {
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  const seconds = Number(process.env.BENCH_CEILING_SECONDS ?? '10');
  const prefix = process.env.BENCH_CEILING_PREFIX ?? 'benchceiling';
  const source = 'netbox://default';

  // the receiver's envelopes: normalize + sequence the same bodies the load runs post
  const payloads = new Payloads();
  const normalize = createNormalizer({ source, resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY) });
  const sequences = new Map<string, number>();
  const messages: Message[] = [];
  let envelopeBytes = 0;
  for (const b of payloads.take(DISTINCT)) {
    const body = JSON.parse(b.raw.toString('utf8')) as NetboxWebhookBody;
    const draft = normalize({ shape: '4.7', body, bytes: b.raw.length });
    const root = draft.envelope.partitionkey;
    const s = sequenceEvent({ lastSequence: (r) => sequences.get(r) ?? 0, newestVersion: () => null }, draft);
    sequences.set(root, s.rootSequence);
    const value = JSON.stringify(s.envelope);
    envelopeBytes += Buffer.byteLength(value);
    messages.push({ key: root, value, headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE, message_uuid: s.envelope.id } });
  }

  const log = createLogger('warn');
  // The bench's own broker is PLAINTEXT (scripts/kafka up).
  const kafka = createKafka(brokers, log, {});
  const topics = topicNames(prefix);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, 12, 1);
  await admin.disconnect();

  // the relay's producer (receiver/src/pipeline/publish/relay.ts connectedProducer)
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  await producer.connect();
  const send = (batch: Message[]) => producer.sendBatch({ acks: -1, timeout: 30000, topicMessages: [{ topic: topics.events, messages: batch }] });

  // warm-up: connections, metadata, producer id, JIT; a topic just created may still be electing leaders
  const warmUntil = Date.now() + 60_000;
  for (let ok = 0; ok < 4;) {
    try {
      await send(messages.slice(ok * RELAY_BATCH, (ok + 1) * RELAY_BATCH));
      ok++;
    } catch (error) {
      if (Date.now() > warmUntil) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  const batchMs: number[] = [];
  let sent = 0;
  let next = 0;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    const batch: Message[] = [];
    for (let i = 0; i < RELAY_BATCH; i++) batch.push(messages[(next + i) % messages.length] as Message);
    next = (next + RELAY_BATCH) % messages.length;
    const t = performance.now();
    await send(batch);
    batchMs.push(performance.now() - t);
    sent += batch.length;
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await producer.disconnect();
  const result: KafkaCeilingResult = {
    events: sent,
    seconds: elapsed,
    eventsPerSecond: sent / elapsed,
    batches: batchMs.length,
    batchMs: { p50: percentile(batchMs, 50), p99: percentile(batchMs, 99) },
    envelopeBytes: Math.round(envelopeBytes / DISTINCT),
    cpuMsPerEvent: (cpu.user + cpu.system) / 1000 / Math.max(1, sent),
  };
  process.send?.(result);
}

main().then(
  () => {
    process.disconnect?.();
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`ceiling-kafka failed: ${String((error as Error)?.stack ?? error)}\n`);
    process.exit(1);
  },
);
