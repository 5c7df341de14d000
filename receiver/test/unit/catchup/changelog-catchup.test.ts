import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceCatchupStore } from '../../../src/catchup/source-store.js';
import { ChangelogCatchup, MAX_ROW_ATTEMPTS, type CatchupOptions } from '../../../src/catchup/changelog-catchup.js';
import { statusFailure } from '../../../src/clients/request-error.js';
import { UnicopError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import type { ObjectChangeRow } from '../../../src/model/netbox-changelog.js';
import { DEFAULT_ROOT_POLICY } from '../../../src/pipeline/normalize/default-root-policy.js';
import { normalizeChangelog } from '../../../src/pipeline/normalize/normalize-changelog.js';
import { createRootResolver } from '../../../src/pipeline/normalize/root-policy.js';
import type { Db } from '../../../src/database.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { GroupCommit } from '../../../src/pipeline/outbox/group-commit.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { sequenceEvent } from '../../../src/pipeline/sequence/sequencer.js';
import { fixture } from '../../helpers/fixtures.js';
import { createNormalizer } from '../../../src/pipeline/normalize/normalize.js';
import { createWebhookValidator } from '../../../src/pipeline/validate/validate-webhook.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { assertOutboxMessagesValid } from '../../helpers/message-schemas.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const deps = { source: 'netbox://test', resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY) };

function row(id: number, ageSeconds: number, over: Partial<ObjectChangeRow> = {}): ObjectChangeRow {
  return {
    id,
    time: new Date(NOW - ageSeconds * 1000).toISOString(),
    user_name: 'admin',
    request_id: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
    action: { value: 'update' },
    changed_object_type: 'dcim.interface',
    changed_object_id: 1000 + id,
    changed_object: null,
    object_repr: `eth${id}`,
    prechange_data: { name: `eth${id}`, device: 42, description: 'a' },
    postchange_data: { name: `eth${id}`, device: 42, description: 'b' },
    ...over,
  };
}

/**
 * A changelog as NetBox serves it (id order, `afterId` exclusive, filtered by object type) and one event
 * rule `unicop` on `ruleTypes`; stands in for the REST API in this unit test only.
 */
function fakeNetbox(rows: ObjectChangeRow[], ruleTypes: string[] | null = ['dcim.interface']) {
  return {
    requests: 0,
    version: async () => '4.7.3',
    latestChangeId: async () => Math.max(0, ...rows.map((r) => r.id)),
    object: async (_url: string): Promise<Record<string, unknown> | null> => null,
    objectsByIds: async (_list: string, _ids: readonly number[]) => new Map<number, Record<string, unknown>>(),
    changeRows: async (ids: readonly number[]) => rows.filter((r) => ids.includes(r.id)),
    async eventRuleObjectTypes(name: string) {
      if (name !== 'unicop' || ruleTypes === null) throw new Error(`NetBox has no event rule "${name}"`);
      return ruleTypes;
    },
    async *objectChanges(q: { afterId: number; objectTypes: readonly string[] }) {
      for (const r of [...rows].sort((a, b) => a.id - b.id)) {
        if (r.id > q.afterId && (q.objectTypes.length === 0 || q.objectTypes.includes(r.changed_object_type))) yield r;
      }
    },
  };
}

describe('changelog catch-up (real SQLite, changelog rows in memory)', () => {
  let dir: string;
  let db: Db;
  let store: OutboxStore;
  let groupCommit: GroupCommit;
  const metrics = {
    recovered: () => undefined,
    rejected: () => undefined,
    lag: () => undefined,
    failed: () => undefined,
    highWaterMark: () => undefined,
    requested: () => undefined,
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-catchup-'));
    db = openReceiverDatabase(dir);
    store = new OutboxStore(db);
    groupCommit = new GroupCommit({ store, sequence: sequenceEvent, onCommit: () => undefined, maxValueBytes: 1 << 20 });
  });
  afterEach(() => {
    try {
      assertOutboxMessagesValid(db); // every message these tests wrote matches the schema it names
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  function catchup(rows: ObjectChangeRow[], over: Partial<CatchupOptions> = {}) {
    return new ChangelogCatchup({
      client: fakeNetbox(rows),
      store: sourceCatchupStore(store, { name: 'default', keyPrefix: '' }),
      append: (draft) => groupCommit.appendEvent(draft),
      reject: (record) => groupCommit.appendReject(record),
      source: 'netbox://test',
      normalize: (r, rest, v) => normalizeChangelog(deps, r, rest, v),
      intervalMs: 1000,
      graceMs: 30_000,
      overlap: 100,
      objectTypes: [],
      eventRule: 'unicop',
      from: 'earliest',
      metrics,
      log: createLogger('silent'),
      now: () => NOW,
      ...over,
    });
  }

  it('makes an event for every row whose webhook never came, rooted from the snapshot, once', async () => {
    const rows = [row(1, 120), row(2, 90), row(3, 60)];
    const c = catchup(rows);
    assert.deepEqual(await c.poll(), { scanned: 3, recovered: 3, covered: 0, rejected: 0, retrying: 0, hwm: 3 });
    assert.deepEqual(await c.poll(), { scanned: 3, recovered: 0, covered: 0, rejected: 0, retrying: 0, hwm: 3 }, 'the overlap re-reads, nothing twice');
    const events = store.pending(10).map((r) => JSON.parse(r.value));
    assert.deepEqual(
      events.map((e) => [e.partitionkey, e.data.netbox.via, e.data.netbox.changelogId]),
      [
        ['dcim.device:42', 'changelog', 1],
        ['dcim.device:42', 'changelog', 2],
        ['dcim.device:42', 'changelog', 3],
      ],
    );
    assert.deepEqual(events[0].data.changes, { description: { before: 'a', after: 'b' } });
    const registry = new SchemaRegistry();
    const isEnvelope = registry.validator('event-envelope.v1.schema.json');
    for (const e of events) assert.ok(isEnvelope(e), JSON.stringify(registry.lastErrors('event-envelope.v1.schema.json')));
  });

  it('skips a row its webhook already turned into an event (same request and object)', async () => {
    const registry = new SchemaRegistry();
    const webhook = fixture('4.7', 'dcim.interface', 'updated').body as { request: { id: string }; data: { id: number } };
    const draft = createNormalizer(deps)(createWebhookValidator(registry)(webhook, 1));
    await groupCommit.appendEvent(draft);
    const covered = row(7, 120, { request_id: webhook.request.id, changed_object_id: webhook.data.id });
    assert.deepEqual(await catchup([covered]).poll(), { scanned: 1, recovered: 0, covered: 1, rejected: 0, retrying: 0, hwm: 7 });
    assert.equal(store.depth(), 1);
  });

  it('leaves young rows to their webhook and holds the mark below them', async () => {
    const c = catchup([row(1, 120), row(2, 5), row(3, 120)]);
    const first = await c.poll();
    assert.deepEqual([first.recovered, first.hwm], [2, 1], 'row 3 is handled, but the mark waits for row 2');
    const late = await catchup([row(1, 120), row(2, 40), row(3, 120)]).poll();
    assert.deepEqual([late.recovered, late.hwm], [1, 3]);
  });

  it('picks up a row committed late with an id below the mark (inside the overlap)', async () => {
    await catchup([row(10, 120), row(12, 120)]).poll();
    const result = await catchup([row(10, 120), row(11, 100), row(12, 120)]).poll();
    assert.deepEqual([result.recovered, result.hwm], [1, 12]);
  });

  it('starts at the newest row on a first run with from=latest', async () => {
    const result = await catchup([row(1, 120), row(2, 120)], { from: 'latest' }).poll();
    assert.deepEqual([result.scanned, result.recovered, result.hwm], [0, 0, 2]);
  });

  it('recovers only the object types of the event rule: what NetBox sends webhooks for', async () => {
    const manufacturer = row(2, 120, { changed_object_type: 'dcim.manufacturer', changed_object_id: 7, prechange_data: null, postchange_data: { name: 'm' } });
    const result = await catchup([row(1, 120), manufacturer, row(3, 120)]).poll();
    assert.deepEqual([result.scanned, result.recovered], [2, 2]);
    assert.deepEqual(
      store.pending(10).map((r) => JSON.parse(r.value).subject),
      ['dcim.interface:1001', 'dcim.interface:1003'],
    );
  });

  it('fails the poll with a readable reason, and recovers nothing, when the event rule is missing', async () => {
    const rows = [row(1, 120)];
    await assert.rejects(catchup(rows, { client: fakeNetbox(rows, null) }).poll(), /no event rule "unicop"/);
    assert.equal(store.depth(), 0);
  });

  it('roots a delete by its snapshot before: NetBox 4.7 sends postchange_data {} for deletes', async () => {
    const deleted = row(5, 120, { action: { value: 'delete' }, prechange_data: { name: 'eth5', device: 42 }, postchange_data: {} });
    assert.equal((await catchup([deleted]).poll()).recovered, 1);
    const [event] = store.pending(10).map((r) => JSON.parse(r.value));
    assert.deepEqual([event.type, event.partitionkey], ['unicop.object.deleted', 'dcim.device:42']);
    assert.deepEqual(event.data.snapshots, { before: { name: 'eth5', device: 42 }, after: null });
    assert.deepEqual(event.data.changes.name, { before: 'eth5', after: null }, 'every field goes to null, as in the webhook');
  });

  it('counts each recovered row as it is stored, and stop() ends a long poll after the rows under way', async () => {
    const rows = [1, 2, 3, 4].map((id) => row(id, 120, { changed_object: { url: `/api/dcim/interfaces/${1000 + id}/` } }));
    const counted: number[] = [];
    let stopper: (() => Promise<void>) | null = null;
    const c = catchup(rows, {
      metrics: { ...metrics, recovered: (n) => counted.push(n) },
      // the operator stops the receiver while row 2's event is being written
      append: (draft) => {
        if (draft.envelope.subject === 'dcim.interface:1002') void stopper?.();
        return groupCommit.appendEvent(draft);
      },
    });
    stopper = () => c.stop();
    const result = await c.poll();
    assert.deepEqual([result.scanned, result.recovered, result.hwm], [2, 2, 2], 'rows 3 and 4 wait for the next start');
    assert.deepEqual(counted, [1, 1], 'one count per row: a long poll shows its progress');
    assert.deepEqual(
      store.pending(10).map((r) => JSON.parse(r.value).data.netbox.changelogId),
      [1, 2],
    );
  });

  it('ends the poll on a local fault (the outbox cannot write), keeping the mark before the rows that failed, and loses nothing', async () => {
    const rows = [1, 2, 3, 4].map((id) => row(id, 120));
    let broken = true;
    const c = catchup(rows, {
      // rows 3 and 4 meet a full disk: their group commit fails as a whole
      append: (draft) =>
        broken && ['dcim.interface:1003', 'dcim.interface:1004'].includes(draft.envelope.subject)
          ? Promise.reject(new UnicopError('UNICOP_OUTBOX_WRITE_FAILED', 'the outbox could not store the event (SQLITE_FULL)'))
          : groupCommit.appendEvent(draft),
    });
    await assert.rejects(c.poll(), /SQLITE_FULL/);
    assert.equal(store.state('changelog.hwm'), '2', 'the mark stays before row 3');
    broken = false;
    const next = await c.poll();
    assert.deepEqual([next.recovered, next.hwm], [2, 4]);
    assert.deepEqual(
      store.pending(10).map((r) => JSON.parse(r.value).data.netbox.changelogId),
      [1, 2, 3, 4],
      'each row once, in order',
    );
  });

  /** The rejects table and the notices queued for the rejected topic. */
  function rejects() {
    const rows = db.prepare('SELECT code, message FROM rejects ORDER BY received_at').all() as { code: string; message: string }[];
    const notices = store
      .pending(100)
      .filter((r) => r.topic === 'rejected')
      .map((r) => JSON.parse(r.value));
    return { rows, notices };
  }

  it('keeps a row that cannot become an event as a reject and moves the mark past it', async () => {
    // row 2 changed a config context of 2 MiB: its event would be over the message limit
    const huge = row(2, 120, { postchange_data: { name: 'eth2', device: 42, description: 'x'.repeat(2 << 20) } });
    const rows = [row(1, 120), huge, row(3, 120), row(4, 120)];
    let rejected = 0;
    const c = catchup(rows, { metrics: { ...metrics, rejected: (n) => (rejected += n) } });
    assert.deepEqual(await c.poll(), { scanned: 4, recovered: 3, covered: 0, rejected: 1, retrying: 0, hwm: 4 });
    const events = store
      .pending(100)
      .filter((r) => r.topic === 'events')
      .map((r) => JSON.parse(r.value).data.netbox.changelogId);
    assert.deepEqual(events, [1, 3, 4]);
    const kept = rejects();
    assert.deepEqual(
      kept.rows.map((r) => r.code),
      ['UNICOP_NORMALIZE_EVENT_TOO_LARGE'],
    );
    assert.deepEqual(
      kept.notices.map((n) => [n.type, n.data.changelogId, n.data.code, n.subject]),
      [['unicop.changelog.rejected', 2, 'UNICOP_NORMALIZE_EVENT_TOO_LARGE', 'dcim.interface:1002']],
    );
    assert.equal(rejected, 1);
    assert.deepEqual(await c.poll(), { scanned: 4, recovered: 0, covered: 0, rejected: 0, retrying: 0, hwm: 4 }, 'the reject is not made again');
  });

  it('retries rows whose bulk object fetch fails at the next polls, holding the mark, then fetches each alone and keeps the failing one as a reject', async () => {
    const rows = [1, 2, 3, 4].map((id) => row(id, 120, { changed_object: { url: `http://netbox.example/api/dcim/interfaces/${1000 + id}/?brief=1` } }));
    const single: string[] = [];
    const client = {
      ...fakeNetbox(rows),
      // one object NetBox cannot serve fails every list that holds it
      objectsByIds: async (list: string, ids: readonly number[]) => {
        if (ids.includes(1002)) throw statusFailure('netbox', 'GET', `http://netbox.example${list}`, 500);
        return new Map<number, Record<string, unknown>>();
      },
      object: async (url: string) => {
        single.push(url);
        if (url.includes('/1002/')) throw statusFailure('netbox', 'GET', url, 500);
        return null;
      },
    };
    const c = catchup(rows, { client });
    for (let attempt = 1; attempt < MAX_ROW_ATTEMPTS; attempt++) {
      const r = await c.poll();
      assert.deepEqual([r.retrying, r.rejected, r.hwm], [4, 0, 0], `poll ${attempt}: the group waits, the mark stays below it`);
    }
    assert.deepEqual(single, [], 'no object was fetched alone before the last attempt');
    const last = await c.poll();
    assert.deepEqual([last.recovered, last.retrying, last.rejected, last.hwm], [3, 0, 1, 4]);
    assert.equal(single.length, 4, 'on their last attempt the rows are fetched one by one');
    const events = store
      .pending(100)
      .filter((r) => r.topic === 'events')
      .map((r) => JSON.parse(r.value).data.netbox.changelogId);
    assert.deepEqual(events, [1, 3, 4], 'rows 1, 3 and 4 did not fail with row 2');
    const kept = rejects();
    assert.deepEqual(
      kept.rows.map((r) => r.code),
      ['UNICOP_CLIENT_REQUEST_FAILED'],
    );
    assert.equal(kept.notices[0].data.attempts, MAX_ROW_ATTEMPTS);
    assert.equal(kept.notices[0].data.changelogId, 2);
    assert.match(kept.rows[0]!.message, /GET http:\/\/netbox\.example\/api\/dcim\/interfaces\/1002\/ failed \(HTTP_500\)/);
    assert.doesNotMatch(kept.rows[0]!.message, /brief=1/, 'the reason names the URL without its query');
  });

  it('recovers rows whose object fetch failed once when NetBox answers again', async () => {
    const rows = [1, 2].map((id) => row(id, 120, { changed_object: { url: `/api/dcim/interfaces/${1000 + id}/` } }));
    let failures = 1;
    const client = {
      ...fakeNetbox(rows),
      objectsByIds: async (list: string) => {
        if (failures-- > 0) throw statusFailure('netbox', 'GET', `http://netbox.example${list}`, 503);
        return new Map<number, Record<string, unknown>>();
      },
    };
    const c = catchup(rows, { client });
    assert.deepEqual((({ recovered, retrying, hwm }) => [recovered, retrying, hwm])(await c.poll()), [0, 2, 0]);
    assert.deepEqual((({ recovered, retrying, hwm }) => [recovered, retrying, hwm])(await c.poll()), [2, 0, 2]);
    assert.equal(rejects().rows.length, 0);
  });
});
