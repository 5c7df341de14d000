import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import type { Kafka } from 'kafkajs';
import { createLogger } from '../../../src/log.js';
import { Relay, type RelayMetrics, type RelayStore } from '../../../src/pipeline/publish/relay.js';
import { topicNames } from '../../../src/pipeline/publish/topics.js';
import { fakeAdmin } from '../../helpers/fake-admin.js';
import { waitFor } from '../../helpers/wait-for.js';

type Row = ReturnType<RelayStore['pending']>[number];

/** What better-sqlite3 throws when the disk (or max_page_count) is full. */
function sqliteFull(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

/** An outbox whose cursor write fails `failures` times (disk full), then succeeds. */
function failingStore(rows: Row[], failures: number) {
  let cursor = 0;
  let left = failures;
  const store: RelayStore & { cursor: () => number; attempts: number } = {
    attempts: 0,
    cursor: () => cursor,
    lanes: () => [{ lane: 0, generation: 1, transactionalId: 't.relay.default.0', partition: 0, of: 1 }],
    pending: (limit) => rows.filter((r) => r.pos > cursor).slice(0, limit),
    recognises: () => true,
    recover: () => 'current',
    lost: () => undefined,
    markPublished(batch) {
      store.attempts++;
      if (left-- > 0) throw sqliteFull();
      cursor = Math.max(cursor, ...batch.map((r) => r.pos));
    },
  };
  return store;
}

/** Kafka holds nothing of the lanes yet (recovery reads nothing). */
const nothingPublished = async () => new Map();

/** A broker that acknowledges every batch: only the relay's own bookkeeping can fail here. */
function acknowledgingKafka(topics: string[]) {
  const sent: { topic: string; ids: string[] }[][] = [];
  const kafka = {
    admin: () => fakeAdmin(topics),
    producer: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      transaction: async () => ({
        sendBatch: async (batch: { topicMessages: { topic: string; messages: { headers: { message_uuid: string } }[] }[] }) => {
          sent.push(batch.topicMessages.map((t) => ({ topic: t.topic, ids: t.messages.map((m) => m.headers.message_uuid) })));
          return [];
        },
        commit: async () => undefined,
        abort: async () => undefined,
      }),
    }),
  };
  // The relay uses only the admin and producer calls above; a full kafkajs client is not needed.
  return { kafka: kafka as unknown as Kafka, sent };
}

describe('relay: recording an acknowledged batch fails locally (disk full)', () => {
  it('sends the batch exactly once, keeps Kafka reachable, reports the cursor write failure and records the cursor later', async () => {
    const names = topicNames('t');
    const rows: Row[] = [1, 2, 3].map((pos) => ({
      pos,
      lane: 0,
      topic: 'events',
      key: 'dcim.device:1',
      messageId: `id-${pos}`,
      value: '{}',
      acceptedAt: Date.now(),
    }));
    const store = failingStore(rows, 3);
    const { kafka, sent } = acknowledgingKafka(Object.values(names));
    const failed: string[] = [];
    const reachability: boolean[] = [];
    let acknowledged = 0;
    const writeFailures: { part: string; code: unknown }[] = [];
    const writeSuccesses: string[] = [];
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const metrics: RelayMetrics = {
      published: () => undefined,
      failed: (kind) => failed.push(kind),
      reachable: (up) => reachability.push(up),
      acknowledged: (n) => (acknowledged += n),
      topicMismatch: () => undefined,
    };
    const relay = new Relay({
      kafka,
      store,
      topics: names,
      partitions: 1,
      replication: 1,
      metrics,
      log: createLogger('info', sink),
      writes: {
        failed: (part, cause) => writeFailures.push({ part, code: (cause as { code?: unknown }).code }),
        succeeded: (part) => writeSuccesses.push(part),
      },
      minBackoffMs: 1,
      maxBackoffMs: 4,
      findPublished: nothingPublished,
    });
    relay.start();
    try {
      await waitFor(() => store.cursor() === 3, 5000, 'the acknowledged position to be recorded');
    } finally {
      await relay.stop(0);
    }

    assert.equal(sent.length, 1, 'the acknowledged batch was sent once, not once per backoff step');
    assert.deepEqual(sent[0], [{ topic: names.events, ids: ['id-1', 'id-2', 'id-3'] }]);
    assert.equal(store.attempts, 4, 'three failed cursor writes, then one that succeeded');
    assert.deepEqual(failed, ['cursor_write', 'cursor_write', 'cursor_write'], 'counted as a local write failure, never as Kafka unavailable');
    assert.equal(relay.reachable, true);
    assert.ok(!reachability.includes(false), 'Kafka was never reported unreachable');
    assert.equal(acknowledged, 3, 'the depth moves once the position is recorded');
    assert.deepEqual(
      writeFailures,
      [1, 2, 3].map(() => ({ part: 'relay_cursor', code: 'SQLITE_FULL' })),
    );
    assert.ok(writeSuccesses.includes('relay_cursor'), 'store health hears that the write succeeded again');
    const errors = lines.filter((l) => l.code === 'UNICOP_PUBLISH_CURSOR_WRITE_FAILED');
    assert.equal(errors.length, 3, 'each failed cursor write is logged under its own code');
    assert.ok(!lines.some((l) => l.code === 'UNICOP_PUBLISH_BROKER_UNAVAILABLE'), 'no line blames Kafka');
  });
});

describe('relay: a broker that holds a batch without answering (hung, partitioned)', () => {
  it('counts the route unreachable once a batch waits longer than the stall time, and reachable again at the acknowledgement', async () => {
    const names = topicNames('t');
    const rows: Row[] = [{ pos: 1, lane: 0, topic: 'events', key: 'dcim.device:1', messageId: 'id-1', value: '{}', acceptedAt: Date.now() }];
    const store = failingStore(rows, 0);
    const { kafka: answering } = acknowledgingKafka(Object.values(names));
    let answer: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (answer = resolve));
    // the same broker, but its first acknowledgement waits until the test lets it go
    const kafka = {
      admin: () => answering.admin(),
      producer: () => {
        const producer = answering.producer();
        return { ...producer, transaction: async () => ({ ...(await producer.transaction()), sendBatch: async () => (await held, []) }) };
      },
    } as unknown as Kafka;
    const reachability: boolean[] = [];
    const relay = new Relay({
      kafka,
      store,
      topics: names,
      partitions: 1,
      replication: 1,
      metrics: {
        published: () => undefined,
        failed: () => undefined,
        reachable: (up) => reachability.push(up),
        acknowledged: () => undefined,
        topicMismatch: () => undefined,
      },
      log: createLogger('silent'),
      stallMs: 200,
      findPublished: nothingPublished,
    });
    relay.start();
    try {
      await waitFor(() => reachability.includes(false), 5000, 'the stalled batch to make the broker count as unreachable');
      assert.equal(relay.reachable, false);
      assert.equal(store.cursor(), 0, 'nothing acknowledged, nothing recorded');
      answer();
      await waitFor(() => store.cursor() === 1, 5000, 'the acknowledgement');
      assert.equal(relay.reachable, true);
      assert.equal(reachability.at(-1), true);
    } finally {
      answer();
      await relay.stop(0);
    }
  });
});
