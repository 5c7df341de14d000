import { strict as assert } from 'node:assert';
import type { TailRecord } from '../../../src/pipeline/publish/committed-tail.js';
import { topicMessagesOf } from '../../../src/pipeline/publish/lane-batch.js';
import { recoveredPosition, scanWindow, tailPartitions } from '../../../src/pipeline/publish/lane-recovery.js';
import { transactionalIdOf } from '../../../src/pipeline/publish/lane-transactions.js';
import { originOf, RELAY_HEADERS } from '../../../src/pipeline/publish/outbox-headers.js';
import type { RelayRow } from '../../../src/pipeline/publish/relay.js';
import { topicNames } from '../../../src/pipeline/publish/topics.js';
import { TOMBSTONE } from '../../../src/model/tombstone.js';
import { CLOUDEVENTS_CONTENT_TYPE } from '../../../src/model/event.js';

const A = transactionalIdOf('unicop', 'default', 0);
const B = transactionalIdOf('unicop', 'default', 1);

const row = (pos: number, extra: Partial<RelayRow> = {}): RelayRow => ({
  pos,
  lane: 0,
  topic: 'events',
  key: 'dcim.device:1',
  messageId: `m${pos}`,
  value: '{}',
  acceptedAt: 0,
  ...extra,
});

/** A committed record as the relay wrote it (headers as kafkajs hands them back: Buffers). */
const record = (lane: string, pos: number, offset: number): TailRecord => ({
  topic: 'unicop.events.v1',
  partition: 0,
  offset: BigInt(offset),
  headers: { message_uuid: Buffer.from(`m${pos}`), [RELAY_HEADERS.position]: Buffer.from(String(pos)), [RELAY_HEADERS.lane]: Buffer.from(lane) },
});
const beforeHeaders = (offset: number): TailRecord => ({
  topic: 'unicop.events.v1',
  partition: 0,
  offset: BigInt(offset),
  headers: { message_uuid: Buffer.from('old') },
});

describe('lane transactional ids and record origins', () => {
  it('names a lane <topic prefix>.relay.<route>.<partition>, the same on every receiver and restart', () => {
    assert.equal(transactionalIdOf('unicop', 'default', 3), 'unicop.relay.default.3');
    assert.equal(transactionalIdOf('unicop', 'default', 3, 'default'), 'unicop.relay.default.3', 'the contract’s name without a federation cell');
    assert.equal(transactionalIdOf('unicop', 'emea', 0, 'eu'), 'unicop.relay.emea.0.eu', 'two cells on one cluster never share a lane id');
    assert.equal(transactionalIdOf('acme', 'emea', 0), 'acme.relay.emea.0');
  });

  it('stamps every record, tombstones included, with its outbox position, lane and message id, and reads them back', () => {
    const topics = topicNames('unicop');
    const batches = topicMessagesOf([row(7), row(9, { topic: 'objects', value: TOMBSTONE, messageId: 'gone' })], topics, A);
    assert.deepEqual(
      batches.map((b) => b.topic),
      [topics.events, topics.objects],
    );
    const [event] = batches[0]!.messages;
    const [tombstone] = batches[1]!.messages;
    assert.deepEqual(originOf(event!.headers), { lane: A, pos: 7, messageId: 'm7' });
    assert.equal(tombstone!.value, null);
    assert.deepEqual(originOf(tombstone!.headers), { lane: A, pos: 9, messageId: 'gone' });
    assert.equal(event!.headers!['content-type'], CLOUDEVENTS_CONTENT_TYPE);
  });

  it('finds no origin in records written before these headers or with a malformed position', () => {
    assert.equal(originOf(undefined), null);
    assert.equal(originOf({ message_uuid: 'x' }), null);
    assert.equal(originOf({ message_uuid: 'x', [RELAY_HEADERS.lane]: A, [RELAY_HEADERS.position]: '-1' }), null);
    assert.equal(originOf({ message_uuid: 'x', [RELAY_HEADERS.lane]: A, [RELAY_HEADERS.position]: '1e3' }), null);
  });
});

describe('lane recovery from the committed tail', () => {
  it('reads a lane’s own partition when topics have one partition per lane, and every partition otherwise', () => {
    assert.deepEqual(tailPartitions({ partition: 2, of: 3 }, 3), [2]);
    assert.deepEqual(tailPartitions({ partition: 0, of: 1 }, 3), [0, 1, 2], 'one SQLite lane writes to every partition');
    assert.deepEqual(tailPartitions({ partition: 1, of: 3 }, 6), [0, 1, 2, 3, 4, 5], 'a topic created with another partition count');
  });

  it('takes the newest record of each lane, reading back from the end, and stops once every lane was found', () => {
    const { newest, stop } = scanWindow([record(A, 3, 10), record(A, 5, 11), record(B, 4, 12), record(A, 8, 13)], [A, B]);
    assert.deepEqual(newest.get(A), { lane: A, pos: 8, messageId: 'm8' });
    assert.deepEqual(newest.get(B), { lane: B, pos: 4, messageId: 'm4' });
    assert.equal(stop, true);
  });

  it('looks further back when a lane is not in the window (only aborted records and markers there), but not past a record older than the headers', () => {
    assert.deepEqual(scanWindow([], [A]), { newest: new Map(), stop: false });
    assert.equal(scanWindow([record(B, 4, 12)], [A]).stop, false, 'another lane’s record: ours may be older');
    const old = scanWindow([beforeHeaders(1), record(B, 4, 12)], [A]);
    assert.equal(old.stop, true, 'everything before a header-less record predates the headers');
    assert.equal(old.newest.size, 0);
  });

  it('moves to the newest position the store recognises as its own row of the lane, and nowhere when none is', () => {
    const origins = [originOf(record(A, 5, 1).headers)!, originOf(record(A, 9, 2).headers)!];
    assert.equal(
      recoveredPosition(origins, () => true),
      9,
    );
    assert.equal(
      recoveredPosition(origins, (o) => o.pos !== 9),
      5,
      'a record of another store (other message id at that position) is ignored',
    );
    assert.equal(
      recoveredPosition(origins, () => false),
      null,
    );
    assert.equal(
      recoveredPosition([], () => true),
      null,
    );
  });
});
