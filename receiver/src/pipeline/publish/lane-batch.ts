import type { Message, TopicMessages } from 'kafkajs';
import { CLOUDEVENTS_CONTENT_TYPE } from '../../model/event.js';
import { TOMBSTONE } from '../../model/tombstone.js';
import type { LaneProducers } from './lane-transactions.js';
import { RELAY_HEADERS } from './outbox-headers.js';
import type { RelayRow } from './relay.js';
import type { TopicNames } from './topics.js';

/** The commit was sent but its outcome is unknown (the answer was lost): Kafka must be asked before the lane publishes again. */
export class CommitInDoubt extends Error {
  constructor(cause: unknown) {
    super('the outcome of a lane commit is unknown', { cause });
    this.name = 'CommitInDoubt';
  }
}

/** A lane's rows as Kafka records, by topic, in outbox order, each carrying where it came from (outbox-headers.ts). */
export function topicMessagesOf(rows: readonly RelayRow[], topics: TopicNames, transactionalId: string): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const row of rows) {
    const topic = topics[row.topic];
    const list = byTopic.get(topic) ?? [];
    // A tombstone is a null value: compaction then removes the key (it carries no content type).
    const tombstone = row.value === TOMBSTONE;
    const origin = { message_uuid: row.messageId, [RELAY_HEADERS.position]: String(row.pos), [RELAY_HEADERS.lane]: transactionalId };
    list.push({
      key: row.key,
      value: tombstone ? null : row.value,
      headers: tombstone ? origin : { 'content-type': CLOUDEVENTS_CONTENT_TYPE, ...origin },
    });
    byTopic.set(topic, list);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * Publishes one lane's batch as one Kafka transaction: all of it becomes visible to read_committed
 * consumers at the commit, or none of it. A failure before the commit aborts (when even the abort
 * fails, the producer is dropped: the next one's initialisation aborts the transaction). A failed
 * commit may still have committed: CommitInDoubt.
 */
export async function publishLaneBatch(producers: LaneProducers, transactionalId: string, topicMessages: TopicMessages[]): Promise<void> {
  const producer = await producers.get(transactionalId);
  let transaction;
  try {
    transaction = await producer.transaction();
  } catch (error) {
    await producers.drop(transactionalId);
    throw error;
  }
  try {
    await transaction.sendBatch({ acks: -1, timeout: 30000, topicMessages });
  } catch (error) {
    await transaction.abort().catch(() => producers.drop(transactionalId));
    throw error;
  }
  try {
    await transaction.commit();
  } catch (error) {
    await producers.drop(transactionalId);
    throw new CommitInDoubt(error);
  }
}
