import type { Admin, ITopicConfig } from 'kafkajs';

/** Topic names (ARCHITECTURE.md "Kafka topics"); the prefix is `UNICOP_TOPIC_PREFIX`. */
export function topicNames(prefix: string) {
  return {
    events: `${prefix}.events.v1`,
    rejected: `${prefix}.rejected.v1`,
    reconcileRequests: `${prefix}.reconcile.requests.v1`,
    reconcileOutcomes: `${prefix}.reconcile.outcomes.v1`,
    rootsState: `${prefix}.roots.state.v1`,
    audit: `${prefix}.audit.v1`,
    access: `${prefix}.access.v1`,
    objects: `${prefix}.objects.v1`,
    rootsDesired: `${prefix}.roots.desired.v1`,
    snapshots: `${prefix}.snapshots.v1`,
  } as const;
}
export type TopicNames = ReturnType<typeof topicNames>;

/** Topics that keep the latest message per key: state, not history. */
const COMPACTED = new Set(['rootsState', 'objects', 'rootsDesired']);

/** Room for an envelope carrying a 1 MiB body three times (current + snapshots + changes). */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * Creates missing topics; never relies on broker auto-creation. Existing topics are left alone
 * (their partition count decides the key → partition map, changing it would break per-root order).
 */
export async function ensureTopics(admin: Admin, names: TopicNames, partitions: number, replication: number): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const wanted: ITopicConfig[] = Object.entries(names).map(([role, topic]) => ({
    topic,
    numPartitions: partitions,
    replicationFactor: replication,
    configEntries: [
      { name: 'max.message.bytes', value: String(MAX_MESSAGE_BYTES) },
      ...(COMPACTED.has(role) ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
    ],
  }));
  const missing = wanted.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  return missing.map((t) => t.topic);
}
