import { topicNames } from '../../src/pipeline/publish/topics.js';
import { topicSettings, type TopicRole } from '../../src/pipeline/publish/topic-config.js';

/**
 * A kafkajs admin as the relay uses it at first contact, for unit tests: `topics` exist, each
 * configured as declared for the prefix `prefix` (the mismatch warning has its own integration test).
 */
export function fakeAdmin(topics: readonly string[], prefix = 't') {
  const roles = Object.entries(topicNames(prefix)) as [TopicRole, string][];
  const roleOf = (topic: string): TopicRole => roles.find(([, name]) => name === topic)![0];
  return {
    connect: async () => undefined,
    disconnect: async () => undefined,
    listTopics: async () => [...topics],
    createTopics: async () => true,
    describeConfigs: async ({ resources }: { resources: { name: string }[] }) => ({
      resources: resources.map(({ name }) => ({
        resourceName: name,
        configEntries: Object.entries(topicSettings(roleOf(name), 1)).map(([configName, configValue]) => ({ configName, configValue })),
      })),
    }),
    describeCluster: async () => ({ brokers: [], controller: 1, clusterId: 'fake' }),
  };
}
