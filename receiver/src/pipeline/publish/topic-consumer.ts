import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { UnicopError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { Backoff } from '../../retry/backoff.js';
import { RETRY_POLICIES } from '../../retry/policies.js';
import { kafkajsRetry } from './kafka-client.js';

export interface ConsumedMessage {
  key: string;
  value: string;
  /** The value's bytes as they are (`value` replaces invalid UTF-8). */
  raw: Buffer;
  headers: Record<string, string>;
  topic: string;
  partition: number;
  offset: string;
}

export interface TopicConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  log: Logger;
  /** Must have stored its effects when it resolves: only then is the offset committed. */
  handle: (message: ConsumedMessage) => Promise<void> | void;
  onError: () => void;
}

/**
 * A consumer group member that commits each message's offset only after `handle` finished, so a
 * crash re-delivers instead of losing (handlers dedupe by event id). Partitions are processed one
 * message at a time, in order. Until the topic exists (the relay creates it at first contact with
 * Kafka) start-up retries, with a log line per try. A member kafkajs will not restart after a crash
 * (an error it holds non-retriable, such as no group coordinator yet on a brand-new cluster) is
 * logged with `UNICOP_PUBLISH_CONSUMER_CRASHED` and started again the same way: a consumer that
 * stopped for good would leave the reconciler silent while the receiver looks healthy.
 */
export class TopicConsumer {
  private consumer: Consumer | null = null;
  private stopped = false;
  /** The topic's partitions the group gave this member at its last join; null while not in the group. */
  private partitions: ReadonlySet<number> | null = null;
  private starting: Promise<void> | null = null;

  constructor(private readonly options: TopicConsumerOptions) {}

  start(): void {
    this.starting = this.connectUntilReady();
  }

  /** The partitions this member consumes now (null before it joined, after it crashed or stopped). */
  assigned(): ReadonlySet<number> | null {
    return this.partitions;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting;
    await this.consumer?.disconnect().catch(() => undefined);
  }

  private async connectUntilReady(): Promise<void> {
    const backoff = new Backoff('consumer-start');
    while (!this.stopped) {
      // read_committed (kafkajs' default, said here because it matters): only what the relay's transactions committed, each once.
      const consumer = this.options.kafka.consumer({
        groupId: this.options.groupId,
        readUncommitted: false,
        retry: kafkajsRetry(RETRY_POLICIES['kafka-consumer']),
      });
      // Set before run(): a member can crash while it joins, inside run().
      this.consumer = consumer;
      try {
        consumer.on(consumer.events.GROUP_JOIN, (e) => {
          this.partitions = new Set(e.payload.memberAssignment[this.options.topic] ?? []);
          this.options.log.info({ topic: this.options.topic, partitions: [...this.partitions] }, 'consumer group assignment');
        });
        consumer.on(consumer.events.CRASH, (e) => {
          this.partitions = null;
          if (!e.payload.restart) this.restartAfterCrash(consumer, e.payload.error);
        });
        consumer.on(consumer.events.STOP, () => (this.partitions = null));
        await consumer.connect();
        await consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
        await consumer.run({ autoCommit: false, partitionsConsumedConcurrently: 1, eachMessage: (p) => this.each(consumer, p) });
        if (this.consumer === consumer) this.options.log.info({ topic: this.options.topic, groupId: this.options.groupId }, 'consumer running');
        return;
      } catch (error) {
        this.consumer = null;
        const failure = new UnicopError('UNICOP_PUBLISH_CONSUMER_START_FAILED', 'the consumer could not join its group and subscribe', { cause: error });
        this.options.onError();
        this.options.log.warn(
          { err: error, code: failure.code, topic: this.options.topic, retryInMs: backoff.nextDelayMs },
          'consumer could not start; retrying',
        );
        await consumer.disconnect().catch(() => undefined);
        if (!(await backoff.wait(failure))) return;
      }
    }
  }

  /** kafkajs gave the member up: a new one joins, under the same backoff as a first start. */
  private restartAfterCrash(crashed: Consumer, error: Error): void {
    if (this.stopped || this.consumer !== crashed) return;
    const failure = new UnicopError('UNICOP_PUBLISH_CONSUMER_CRASHED', 'the consumer crashed and kafkajs will not restart it', { cause: error });
    this.options.onError();
    this.options.log.error({ err: error, code: failure.code, topic: this.options.topic }, 'consumer crashed; starting a new one');
    this.consumer = null;
    const previous = this.starting;
    this.starting = (async () => {
      await previous;
      await crashed.disconnect().catch(() => undefined);
      await this.connectUntilReady();
    })();
  }

  private async each(consumer: Consumer, { topic, partition, message }: EachMessagePayload): Promise<void> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    try {
      const raw = message.value ?? Buffer.alloc(0);
      await this.options.handle({ key: message.key?.toString() ?? '', value: raw.toString(), raw, headers, topic, partition, offset: message.offset });
    } catch (error) {
      this.options.onError();
      this.options.log.error({ err: error, topic, partition, offset: message.offset }, 'message not handled; kafkajs will deliver it again');
      throw error;
    }
    await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
  }
}
