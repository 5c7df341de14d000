import { strict as assert } from 'node:assert';
import { KafkaJSProtocolError, type Kafka } from 'kafkajs';
import { createLogger } from '../../../src/log.js';
import type { RelayLane } from '../../../src/pipeline/publish/lane-recovery.js';
import type { RecordOrigin } from '../../../src/pipeline/publish/outbox-headers.js';
import { Relay, type FindPublished, type RelayMetrics, type RelayStore } from '../../../src/pipeline/publish/relay.js';
import { topicNames } from '../../../src/pipeline/publish/topics.js';
import { fakeAdmin } from '../../helpers/fake-admin.js';
import { waitFor } from '../../helpers/wait-for.js';

type Row = ReturnType<RelayStore['pending']>[number];
const names = topicNames('t');
const LANE: RelayLane = { lane: 0, generation: 1, transactionalId: 't.relay.default.0', partition: 0, of: 1 };
const rows: Row[] = [1, 2, 3, 4, 5].map((pos) => ({ pos, lane: 0, topic: 'events', key: 'dcim.device:1', messageId: `m${pos}`, value: '{}', acceptedAt: 0 }));

/** One lane's outbox: its cursor moves by acknowledged batches and by recovery; `lost` lets the lane go. */
function laneStore() {
  const state = { cursor: 0, held: true, lost: 0, recoveries: [] as number[] };
  const store: RelayStore = {
    lanes: () => (state.held ? [LANE] : []),
    pending: (limit, lanes) => (lanes.includes(0) ? rows.filter((r) => r.pos > state.cursor).slice(0, limit) : []),
    markPublished: (batch) => void (state.cursor = Math.max(state.cursor, ...batch.map((r) => r.pos))),
    recognises: (_lane, origin) => rows.some((r) => r.pos === origin.pos && r.messageId === origin.messageId),
    recover: (_lane, pos) => {
      state.recoveries.push(pos);
      const from = state.cursor;
      state.cursor = Math.max(state.cursor, pos);
      return pos > from ? { from } : 'current';
    },
    lost: () => {
      state.lost++;
      state.held = false;
    },
  };
  return { store, state };
}

/** A broker whose transactions the test scripts: `commits[i]` decides the i-th commit (ok, or an error thrown). */
function scriptedKafka(script: { sendError?: () => Error | null; commitError?: () => Error | null }) {
  const committed: string[][] = [];
  let inits = 0;
  const kafka = {
    admin: () => fakeAdmin(Object.values(names)),
    producer: () => {
      let initialised = false;
      return {
        connect: async () => undefined,
        disconnect: async () => undefined,
        transaction: async () => {
          if (!initialised) inits++;
          initialised = true;
          let sent: string[] = [];
          return {
            sendBatch: async (batch: { topicMessages: { messages: { headers: { message_uuid: string } }[] }[] }) => {
              const error = script.sendError?.();
              if (error) throw error;
              sent = batch.topicMessages.flatMap((t) => t.messages.map((m) => m.headers.message_uuid));
              return [];
            },
            commit: async () => {
              const error = script.commitError?.();
              committed.push(sent);
              if (error) throw error;
            },
            abort: async () => undefined,
          };
        },
      };
    },
  };
  // The relay uses only these admin and producer calls; a full kafkajs client is not needed.
  return { kafka: kafka as unknown as Kafka, committed, inits: () => inits };
}

function relay(kafka: Kafka, store: RelayStore, findPublished: FindPublished, failed: string[] = []): Relay {
  const metrics: RelayMetrics = {
    published: () => undefined,
    failed: (kind) => failed.push(kind),
    reachable: () => undefined,
    acknowledged: () => undefined,
    topicMismatch: () => undefined,
  };
  return new Relay({
    kafka,
    store,
    topics: names,
    partitions: 1,
    replication: 1,
    metrics,
    log: createLogger('silent'),
    findPublished,
    minBackoffMs: 1,
    maxBackoffMs: 4,
    batchSize: 2,
  });
}

const origin = (pos: number): RecordOrigin => ({ lane: LANE.transactionalId, pos, messageId: `m${pos}` });

describe('relay: transactional lanes', () => {
  it('initialises the lane’s producer and recovers its cursor from Kafka before sending, then never sends what Kafka holds', async () => {
    const { store, state } = laneStore();
    const { kafka, committed, inits } = scriptedKafka({});
    let asked = 0;
    const r = relay(kafka, store, async () => {
      asked++;
      assert.equal(inits(), 1, 'the producer was initialised (zombies fenced) before Kafka was read');
      return new Map([[LANE.transactionalId, [origin(3), { ...origin(4), messageId: 'another-store' }]]]);
    });
    r.start();
    try {
      await waitFor(() => state.cursor === 5, 5000, 'every row published');
    } finally {
      await r.stop(0);
    }
    assert.equal(asked, 1);
    assert.deepEqual(state.recoveries, [3], 'the recognised record moved the cursor; another store’s record did not');
    assert.deepEqual(committed, [['m4', 'm5']], 'rows 1–3 were in Kafka already: never sent again; one transaction per lane batch');
  });

  it('lets a fenced lane go without resending its rows', async () => {
    const { store, state } = laneStore();
    const fenced = new KafkaJSProtocolError({ message: 'fenced', type: 'INVALID_PRODUCER_EPOCH', code: 47, retriable: false } as unknown as string);
    const { kafka, committed } = scriptedKafka({ sendError: () => fenced });
    const failed: string[] = [];
    const r = relay(kafka, store, async () => new Map(), failed);
    r.start();
    try {
      await waitFor(() => state.lost === 1, 5000, 'the lane let go');
      await waitFor(() => failed.length > 0, 5000, 'the failure counted');
    } finally {
      await r.stop(0);
    }
    assert.deepEqual(failed, ['fenced']);
    assert.deepEqual(committed, [], 'nothing committed');
    assert.equal(state.cursor, 0, 'the new holder publishes from what Kafka holds');
  });

  it('asks Kafka again after a commit whose outcome is unknown, and does not resend the batch it finds there', async () => {
    const { store, state } = laneStore();
    let commits = 0;
    const { kafka, committed } = scriptedKafka({ commitError: () => (++commits === 1 ? new Error('request timed out') : null) });
    const answers = [new Map<string, RecordOrigin[]>(), new Map([[LANE.transactionalId, [origin(2)]]])];
    let asked = 0;
    const r = relay(kafka, store, async () => answers[asked++] ?? new Map());
    r.start();
    try {
      await waitFor(() => state.cursor === 5, 5000, 'every row published');
    } finally {
      await r.stop(0);
    }
    assert.equal(asked, 2, 'recovered at start and after the in-doubt commit');
    assert.deepEqual(state.recoveries, [2]);
    assert.deepEqual(committed, [['m1', 'm2'], ['m3', 'm4'], ['m5']], 'the in-doubt batch (m1, m2) was not sent again');
  });
});
