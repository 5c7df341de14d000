/**
 * The checker: reads a whole events topic (every partition up to the high watermark it had when the
 * check began: call it once the receiver's outbox is empty) and compares it with what the client was
 * told was stored.
 *
 * - lost: an id the receiver answered 202/200 for that is not on the topic;
 * - duplicated: ids present more than once (the extra copies are counted; must be 0: publication is
 *   exactly-once and the checker reads read_committed). `duplicatesDiffer` counts copies whose key
 *   or sequence differ from the first copy's;
 * - order violations: per root (the message key), in partition order and ignoring the repeats of
 *   an id already seen, each sequence must be exactly the previous one + 1, starting at 1 (a fresh
 *   receiver and topic prefix per run);
 * - unexpected: ids on the topic the client never saw stored (a client that gave up);
 * - sequence mismatches: a published sequence other than the one the 202/200 answer named.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

export interface CheckReport {
  topic: string;
  messages: number;
  distinct: number;
  roots: number;
  lost: number;
  lostSample: string[];
  duplicatedIds: number;
  extraCopies: number;
  duplicatesDiffer: number;
  orderViolations: number;
  violationSample: string[];
  unexpected: number;
  sequenceMismatches: number;
  /** Kafka CreateTime (set by the receiver's producer) of the first and last message, ms. */
  firstTimestamp: number;
  lastTimestamp: number;
  readMs: number;
}

export async function checkTopic(
  brokers: string[],
  topic: string,
  stored: Map<string, { root: string; sequence: number }>,
  timeoutMs = 600_000,
): Promise<CheckReport> {
  const t0 = Date.now();
  const kafka = new Kafka({ clientId: 'unicop-chaos-checker', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  let high: Map<number, number>;
  try {
    const deadline = Date.now() + 60_000;
    while (!(await admin.listTopics()).includes(topic)) {
      if (stored.size === 0) break;
      if (Date.now() > deadline) throw new Error(`topic ${topic} does not exist`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const offsets = (await admin.listTopics()).includes(topic) ? await admin.fetchTopicOffsets(topic) : [];
    high = new Map(offsets.map((offset) => [offset.partition, Number(offset.high)]));
  } finally {
    await admin.disconnect();
  }

  const seen = new Map<string, { key: string; sequence: number }>();
  const last = new Map<string, number>();
  const r: CheckReport = {
    topic,
    messages: 0,
    distinct: 0,
    roots: 0,
    lost: 0,
    lostSample: [],
    duplicatedIds: 0,
    extraCopies: 0,
    duplicatesDiffer: 0,
    orderViolations: 0,
    violationSample: [],
    unexpected: 0,
    sequenceMismatches: 0,
    firstTimestamp: Number.POSITIVE_INFINITY,
    lastTimestamp: 0,
    readMs: 0,
  };
  const duplicated = new Set<string>();
  const nextOffset = new Map<number, number>();
  const done = (): boolean => [...high].every(([p, h]) => (nextOffset.get(p) ?? 0) >= h);

  if (!done()) {
    const consumer = kafka.consumer({
      groupId: `unicop-chaos-check-${randomUUID()}`,
      // What consumers of the relay's transactions see: nothing of an aborted transaction.
      readUncommitted: false,
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      // Transaction markers take offsets: progress comes from every fetched batch, those of markers only included.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic === topic) nextOffset.set(payload.partition, Math.max(nextOffset.get(payload.partition) ?? 0, Number(payload.lastOffset) + 1));
      });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            r.messages++;
            const ts = Number(message.timestamp);
            if (ts < r.firstTimestamp) r.firstTimestamp = ts;
            if (ts > r.lastTimestamp) r.lastTimestamp = ts;
            const key = message.key?.toString() ?? '';
            const value = JSON.parse(message.value?.toString() ?? 'null') as { id: string; sequence: string };
            const id = value.id;
            const sequence = Number(value.sequence);
            const first = seen.get(id);
            if (first) {
              r.extraCopies++;
              duplicated.add(id);
              if (first.key !== key || first.sequence !== sequence) r.duplicatesDiffer++;
            } else {
              seen.set(id, { key, sequence });
              const previous = last.get(key) ?? 0;
              if (sequence !== previous + 1) {
                r.orderViolations++;
                if (r.violationSample.length < 10) {
                  r.violationSample.push(`${key}: sequence ${sequence} after ${previous} (partition ${batch.partition} offset ${message.offset})`);
                }
              }
              last.set(key, sequence);
              const told = stored.get(id);
              if (!told) r.unexpected++;
              else if (told.sequence !== sequence || told.root !== key) r.sequenceMismatches++;
            }
            nextOffset.set(batch.partition, Number(message.offset) + 1);
          }
        },
      });
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`checker: ${topic} not read to its end within ${timeoutMs / 1000} s (${r.messages} read)`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await consumer.disconnect();
    }
  }

  r.distinct = seen.size;
  r.roots = last.size;
  r.duplicatedIds = duplicated.size;
  for (const id of stored.keys()) {
    if (!seen.has(id)) {
      r.lost++;
      if (r.lostSample.length < 10) r.lostSample.push(id);
    }
  }
  if (r.messages === 0) r.firstTimestamp = 0;
  r.readMs = Date.now() - t0;
  return r;
}
