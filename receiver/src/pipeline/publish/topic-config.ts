import type { TopicNames } from './topics.js';

export type TopicRole = keyof TopicNames;

/** Room for an envelope carrying a 1 MiB body three times (current + snapshots + changes). */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

const DAY_MS = 86_400_000;

/** What is declared per topic; `why` goes to docs/topics.md. */
export interface TopicDeclaration {
  cleanupPolicy: 'delete' | 'compact';
  /** -1: kept until compaction replaces it (state topics). */
  retentionMs: number;
  why: string;
}

/**
 * Every topic's settings, in one place (docs/topics.md is generated from it). Applied when a topic is
 * created; an existing topic that differs is reported (warning + `unicop_topic_config_mismatch`), never
 * altered: changing the cleanup policy or retention of a live topic deletes history, an operator's call.
 */
export const TOPIC_DECLARATIONS = {
  events: { cleanupPolicy: 'delete', retentionMs: 14 * DAY_MS, why: 'domain events: a consumer may be down for a week and still catch up' },
  rejected: { cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS, why: 'rejects wait for an operator to look at them' },
  reconcileRequests: { cleanupPolicy: 'delete', retentionMs: 7 * DAY_MS, why: 'commands for EDA: stale after their deadline, kept for diagnosis' },
  reconcileOutcomes: { cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS, why: 'how attempts ended, for reports' },
  rootsState: { cleanupPolicy: 'compact', retentionMs: -1, why: "latest state per root: the reconciler's rebuild reads it whole" },
  audit: { cleanupPolicy: 'delete', retentionMs: 365 * DAY_MS, why: 'access decisions: an audit trail is kept for a year' },
  access: { cleanupPolicy: 'delete', retentionMs: 90 * DAY_MS, why: 'temporary grants live hours; their history a quarter' },
  objects: { cleanupPolicy: 'compact', retentionMs: -1, why: 'latest desired state per object; tombstones remove deleted objects' },
  rootsDesired: { cleanupPolicy: 'compact', retentionMs: -1, why: 'per-root projection with desiredVersion' },
  snapshots: { cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS, why: 'snapshot frames, for reports' },
} as const satisfies Record<TopicRole, TopicDeclaration>;

/** One broker down never stops writes (acks=all) as long as there is another replica. */
export const minInsyncReplicas = (replication: number): number => Math.max(1, replication - 1);

/** The Kafka settings of one topic, as `createTopics` and `describeConfigs` spell them. */
export function topicSettings(role: TopicRole, replication: number): Record<string, string> {
  const declared: TopicDeclaration = TOPIC_DECLARATIONS[role];
  return {
    'cleanup.policy': declared.cleanupPolicy,
    'retention.ms': String(declared.retentionMs),
    'min.insync.replicas': String(minInsyncReplicas(replication)),
    'max.message.bytes': String(MAX_MESSAGE_BYTES),
  };
}

/** A setting of an existing topic that differs from its declaration. */
export interface TopicMismatch {
  topic: string;
  setting: string;
  expected: string;
  actual: string | null;
}
