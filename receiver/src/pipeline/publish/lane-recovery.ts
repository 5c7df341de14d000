import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { readCommittedRanges, type TailRange, type TailRecord } from './committed-tail.js';
import { originOf, type RecordOrigin } from './outbox-headers.js';

/** A relay lane as the relay publishes it (lane-relay-store.ts). */
export interface RelayLane {
  /** Its number in the store. */
  lane: number;
  /** The lease generation this receiver holds it with. */
  generation: number;
  transactionalId: string;
  /** The partition of its route's topics it maps to, out of `of` lanes of the route. */
  partition: number;
  of: number;
}

/** Look-back per partition, by round (offsets, not time): most lanes are found in the first. */
const WINDOWS = [64n, 1024n, 16_384n, 262_144n];
const LAST_WINDOW = 1n << 62n;
const READ_TIMEOUT_MS = 30_000;

/**
 * The partitions of a topic with `count` partitions a lane's records can be in: its own when the
 * topic has one partition per lane (the key → partition map the lanes follow), otherwise all of
 * them (one SQLite lane for every partition; a topic created with another partition count).
 */
export function tailPartitions(lane: Pick<RelayLane, 'partition' | 'of'>, count: number): number[] {
  return lane.of === count ? [lane.partition] : Array.from({ length: count }, (_, p) => p);
}

/**
 * Reading back from a partition's end, what a window of committed records says per lane: the
 * newest origin of each lane found in it (a lane's records follow outbox order within a
 * partition), and whether the look-back can stop. It stops once every lane was found, or at a
 * record without relay headers: it was written before them, and so was everything older.
 */
export function scanWindow(records: readonly TailRecord[], lanes: readonly string[]): { newest: Map<string, RecordOrigin>; stop: boolean } {
  const newest = new Map<string, RecordOrigin>();
  let stop = false;
  for (let i = records.length - 1; i >= 0 && !stop; i--) {
    const origin = originOf(records[i]!.headers);
    if (!origin) stop = true;
    else if (lanes.includes(origin.lane) && !newest.has(origin.lane)) newest.set(origin.lane, origin);
    if (newest.size === lanes.length) stop = true;
  }
  return { newest, stop };
}

/**
 * The position Kafka holds the lane published through: the newest of its committed records that
 * the store recognises (the row at that position is in the lane and carries the same message id —
 * records of another store on the same cluster and prefix are ignored). Null when none is.
 */
export function recoveredPosition(origins: readonly RecordOrigin[], recognises: (origin: RecordOrigin) => boolean): number | null {
  let best: number | null = null;
  for (const o of origins) if ((best === null || o.pos > best) && recognises(o)) best = o.pos;
  return best;
}

interface PartitionTail {
  topic: string;
  partition: number;
  low: bigint;
  /** The look-back so far starts here. */
  from: bigint;
  /** Lanes not found yet. */
  lanes: string[];
}

/**
 * Reads back from the end of every partition the lanes write to (read_committed) until each
 * lane's newest committed record was found, a record older than the relay headers was reached or
 * the partition's start: the newest origin per lane and partition, by transactional id.
 * Called after the lanes' producers were initialised, so none of their transactions is open.
 */
export async function findPublished(
  kafka: Kafka,
  topics: readonly string[],
  lanes: readonly RelayLane[],
  groupPrefix: string,
): Promise<Map<string, RecordOrigin[]>> {
  const found = new Map<string, RecordOrigin[]>(lanes.map((l) => [l.transactionalId, []]));
  const tails: PartitionTail[] = [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    for (const topic of topics) {
      if (!existing.has(topic)) continue;
      const offsets = await admin.fetchTopicOffsets(topic);
      for (const o of offsets) {
        const interested = lanes.filter((l) => tailPartitions(l, offsets.length).includes(o.partition)).map((l) => l.transactionalId);
        const end = BigInt(o.high);
        if (interested.length > 0 && end > BigInt(o.low)) tails.push({ topic, partition: o.partition, low: BigInt(o.low), from: end, lanes: interested });
      }
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  let open = tails;
  for (let round = 0; open.length > 0; round++) {
    const window = WINDOWS[round] ?? LAST_WINDOW;
    const ranges: TailRange[] = open.map((t) => ({
      topic: t.topic,
      partition: t.partition,
      to: t.from,
      from: t.from - window > t.low ? t.from - window : t.low,
    }));
    const records = await readCommittedRanges(kafka, `${groupPrefix}${randomUUID()}`, ranges, READ_TIMEOUT_MS);
    open = open.filter((t, i) => {
      const { newest, stop } = scanWindow(
        records.filter((r) => r.topic === t.topic && r.partition === t.partition),
        t.lanes,
      );
      for (const [lane, origin] of newest) found.get(lane)?.push(origin);
      t.lanes = t.lanes.filter((l) => !newest.has(l));
      t.from = ranges[i]!.from;
      return !stop && t.lanes.length > 0 && t.from > t.low;
    });
  }
  return found;
}
