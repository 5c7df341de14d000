/**
 * Kafka side of the measurements. `TopicWatch` counts the messages of a topic that a read_committed
 * consumer can read: a consumer of its own counts them, and `size()` answers once it has passed
 * every partition's high watermark of the moment (offsets alone overcount: each relay transaction's
 * commit marker takes one). The throughput figure is the time until the count has grown by every
 * accepted event.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { sleep } from './stats.js';

export class TopicWatch {
  private readonly admin: Admin;
  private consumer: Consumer | null = null;
  private counted = 0;
  /** Per partition, the next offset the counting consumer will read (markers included). */
  private readonly passed = new Map<number, number>();

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
  ) {
    this.admin = kafka.admin();
  }

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  async disconnect(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.admin.disconnect();
  }

  private async startCounting(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: `unicop-bench-watch-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 20 });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === this.topic) this.passed.set(payload.partition, Math.max(this.passed.get(payload.partition) ?? 0, Number(payload.lastOffset) + 1));
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => void (this.counted += batch.messages.length) });
    this.consumer = consumer;
  }

  async exists(): Promise<boolean> {
    return (await this.admin.listTopics()).includes(this.topic);
  }

  /** High watermark of every partition (retried for a while: a new topic may still be electing leaders). */
  async offsets(): Promise<{ partition: number; high: string }[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return (await this.admin.fetchTopicOffsets(this.topic)).map((offset) => ({ partition: offset.partition, high: offset.high }));
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(250);
      }
    }
  }

  /** Messages a read_committed consumer reads up to the high watermarks of the moment. */
  async size(): Promise<number> {
    if (!this.consumer) {
      if (!(await this.exists())) return 0;
      await this.startCounting();
    }
    const marks = await this.offsets();
    while (!marks.every((m) => Number(m.high) === 0 || (this.passed.get(m.partition) ?? 0) >= Number(m.high))) await sleep(5);
    return this.counted;
  }

  /** Polls until the topic holds at least `target` messages; resolves with the `Date.now()` it was seen. */
  async reach(target: number, timeoutMs: number): Promise<{ at: number; size: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const size = await this.size();
      const at = Date.now();
      if (size >= target) return { at, size };
      if (at > deadline) throw new Error(`${this.topic}: ${size} of ${target} messages after ${timeoutMs} ms`);
      await sleep(25);
    }
  }
}
