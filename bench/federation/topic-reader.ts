/**
 * Reads one route's events topic from the beginning and remembers when each request id was first seen
 * (monotonic clock of this process) and how often: latency from POST, lost and duplicated events.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';

export class TopicReader {
  /** request id → first seen (performance.now()) and times seen. */
  readonly seen = new Map<string, { at: number; times: number }>();
  private readonly kafka: Kafka;
  private consumer: Consumer | null = null;

  constructor(
    brokers: string,
    readonly topic: string,
  ) {
    this.kafka = new Kafka({ clientId: 'bench-federation', brokers: [brokers], logLevel: logLevel.NOTHING });
  }

  /** Resolves once the consumer has fetched (the topic exists: the route's relay made it). */
  async start(timeoutMs = 120_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await waitFor(async () => (await admin.listTopics()).includes(this.topic), timeoutMs, `topic ${this.topic}`);
    } finally {
      await admin.disconnect();
    }
    const consumer = this.kafka.consumer({ groupId: `bench-federation-${randomUUID()}`, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    let fetches = 0;
    consumer.on(consumer.events.FETCH, () => fetches++);
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const at = performance.now();
        const value = JSON.parse(message.value?.toString('utf8') ?? 'null') as { data?: { actor?: { requestId?: string } } } | null;
        const id = value?.data?.actor?.requestId;
        if (typeof id !== 'string') return;
        const known = this.seen.get(id);
        if (known) known.times++;
        else this.seen.set(id, { at, times: 1 });
      },
    });
    await waitFor(() => fetches >= 2, timeoutMs, `the consumer of ${this.topic} to fetch`);
  }

  /** Waits until every id in `ids` was seen; false when `timeoutMs` passed first. */
  async waitAll(ids: readonly string[], timeoutMs: number): Promise<boolean> {
    return waitFor(() => ids.every((id) => this.seen.has(id)), timeoutMs, `${ids.length} events on ${this.topic}`).then(
      () => true,
      () => false,
    );
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = null;
  }
}
