import type { Admin, ConfigResourceTypes, ITopicConfig } from 'kafkajs';
import { topicSettings, type TopicMismatch, type TopicRole } from './topic-config.js';

export { MAX_MESSAGE_BYTES } from './topic-config.js';

/** `ConfigResourceTypes.TOPIC`: kafkajs (CommonJS) does not hand its enums to an ES module import. */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

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

/**
 * Creates missing topics with their declared settings (topic-config.ts); never relies on broker
 * auto-creation. Existing topics are only compared with their declaration: their partition count decides
 * the key → partition map (changing it would break per-root order) and their settings are an operator's.
 */
export async function ensureTopics(
  admin: Admin,
  names: TopicNames,
  partitions: number,
  replication: number,
): Promise<{ created: string[]; mismatches: TopicMismatch[] }> {
  const existing = new Set(await admin.listTopics());
  const roles = Object.keys(names) as TopicRole[];
  const missing: ITopicConfig[] = roles
    .filter((role) => !existing.has(names[role]))
    .map((role) => ({
      topic: names[role],
      numPartitions: partitions,
      replicationFactor: replication,
      configEntries: Object.entries(topicSettings(role, replication)).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  const present = roles.filter((role) => existing.has(names[role]));
  const mismatches = present.length === 0 ? [] : await compareSettings(admin, present, names, replication);
  return { created: missing.map((t) => t.topic), mismatches };
}

/** The declared settings that existing topics do not have (one describeConfigs for all of them). */
async function compareSettings(admin: Admin, roles: TopicRole[], names: TopicNames, replication: number): Promise<TopicMismatch[]> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: roles.map((role) => ({ type: TOPIC_RESOURCE, name: names[role], configNames: Object.keys(topicSettings(role, replication)) })),
  });
  const actual = new Map(described.resources.map((r) => [r.resourceName, new Map(r.configEntries.map((e) => [e.configName, e.configValue]))]));
  return roles.flatMap((role) =>
    Object.entries(topicSettings(role, replication))
      .map(([setting, expected]) => ({ topic: names[role], setting, expected, actual: actual.get(names[role])?.get(setting) ?? null }))
      .filter((m) => m.actual !== m.expected),
  );
}
