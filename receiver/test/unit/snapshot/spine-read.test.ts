import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import kafkajs from 'kafkajs';
import { UnicopError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import { Backoff } from '../../../src/retry/backoff.js';
import { Pause } from '../../../src/retry/pause.js';
import { readSpineRetrying, spineReadFailure } from '../../../src/snapshot/spine-read.js';
import type { SpineView } from '../../../src/snapshot/spine-view.js';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;

/** What kafkajs throws when a partition has no leader yet (its protocol table, code 6), after its own retries. */
function notLeader(): Error {
  const protocol = new KafkaJSProtocolError(
    Object.assign(new Error('This server is not the leader for that topic-partition'), { type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true }),
  );
  return new KafkaJSNumberOfRetriesExceeded(protocol, { retryCount: 1, retryTime: 200 });
}

function notAuthorized(): Error {
  return new KafkaJSProtocolError(
    Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), {
      type: 'TOPIC_AUTHORIZATION_FAILED',
      code: 29,
      retriable: false,
    }),
  );
}

class RecordingPause extends Pause {
  readonly waited: number[] = [];
  override for(ms: number): Promise<void> {
    this.waited.push(ms);
    return Promise.resolve();
  }
}

function harness(failures: Array<() => unknown>, stopped = () => false) {
  const pause = new RecordingPause();
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
  let calls = 0;
  const view: SpineView = new Map([['dcim.site', new Map([[1, { id: 1, version: '2026-01-01T00:00:00Z', state: null }]])]]);
  const read = async (): Promise<SpineView> => {
    const fail = failures[calls++];
    if (fail) throw fail();
    return view;
  };
  const run = () => readSpineRetrying({ read, backoff: new Backoff('snapshot-spine', { pause }), stopped, log: createLogger('info', sink) });
  return { run, view, pause, calls: () => calls, lines };
}

describe('snapshot spine read', () => {
  it('waits out "not the leader for that topic-partition" (a topic just created) and reads the spine', async () => {
    const h = harness([notLeader, notLeader, () => new KafkaJSConnectionError('Connection error: ECONNREFUSED')]);
    assert.equal(await h.run(), h.view);
    assert.equal(h.calls(), 4);
    assert.deepEqual(h.pause.waited, [200, 400, 800]);
    const warned = h.lines.map((l) => JSON.parse(l) as { msg: string; code: string }).filter((l) => l.msg === 'spine could not be read; retrying');
    assert.equal(warned.length, 3);
    assert.ok(warned.every((l) => l.code === 'UNICOP_SNAPSHOT_SPINE_UNREADABLE'));
  });

  it("gives up after the policy's 10 retries with UNICOP_SNAPSHOT_SPINE_UNREADABLE naming the cause", async () => {
    const h = harness(Array.from({ length: 20 }, () => notLeader));
    await assert.rejects(h.run(), (error: unknown) => {
      assert.ok(error instanceof UnicopError);
      assert.equal(error.code, 'UNICOP_SNAPSHOT_SPINE_UNREADABLE');
      assert.match(error.message, /not the leader for that topic-partition/);
      return true;
    });
    assert.equal(h.calls(), 11);
    assert.deepEqual(h.pause.waited, [200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000, 5000]);
  });

  it('does not retry what Kafka calls final, nor what is not a Kafka error', async () => {
    for (const fail of [notAuthorized, () => new TypeError('a bug')]) {
      const h = harness([fail]);
      await assert.rejects(h.run(), (error: unknown) => !(error instanceof UnicopError));
      assert.equal(h.calls(), 1);
      assert.deepEqual(h.pause.waited, []);
    }
  });

  it('does not retry once stopping', async () => {
    const h = harness([notLeader], () => true);
    await assert.rejects(h.run(), { name: 'KafkaJSNumberOfRetriesExceeded' });
    assert.equal(h.calls(), 1);
  });

  it('classifies by the innermost kafkajs error', () => {
    assert.equal(spineReadFailure(notLeader())?.retriable, true);
    assert.equal(spineReadFailure(notAuthorized()), null);
    assert.equal(spineReadFailure(new Error('stopped while reading the topic')), null);
  });
});
