import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type { Kafka } from 'kafkajs';
import { createLogger } from '../../../src/log.js';
import { TopicConsumer } from '../../../src/pipeline/publish/topic-consumer.js';
import { waitFor } from '../../helpers/wait-for.js';

const EVENTS = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash', STOP: 'consumer.stop' } as const;

/**
 * A kafkajs consumer as far as TopicConsumer uses it. The first member crashes while it joins —
 * inside run(), as kafkajs' runner does — with `restart: false`: what kafkajs emits for an error it
 * holds non-retriable (a brand-new cluster without a group coordinator yet). Later members join.
 */
function fakeKafka() {
  const members: { disconnected: boolean }[] = [];
  const kafka = {
    consumer: () => {
      const emitter = new EventEmitter();
      const member = { disconnected: false };
      const index = members.push(member) - 1;
      return {
        events: EVENTS,
        on: (event: string, listener: (e: unknown) => void) => emitter.on(event, listener),
        connect: async () => undefined,
        subscribe: async () => undefined,
        run: async () => {
          if (index === 0) emitter.emit(EVENTS.CRASH, { payload: { error: new Error('The group coordinator is not available'), restart: false } });
          else emitter.emit(EVENTS.GROUP_JOIN, { payload: { memberAssignment: { topic: [0, 1] } } });
        },
        disconnect: async () => {
          member.disconnected = true;
        },
        commitOffsets: async () => undefined,
      };
    },
  };
  return { kafka: kafka as unknown as Kafka, members };
}

describe('TopicConsumer', () => {
  it('starts a new member when kafkajs gives one up after a crash, and says so with a code', async () => {
    const { kafka, members } = fakeKafka();
    let lines = '';
    const log = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines += chunk.toString();
          done();
        },
      }),
    );
    let errors = 0;
    const consumer = new TopicConsumer({ kafka, groupId: 'g', topic: 'topic', log, handle: () => undefined, onError: () => errors++ });
    consumer.start();
    try {
      const assigned = await waitFor(async () => consumer.assigned(), 5_000, 'a member in the group');
      assert.deepEqual([...assigned], [0, 1]);
      assert.equal(members.length, 2, 'one crashed member, one new');
      assert.equal(members[0]!.disconnected, true, 'the crashed member is disconnected');
      assert.equal(errors, 1);
      assert.match(lines, /"code":"UNICOP_PUBLISH_CONSUMER_CRASHED".*consumer crashed; starting a new one/);
      assert.equal(lines.match(/consumer running/g)?.length, 1, 'only the member that joined is said to run');
    } finally {
      await consumer.stop();
    }
    assert.equal(members[1]!.disconnected, true, 'stop disconnects the member in the group');
  });
});
