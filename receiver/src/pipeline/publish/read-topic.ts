import type { Kafka } from 'kafkajs';
import { RETRY_POLICIES } from '../../retry/policies.js';
import { kafkajsRetry } from './kafka-client.js';

export interface TopicRecord {
  key: string;
  /** Null for a tombstone. */
  value: string | null;
  partition: number;
  offset: string;
}

export interface TopicReadResult {
  /** False when the topic does not exist (nothing was ever published to it). */
  exists: boolean;
  partitions: number;
  messages: number;
}

export interface ReadTopicOptions {
  kafka: Kafka;
  topic: string;
  /** A group of its own: nothing is committed, the group only carries the partition assignment. */
  groupId: string;
  onMessage: (record: TopicRecord) => void;
  /** Checked per fetched batch: a stopping process does not read a long topic to its end first. */
  stopped?: () => boolean;
}

/**
 * Reads a topic from its earliest offset up to the high-water marks taken when the call starts,
 * in partition order, and resolves when every partition reached its mark. Meant for a compacted
 * topic nobody writes to meanwhile (the reconciler's state before it starts).
 *
 * A partition is done once the offset `high - 1` was passed: compaction never removes it, because
 * the log cleaner leaves the active segment alone and the newest record always sits there (a roll
 * only happens on an append). It is often a transaction marker (the relay's producers are
 * transactional): kafkajs hands no batch of markers or aborted records to `eachBatch`, so progress
 * is taken from its END_BATCH_PROCESS event, emitted for those batches too. Read read_committed.
 * Rejects on any failure (Kafka unreachable, the consumer crashed); the caller retries.
 */
export async function readTopicToEnd(options: ReadTopicOptions): Promise<TopicReadResult> {
  const admin = options.kafka.admin();
  const ends = new Map<number, bigint>();
  let partitions: number;
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(options.topic)) return { exists: false, partitions: 0, messages: 0 };
    const offsets = await admin.fetchTopicOffsets(options.topic);
    partitions = offsets.length;
    for (const p of offsets) if (BigInt(p.high) > BigInt(p.low)) ends.set(p.partition, BigInt(p.high));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  let messages = 0;
  if (ends.size === 0) return { exists: true, partitions, messages };

  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    // Only what the relay's transactions committed (kafkajs' default, said here because it matters).
    readUncommitted: false,
    retry: { ...kafkajsRetry(RETRY_POLICIES['kafka-consumer']), restartOnFailure: async () => false },
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const end = ends.get(payload.partition);
        if (payload.topic !== options.topic || end === undefined) return;
        if (BigInt(payload.lastOffset) + 1n >= end) ends.delete(payload.partition);
        if (ends.size === 0) resolve();
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch, heartbeat }) => {
            if (options.stopped?.()) return reject(new Error('stopped while reading the topic'));
            const end = ends.get(batch.partition);
            if (end === undefined) return;
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= end) break;
              options.onMessage({
                key: m.key?.toString() ?? '',
                value: m.value === null ? null : m.value.toString(),
                partition: batch.partition,
                offset: m.offset,
              });
              messages++;
            }
            await heartbeat();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return { exists: true, partitions, messages };
}
