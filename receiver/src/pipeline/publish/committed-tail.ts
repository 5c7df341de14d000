import type { IHeaders, Kafka } from 'kafkajs';
import { lateAfter } from '../../retry/late.js';
import { RETRY_POLICIES } from '../../retry/policies.js';
import { kafkajsRetry } from './kafka-client.js';

/** Offsets [from, to) of one partition. */
export interface TailRange {
  topic: string;
  partition: number;
  from: bigint;
  to: bigint;
}

export interface TailRecord {
  topic: string;
  partition: number;
  offset: bigint;
  headers: IHeaders | undefined;
}

/**
 * The committed records of `ranges` (read_committed: records of aborted or open transactions and
 * the transaction markers are skipped), in offset order per partition. A consumer group of its own
 * (`groupId`, deleted afterwards) seeks each partition to its range's first offset; the read ends
 * when every range's last offset was passed, markers included. Rejects after `timeoutMs` (a
 * transaction another producer keeps open stops a read_committed reader short of `to`).
 *
 * Seeks, not `admin.setOffsets`: kafkajs commits a group's offsets there by running a paused
 * consumer until its first fetch returns, one topic at a time — about 5 s each (the fetch waits
 * its full maxWaitTime on paused partitions), 25 s for a lane's five topics, while the lane
 * publishes nothing.
 */
export async function readCommittedRanges(kafka: Kafka, groupId: string, ranges: readonly TailRange[], timeoutMs: number): Promise<TailRecord[]> {
  const open = new Map<string, TailRange>();
  for (const r of ranges) if (r.to > r.from) open.set(`${r.topic}:${r.partition}`, r);
  const records: TailRecord[] = [];
  if (open.size === 0) return records;
  const topics = [...new Set([...open.values()].map((r) => r.topic))];

  const admin = kafka.admin();
  await admin.connect();
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 200,
    retry: { ...kafkajsRetry(RETRY_POLICIES['kafka-consumer']), restartOnFailure: async () => false },
  });
  let timer: { cancel(): void } | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: false });
    await new Promise<void>((resolve, reject) => {
      timer = lateAfter(timeoutMs, () => reject(new Error(`committed records not read within ${timeoutMs} ms`)));
      const passed = (topic: string, partition: number, lastOffset: string): void => {
        const key = `${topic}:${partition}`;
        const range = open.get(key);
        if (range && BigInt(lastOffset) + 1n >= range.to) open.delete(key);
        if (open.size === 0) resolve();
      };
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
      // Emitted for every fetched batch, also one left empty by read_committed (markers, aborted records).
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => passed(e.payload.topic, e.payload.partition, e.payload.lastOffset));
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const range = open.get(`${batch.topic}:${batch.partition}`);
            if (!range) return;
            for (const m of batch.messages) {
              const offset = BigInt(m.offset);
              if (offset >= range.from && offset < range.to) records.push({ topic: batch.topic, partition: batch.partition, offset, headers: m.headers });
            }
          },
        })
        .catch(reject);
      // Registered before the group is joined (run() creates it synchronously): the first fetch of
      // each range's partition starts at the range. Partitions outside the ranges start at their
      // end (`fromBeginning: false`) and yield nothing.
      for (const r of open.values()) consumer.seek({ topic: r.topic, partition: r.partition, offset: r.from.toString() });
    });
  } finally {
    timer?.cancel();
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  return records;
}
