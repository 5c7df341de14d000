import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../../src/database.js';
import { markPublished } from '../../helpers/relay-lanes.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { GroupCommit } from '../../../src/pipeline/outbox/group-commit.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { sequenceEvent } from '../../../src/pipeline/sequence/sequencer.js';
import type { DraftEvent } from '../../../src/model/event.js';
import { UnicopError } from '../../../src/errors.js';

function draft(id: string, root = 'dcim.device:42', versionKey = '00000000000000000001'): DraftEvent {
  return {
    versionKey,
    envelope: {
      id,
      partitionkey: root,
      subject: 'dcim.interface:11',
      type: 'unicop.object.updated',
      time: '2026-01-01T00:00:00Z',
      data: { action: 'updated', superseded: false },
    } as unknown as DraftEvent['envelope'],
  };
}

describe('outbox group commit (real SQLite)', () => {
  let dir: string;
  let db: Db;
  let store: OutboxStore;
  let commits: number[];
  let groupCommit: GroupCommit;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-outbox-'));
    db = openReceiverDatabase(dir);
    store = new OutboxStore(db);
    commits = [];
    groupCommit = new GroupCommit({ store, sequence: sequenceEvent, onCommit: (rows) => commits.push(rows), maxValueBytes: 1 << 20 });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the appends of one event-loop turn in one transaction, in call order', async () => {
    const results = await Promise.all(['a', 'b', 'c'].map((id) => groupCommit.appendEvent(draft(id))));
    assert.deepEqual(
      results.map((r) => [r.status, r.event.sequence]),
      [
        ['accepted', 1],
        ['accepted', 2],
        ['accepted', 3],
      ],
    );
    assert.deepEqual(commits, [3]);
    assert.deepEqual(
      store.pending(10).map((r) => r.messageId),
      ['a', 'b', 'c'],
    );
  });

  it('answers duplicate for an id already stored, within and across commits, and stores it once', async () => {
    const [first, again] = await Promise.all([groupCommit.appendEvent(draft('a')), groupCommit.appendEvent(draft('a'))]);
    const later = await groupCommit.appendEvent(draft('a'));
    assert.deepEqual([first.status, again.status, later.status], ['accepted', 'duplicate', 'duplicate']);
    assert.equal(later.event.sequence, 1);
    assert.equal(store.depth(), 1);
  });

  it('rolls back the whole group when one write fails, and says so to every caller', async () => {
    const failing = new GroupCommit({
      store,
      sequence: (state, draftEvent) => {
        if (draftEvent.envelope.id === 'bad') throw new Error('disk full');
        return sequenceEvent(state, draftEvent);
      },
      onCommit: (rows) => commits.push(rows),
      maxValueBytes: 1 << 20,
    });
    const settled = await Promise.allSettled(['ok', 'bad'].map((id) => failing.appendEvent(draft(id))));
    for (const s of settled) {
      assert.equal(s.status, 'rejected');
      assert.ok(s.reason instanceof UnicopError && s.reason.code === 'UNICOP_OUTBOX_WRITE_FAILED');
    }
    assert.equal(store.depth(), 0, 'nothing half-written');
    assert.equal(store.lastSequence('dcim.device:42'), 0);
    assert.deepEqual(commits, []);
  });

  it('fails only the event that is too large for Kafka; the rest of the group commits', async () => {
    const small = new GroupCommit({ store, sequence: sequenceEvent, onCommit: (rows) => commits.push(rows), maxValueBytes: 2000 });
    const big = draft('big');
    (big.envelope as unknown as { data: { pad: string } }).data.pad = 'x'.repeat(5000);
    const [bigResult, okResult] = await Promise.allSettled([small.appendEvent(big), small.appendEvent(draft('ok'))]);
    assert.equal(bigResult.status, 'rejected');
    assert.ok(bigResult.status === 'rejected' && bigResult.reason instanceof UnicopError && bigResult.reason.code === 'UNICOP_NORMALIZE_EVENT_TOO_LARGE');
    assert.ok(okResult.status === 'fulfilled' && okResult.value.status === 'accepted' && okResult.value.event.sequence === 1);
    assert.deepEqual(
      store.pending(10).map((r) => r.messageId),
      ['ok'],
    );
  });

  it('keeps sequences and pending rows across a reopen (durable state)', async () => {
    await groupCommit.appendEvent(draft('a'));
    db.close();
    db = openReceiverDatabase(dir);
    store = new OutboxStore(db);
    groupCommit = new GroupCommit({ store, sequence: sequenceEvent, onCommit: () => undefined, maxValueBytes: 1 << 20 });
    const r = await groupCommit.appendEvent(draft('b'));
    assert.equal(r.event.sequence, 2);
    assert.equal(store.depth(), 2);
    markPublished(db, 1);
    assert.deepEqual(
      store.pending(10).map((r) => r.messageId),
      ['b'],
      'the relay cursor moved past a',
    );
    markPublished(db, 2);
    assert.equal(store.depth(), 0);
    markPublished(db, 1);
    assert.equal(store.depth(), 0, 'the cursor never moves back');
  });
});
