/**
 * Kafka side of the measurements. `TopicWatch` counts the messages of a topic from the partitions'
 * high watermarks (cheap enough to poll every 25 ms, and exactly "acknowledged by the broker and
 * readable by consumers"); the throughput figure is the time until the watermark has grown by
 * every accepted event.
 */
import type { Admin, Kafka } from 'kafkajs';
import { sleep } from './stats.js';

export class TopicWatch {
  private readonly admin: Admin;

  constructor(
    kafka: Kafka,
    readonly topic: string,
  ) {
    this.admin = kafka.admin();
  }

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  async disconnect(): Promise<void> {
    await this.admin.disconnect();
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

  async size(): Promise<number> {
    return (await this.offsets()).reduce((sum, offset) => sum + Number(offset.high), 0);
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
