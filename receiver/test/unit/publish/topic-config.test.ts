import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { TOPICS_DOC, renderTopicsDoc } from '../../../../scripts/lib/topics-doc.js';
import { MAX_MESSAGE_BYTES, TOPIC_DECLARATIONS, minInsyncReplicas, topicSettings } from '../../../src/pipeline/publish/topic-config.js';
import { topicNames } from '../../../src/pipeline/publish/topics.js';

describe('topic configuration as code', () => {
  it('declares every topic the receiver writes, and only those', () => {
    assert.deepEqual(Object.keys(TOPIC_DECLARATIONS).sort(), Object.keys(topicNames('t')).sort());
  });

  it('compacts the state topics and keeps their messages until compaction replaces them', () => {
    const compacted = Object.entries(TOPIC_DECLARATIONS).filter(([, d]) => d.cleanupPolicy === 'compact');
    assert.deepEqual(compacted.map(([role]) => role).sort(), ['objects', 'rootsDesired', 'rootsState']);
    for (const [role, d] of compacted) assert.equal(d.retentionMs, -1, `${role} keeps its latest state`);
  });

  it('spells the settings as Kafka does, with min.insync.replicas one below the replication (at least 1)', () => {
    assert.deepEqual(topicSettings('events', 3), {
      'cleanup.policy': 'delete',
      'retention.ms': '1209600000',
      'min.insync.replicas': '2',
      'max.message.bytes': String(MAX_MESSAGE_BYTES),
    });
    assert.deepEqual([1, 2, 3, 5].map(minInsyncReplicas), [1, 1, 2, 4]);
  });

  it('is documented in docs/topics.md (run `npm run generate:docs` after changing a declaration)', () => {
    assert.equal(readFileSync(TOPICS_DOC, 'utf8'), renderTopicsDoc());
  });
});
