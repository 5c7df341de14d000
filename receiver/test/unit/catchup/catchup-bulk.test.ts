import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangelogCatchup, MAX_ROW_ATTEMPTS, type CatchupOptions } from '../../../src/catchup/changelog-catchup.js';
import { sourceCatchupStore } from '../../../src/catchup/source-store.js';
import { NetboxClient } from '../../../src/clients/netbox-client.js';
import type { Db } from '../../../src/database.js';
import { createLogger } from '../../../src/log.js';
import type { ObjectChangeRow } from '../../../src/model/netbox-changelog.js';
import { DEFAULT_ROOT_POLICY } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createNormalizer } from '../../../src/pipeline/normalize/normalize.js';
import { normalizeChangelog } from '../../../src/pipeline/normalize/normalize-changelog.js';
import { createRootResolver } from '../../../src/pipeline/normalize/root-policy.js';
import { GroupCommit } from '../../../src/pipeline/outbox/group-commit.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { sequenceEvent } from '../../../src/pipeline/sequence/sequencer.js';
import { createWebhookValidator } from '../../../src/pipeline/validate/validate-webhook.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { fixture } from '../../helpers/fixtures.js';
import { assertOutboxMessagesValid } from '../../helpers/message-schemas.js';
import { startNetboxDouble, type NetboxDouble } from '../../helpers/netbox-double.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const deps = { source: 'netbox://test', resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY) };
const TYPES = ['dcim.interface', 'dcim.frontport', 'dcim.rearport'] as const;
const LISTS: Record<string, string> = {
  'dcim.interface': '/api/dcim/interfaces/',
  'dcim.frontport': '/api/dcim/front-ports/',
  'dcim.rearport': '/api/dcim/rear-ports/',
};

/** A device component's current state: its device says where its event is rooted (the snapshot says device 1, stale). */
function component(type: string, id: number): Record<string, unknown> {
  return { id, url: `http://netbox.test${LISTS[type]}${id}/`, display: `port${id}`, name: `port${id}`, device: { id: 100 + (id % 5) } };
}

/** A changelog row as NetBox 4.7 serves it, its object linked as it is while it exists. */
function change(id: number, type: string, objectId: number, action: 'create' | 'update' | 'delete' = 'update'): ObjectChangeRow {
  return {
    id,
    time: new Date(NOW - 120_000).toISOString(),
    user_name: 'admin',
    request_id: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
    action: { value: action },
    changed_object_type: type,
    changed_object_id: objectId,
    changed_object: { url: `http://netbox.test${LISTS[type]}${objectId}/` },
    object_repr: `port${objectId}`,
    prechange_data: action === 'create' ? null : { name: `port${objectId}`, device: 1, description: 'a' },
    postchange_data: action === 'delete' ? {} : { name: `port${objectId}`, device: 1, description: 'b' },
  };
}

/** Requests by what they read. */
function kinds(requests: readonly string[]) {
  const changelog = requests.filter((r) => r.startsWith('/api/core/object-changes/'));
  return {
    scan: changelog.filter((r) => r.includes('fields=')),
    wholeRows: changelog.filter((r) => !r.includes('fields=')),
    lists: requests.filter((r) => Object.values(LISTS).some((l) => r.startsWith(`${l}?`))),
    singles: requests.filter((r) => /\/\d+\/$/.test(r)),
  };
}

describe('changelog catch-up in bulk (a NetBox double over HTTP, the real client, real SQLite)', () => {
  let dir: string;
  let db: Db;
  let store: OutboxStore;
  let groupCommit: GroupCommit;
  let netbox: NetboxDouble;
  let metered: number;
  let commits: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-catchup-bulk-'));
    db = openReceiverDatabase(dir);
    store = new OutboxStore(db);
    commits = 0;
    groupCommit = new GroupCommit({ store, sequence: sequenceEvent, onCommit: () => commits++, maxValueBytes: 1 << 20 });
    netbox = await startNetboxDouble({ ruleTypes: [...TYPES] });
    for (const list of Object.values(LISTS)) netbox.objects.set(list, new Map());
    metered = 0;
  });
  afterEach(async () => {
    try {
      assertOutboxMessagesValid(db); // every message these tests wrote matches the schema it names
    } finally {
      await netbox.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  function catchup(over: Partial<CatchupOptions> = {}) {
    return new ChangelogCatchup({
      client: new NetboxClient(netbox.url, 'nbt_key.secret'),
      store: sourceCatchupStore(store, { name: 'default', keyPrefix: '' }),
      append: (draft) => groupCommit.appendEvent(draft),
      reject: (record) => groupCommit.appendReject(record),
      source: 'netbox://test',
      normalize: (r, rest, v) => normalizeChangelog(deps, r, rest, v),
      intervalMs: 1000,
      graceMs: 30_000,
      overlap: 1000,
      objectTypes: [],
      eventRule: 'unicop',
      from: 'earliest',
      metrics: {
        recovered: () => undefined,
        rejected: () => undefined,
        lag: () => undefined,
        failed: () => undefined,
        highWaterMark: () => undefined,
        requested: (n) => (metered += n),
      },
      log: createLogger('silent'),
      now: () => NOW,
      ...over,
    });
  }

  function events(): { type: string; partitionkey: string; sequence: string; subject: string; data: { netbox: { changelogId: number } } }[] {
    return store
      .pending(100_000)
      .filter((r) => r.topic === 'events')
      .map((r) => JSON.parse(r.value));
  }

  it('recovers N rows of K types in about K·ceil(N/page) object reads plus the changelog pages, not one GET per row', async () => {
    const n = 1500;
    // Changelog ids of 8 digits: the whole-row reads by id must split to stay under gunicorn's request line limit.
    for (let i = 0; i < n; i++) {
      const type = TYPES[i % TYPES.length]!;
      const objectId = 1 + Math.floor(i / TYPES.length);
      netbox.objects.get(LISTS[type]!)!.set(objectId, component(type, objectId));
      netbox.rows.push(change(10_000_001 + i, type, objectId));
    }
    const result = await catchup().poll();
    assert.deepEqual(result, { scanned: n, recovered: n, covered: 0, rejected: 0, retrying: 0, hwm: 10_000_000 + n });

    const { scan, wholeRows, lists, singles } = kinds(netbox.requests);
    const chunks = Math.ceil(n / 1000);
    assert.equal(scan.length, Math.ceil(n / 1000), 'one page of row keys per 1000 rows');
    assert.deepEqual(singles, [], 'no object fetched alone');
    assert.ok(
      wholeRows.length >= chunks && wholeRows.length <= chunks * Math.ceil(1000 / 250),
      `whole rows read by id, a few hundred per GET: ${wholeRows.length}`,
    );
    assert.ok(lists.length <= TYPES.length * chunks, `objects read per type and chunk: ${lists.length}`);
    assert.equal(netbox.requests.length, 2 + scan.length + wholeRows.length + lists.length, 'plus the version and the event rule');
    assert.ok(netbox.requests.length < n / 50, `${netbox.requests.length} requests for ${n} rows`);
    assert.equal(metered, netbox.requests.length, 'the metric counts every request the catch-up made');

    assert.ok(commits <= 2 * chunks, `a chunk's events share their commits (${commits} for ${n} events), not one fsync each`);

    const made = events();
    assert.equal(made.length, n);
    for (const e of made) {
      const objectId = Number(e.subject.split(':')[1]);
      assert.equal(e.partitionkey, `dcim.device:${100 + (objectId % 5)}`, `${e.subject} rooted by its own object (the right object paired with its row)`);
    }
    for (const root of new Set(made.map((e) => e.partitionkey))) {
      const ofRoot = made.filter((e) => e.partitionkey === root);
      const ids = ofRoot.map((e) => e.data.netbox.changelogId);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        `${root}: events in changelog order`,
      );
      assert.deepEqual(
        ofRoot.map((e) => Number(e.sequence)),
        ofRoot.map((_, i) => i + 1),
        `${root}: sequence follows that order`,
      );
    }
  });

  it('makes an object missing from its id list (deleted since) into events from the snapshot, its delete included', async () => {
    netbox.rows.push(change(1, 'dcim.interface', 7, 'create'), change(2, 'dcim.interface', 7), change(3, 'dcim.interface', 7, 'delete'));
    netbox.objects.get(LISTS['dcim.interface']!)!.set(8, component('dcim.interface', 8)); // not 7: it is gone
    assert.equal((await catchup().poll()).recovered, 3);
    assert.deepEqual(
      events().map((e) => [e.type, e.partitionkey]),
      [
        ['unicop.object.created', 'dcim.device:1'],
        ['unicop.object.updated', 'dcim.device:1'],
        ['unicop.object.deleted', 'dcim.device:1'],
      ],
      'rooted by the snapshot, as a 404 was',
    );
    const { lists, singles } = kinds(netbox.requests);
    assert.deepEqual([lists.length, singles.length], [1, 0], 'one list read, no object fetched alone');
  });

  it('holds the mark and retries the rows of a failed bulk read at the next poll; other types go on', async () => {
    netbox.rows.push(change(1, 'dcim.interface', 1), change(2, 'dcim.frontport', 1), change(3, 'dcim.interface', 2));
    netbox.objects.get(LISTS['dcim.interface']!)!.set(1, component('dcim.interface', 1)).set(2, component('dcim.interface', 2));
    netbox.objects.get(LISTS['dcim.frontport']!)!.set(1, component('dcim.frontport', 1));
    let failures = 1;
    netbox.fail = (path) => (path === LISTS['dcim.interface'] && failures-- > 0 ? 503 : null);
    const c = catchup();
    const first = await c.poll();
    assert.deepEqual([first.recovered, first.retrying, first.hwm], [1, 2, 0], 'the interfaces wait, holding the mark; the front port is recovered');
    const second = await c.poll();
    assert.deepEqual([second.recovered, second.retrying, second.hwm], [2, 0, 3]);
    assert.deepEqual(
      events().map((e) => e.data.netbox.changelogId),
      [2, 1, 3],
      'each row once',
    );
  });

  it('after MAX_ROW_ATTEMPTS failed bulk reads fetches each row alone, and keeps only the object NetBox cannot serve as a reject', async () => {
    netbox.rows.push(change(1, 'dcim.interface', 1), change(2, 'dcim.interface', 2), change(3, 'dcim.interface', 3));
    for (const id of [1, 2, 3]) netbox.objects.get(LISTS['dcim.interface']!)!.set(id, component('dcim.interface', id));
    // object 2 breaks its serializer: every GET that holds it fails
    const list = LISTS['dcim.interface']!;
    netbox.fail = (path, query) => (path === `${list}2/` || (path === list && query.getAll('id').includes('2')) ? 500 : null);
    const c = catchup();
    for (let attempt = 1; attempt < MAX_ROW_ATTEMPTS; attempt++) assert.deepEqual(((r) => [r.retrying, r.hwm])(await c.poll()), [3, 0]);
    const last = await c.poll();
    assert.deepEqual([last.recovered, last.rejected, last.hwm], [2, 1, 3]);
    assert.deepEqual(
      events().map((e) => e.data.netbox.changelogId),
      [1, 3],
    );
    assert.equal(kinds(netbox.requests).singles.length, 3, 'the last attempt fetched the three alone');
  });

  it('refuses a list answer holding objects not asked for (the id filter not applied) rather than paging through everything', async () => {
    netbox.rows.push(change(1, 'dcim.interface', 2)); // the unfiltered list starts with object 1
    for (const id of [1, 2, 3]) netbox.objects.get(LISTS['dcim.interface']!)!.set(id, component('dcim.interface', id));
    netbox.unfiltered.add(LISTS['dcim.interface']!);
    const result = await catchup().poll();
    assert.deepEqual([result.recovered, result.retrying, result.hwm], [0, 1, 0], 'the row waits for a usable answer');
    assert.equal(kinds(netbox.requests).lists.length, 1, 'one list read, not its next pages');
  });

  it('skips rows already seen or covered by their webhook without reading them whole or fetching their objects', async () => {
    const registry = new SchemaRegistry();
    const webhook = fixture('4.7', 'dcim.interface', 'updated').body as { request: { id: string }; data: { id: number } };
    await groupCommit.appendEvent(createNormalizer(deps)(createWebhookValidator(registry)(webhook, 1)));
    const covered = { ...change(1, 'dcim.interface', webhook.data.id), request_id: webhook.request.id };
    netbox.rows.push(covered, change(2, 'dcim.interface', 5));
    netbox.objects.get(LISTS['dcim.interface']!)!.set(5, component('dcim.interface', 5));
    const c = catchup();
    assert.deepEqual(((r) => [r.covered, r.recovered])(await c.poll()), [1, 1]);
    const firstReads = kinds(netbox.requests).wholeRows;
    assert.equal(firstReads.length, 1);
    assert.ok(firstReads[0]!.includes('id=2') && !firstReads[0]!.includes('id=1&'), `only row 2 read whole: ${firstReads[0]}`);

    netbox.requests.length = 0;
    const again = await c.poll();
    assert.deepEqual([again.scanned, again.recovered, again.covered], [2, 0, 0], 'the overlap re-reads both rows');
    const { scan, wholeRows, lists, singles } = kinds(netbox.requests);
    assert.deepEqual([scan.length, wholeRows.length, lists.length, singles.length], [1, 0, 0, 0], 'one page of keys, nothing else');
    assert.equal(netbox.requests.length, 2, 'the page and the event rule');
  });

  it('reads whole rows in its scan where NetBox has no ?fields= (before 4.0)', async () => {
    await netbox.close();
    netbox = await startNetboxDouble({ version: '3.7.8', ruleTypes: ['dcim.interface'] });
    netbox.objects.set(LISTS['dcim.interface']!, new Map([[1, component('dcim.interface', 1)]]));
    netbox.rows.push(change(1, 'dcim.interface', 1));
    assert.equal((await catchup().poll()).recovered, 1);
    const changelog = netbox.requests.filter((r) => r.startsWith('/api/core/object-changes/'));
    assert.equal(changelog.length, 1);
    assert.doesNotMatch(changelog[0]!, /fields=|[?&]id=/, 'whole rows in the scan, none read again by id');
  });
});
