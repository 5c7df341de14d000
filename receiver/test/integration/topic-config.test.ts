import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { kafka, randomPrefix } from '../helpers/kafka.js';
import { startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

describe('topic configuration: an existing topic that differs from its declaration', () => {
  let t: TestReceiver | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('warns naming topic, setting, expected and actual, counts it, and leaves the topic as it is', async () => {
    const prefix = randomPrefix();
    const events = `${prefix}.events.v1`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      // made by someone else, compacted and with the broker's retention: the receiver must not "fix" it
      await admin.createTopics({
        topics: [{ topic: events, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
        waitForLeaders: true,
      });
      const lines: Record<string, unknown>[] = [];
      const log = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      t = startTestReceiver({ UNICOP_TOPIC_PREFIX: prefix }, { log });
      const mismatch = (setting: string) => lines.find((l) => l.msg?.toString().startsWith('topic setting differs') && l.setting === setting);
      await waitFor(() => mismatch('cleanup.policy') !== undefined, 60_000, 'the cleanup.policy warning');

      assert.deepEqual(
        {
          level: mismatch('cleanup.policy')!.level,
          topic: mismatch('cleanup.policy')!.topic,
          expected: mismatch('cleanup.policy')!.expected,
          actual: mismatch('cleanup.policy')!.actual,
        },
        { level: 40, topic: events, expected: 'delete', actual: 'compact' },
      );
      assert.deepEqual([mismatch('retention.ms')?.expected, mismatch('retention.ms')?.actual], ['1209600000', '604800000']);
      const warned = lines.filter((l) => l.msg?.toString().startsWith('topic setting differs')).map((l) => `${String(l.topic)} ${String(l.setting)}`);
      assert.deepEqual(warned.sort(), [`${events} cleanup.policy`, `${events} max.message.bytes`, `${events} retention.ms`], 'only the topic made elsewhere');

      const metrics = (await t.http.get('/metrics')).text;
      assert.match(metrics, new RegExp(`^unicop_topic_config_mismatch\\{topic="${events.replace(/\./g, '\\.')}",setting="cleanup\\.policy"\\} 1$`, 'm'));

      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: events, configNames: ['cleanup.policy'] }] });
      assert.equal(described.resources[0]?.configEntries[0]?.configValue, 'compact', 'the receiver changed nothing');
      const created = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: `${prefix}.objects.v1`, configNames: ['cleanup.policy', 'retention.ms', 'min.insync.replicas', 'max.message.bytes'] }],
      });
      assert.deepEqual(
        Object.fromEntries(created.resources[0]!.configEntries.map((e) => [e.configName, e.configValue])),
        { 'cleanup.policy': 'compact', 'retention.ms': '-1', 'min.insync.replicas': '1', 'max.message.bytes': '8388608' },
        'a topic the receiver created has its declared settings',
      );
    } finally {
      await admin.disconnect();
    }
  });
});
