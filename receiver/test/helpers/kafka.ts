import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { readCommittedRanges } from '../../src/pipeline/publish/committed-tail.js';
import { waitFor } from './wait-for.js';

/** `scripts/test` starts a private broker and exports its address. */
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REPO = new URL('../../../', import.meta.url).pathname;

export const kafka = new Kafka({ clientId: 'unicop-test', brokers: BROKERS, logLevel: logLevel.NOTHING });

export function randomPrefix(): string {
  return `t${randomUUID().slice(0, 8)}`;
}

export interface Received {
  key: string;
  value: Record<string, unknown>;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

/**
 * Reads a topic from the beginning until `count` messages arrived (or `timeoutMs`), then waits
 * `settleMs` more so an extra (duplicate) message would be seen too.
 */
export async function consume(topic: string, count: number, options: { timeoutMs?: number; settleMs?: number } = {}): Promise<Received[]> {
  const { timeoutMs = 60_000, settleMs = 1000 } = options;
  await waitForTopic(topic, timeoutMs);
  // read_committed (kafkajs' default): what consumers of the relay's transactions see.
  const consumer = kafka.consumer({ groupId: `unicop-test-${randomUUID()}`, readUncommitted: false });
  const received: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        received.push(toReceived(message, partition));
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (received.length < count && Date.now() < deadline) await sleep(50);
    await sleep(settleMs);
  } finally {
    await consumer.disconnect();
  }
  return received;
}

/** The receiver creates its topics when it first reaches Kafka; a consumer must not subscribe before. */
async function waitForTopic(topic: string, timeoutMs: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(async () => (await admin.listTopics()).includes(topic), timeoutMs, `topic ${topic}`);
  } finally {
    await admin.disconnect();
  }
}

function toReceived(message: KafkaMessage, partition: number): Received {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
  return {
    key: message.key?.toString() ?? '',
    value: JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown>,
    headers,
    partition,
    offset: message.offset,
  };
}

/** Total messages in a topic (sum of high watermarks; 0 when it does not exist yet). */
export async function topicSize(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  let offsets;
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    offsets = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  // Counted, not taken from the offsets: each relay transaction's commit marker takes an offset too.
  const ranges = offsets.map((o) => ({ topic, partition: o.partition, from: BigInt(o.low), to: BigInt(o.high) }));
  return (await readCommittedRanges(kafka, `unicop-test-${randomUUID()}`, ranges, 60_000)).length;
}

/** Stops or starts the test broker through `scripts/kafka`, with the environment `scripts/test` set. */
export async function kafkaControl(command: 'up' | 'down'): Promise<void> {
  await promisify(execFile)(`${REPO}scripts/kafka`, [command], { env: process.env, timeout: 180_000 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
