import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../../src/database.js';
import { markPublished } from '../../helpers/relay-lanes.js';
import type { DraftEvent } from '../../../src/model/event.js';
import { GroupCommit } from '../../../src/pipeline/outbox/group-commit.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { sequenceEvent } from '../../../src/pipeline/sequence/sequencer.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';

const ROOT = 'dcim.device:42';

function draft(id: string, data: Record<string, unknown>): DraftEvent {
  return {
    versionKey: null,
    envelope: {
      id,
      partitionkey: ROOT,
      subject: 'dcim.interface:11',
      type: 'unicop.object.updated',
      time: '2026-01-01T00:00:00Z',
      data: { superseded: false, ...data },
    } as unknown as DraftEvent['envelope'],
  };
}

describe('outbox timeline (real SQLite)', () => {
  let dir: string;
  let db: Db;
  let store: OutboxStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-timeline-'));
    db = openReceiverDatabase(dir);
    store = new OutboxStore(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the action and the acting person of every appended event with it', async () => {
    const groupCommit = new GroupCommit({ store, sequence: sequenceEvent, onCommit: () => undefined, maxValueBytes: 1 << 20 });
    await groupCommit.appendEvent(draft('a', { action: 'updated', actor: { user: 'bob', requestId: null } }));
    await groupCommit.appendEvent(draft('b', { action: 'reconcile', actor: { user: null, principal: 'token:1' } }));
    await groupCommit.appendEvent(draft('c', { action: 'reconcile', requestedBy: 'token:1' })); // a request from before `actor`
    assert.deepEqual(db.prepare('SELECT id, action, actor_user FROM events ORDER BY sequence').all(), [
      { id: 'a', action: 'updated', actor_user: 'bob' },
      { id: 'b', action: 'reconcile', actor_user: null },
      { id: 'c', action: 'reconcile', actor_user: null },
    ]);
    markPublished(db, 1);
    assert.deepEqual(
      store.timeline(ROOT, null, 10).map((e) => [e.id, e.sequence, e.action, e.user, e.published]),
      [
        ['c', 3, 'reconcile', null, false],
        ['b', 2, 'reconcile', null, false],
        ['a', 1, 'updated', 'bob', true],
      ],
    );
  });

  it('shows what the event row says, not what its serialized Kafka value says', () => {
    store.transaction(() =>
      store.insertEvent(
        {
          id: 'x',
          root: ROOT,
          rootSequence: 1,
          subject: 'dcim.interface:11',
          type: 'unicop.object.created',
          time: '2026-01-01T00:00:00Z',
          superseded: false,
          versionMark: null,
          requestId: null,
          action: 'created',
          actorUser: 'alice',
          value: '{"data":{}}',
        },
        0,
      ),
    );
    const [entry] = store.timeline(ROOT, null, 1);
    assert.deepEqual([entry?.action, entry?.user], ['created', 'alice']);
  });
});
