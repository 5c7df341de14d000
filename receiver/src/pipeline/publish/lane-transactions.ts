import type { Kafka, Producer } from 'kafkajs';
import { RETRY_POLICIES } from '../../retry/policies.js';
import { DEFAULT_CELL } from '../../federation/federation.js';
import { kafkajsRetry } from './kafka-client.js';
import { Partitioners } from 'kafkajs';

/**
 * How long Kafka lets a lane's transaction stay open. A receiver killed mid-transaction holds back
 * read_committed consumers of the lane's partitions until the lane's next holder initialises its
 * producer (at once after a restart, after the lease after a takeover) or until this runs out.
 */
export const TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * The lane's transactional id, stable across restarts and receivers (ARCHITECTURE.md "Scale-out"):
 * `<topic prefix>.relay.<route>.<partition>`. Whoever initialises a producer with it fences every
 * older producer of the same id (a receiver that lost the lane, a process killed mid-batch).
 * A federation cell other than `default` appends `.<cell>`: cells have stores (and so lanes) of
 * their own, and two cells routing to one cluster under one prefix would otherwise fence each
 * other's lanes at every batch.
 */
export function transactionalIdOf(topicPrefix: string, route: string, partition: number, cell = DEFAULT_CELL): string {
  const id = `${topicPrefix}.relay.${route}.${partition}`;
  return cell === DEFAULT_CELL ? id : `${id}.${cell}`;
}

/** One transactional producer per lane, created and initialised (which fences zombies) on first use. */
export class LaneProducers {
  private readonly producers = new Map<string, Producer>();

  constructor(private readonly kafka: Kafka) {}

  /** The lane's producer, connected, with its transactional id initialised: older holders of the id are fenced from here on. */
  async get(transactionalId: string): Promise<Producer> {
    const existing = this.producers.get(transactionalId);
    if (existing) return existing;
    const producer = this.kafka.producer({
      transactionalId,
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Enough for a new topic's leaders to settle (NOT_LEADER right after creation); quick first retries for CONCURRENT_TRANSACTIONS.
      retry: kafkajsRetry(RETRY_POLICIES['kafka-lane-producer']),
    });
    try {
      await producer.connect();
      // kafkajs initialises the transactional id with the first transaction; an empty one ends at
      // once without a request to the broker but leaves the id initialised, the zombie fenced and
      // any transaction it left open aborted (or finished, when it was already committing).
      await (await producer.transaction()).abort();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
    this.producers.set(transactionalId, producer);
    return producer;
  }

  /** Forgets the lane's producer (fenced, or in a state only a new one clears: its next holder initialises again). */
  async drop(transactionalId: string): Promise<void> {
    const producer = this.producers.get(transactionalId);
    this.producers.delete(transactionalId);
    await producer?.disconnect().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.producers.keys()];
    await Promise.allSettled(all.map((id) => this.drop(id)));
  }
}
