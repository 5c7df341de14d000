import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../../src/database.js';
import { canonicalJson, canonicalState, desiredVersion } from '../../../src/desired/canonical.js';
import { DesiredProjection } from '../../../src/desired/desired-projection.js';
import { DesiredStore } from '../../../src/desired/desired-store.js';
import { createLogger } from '../../../src/log.js';
import type { EventEnvelope } from '../../../src/model/event.js';
import { TOMBSTONE } from '../../../src/model/tombstone.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { assertOutboxMessagesValid, messageProblem } from '../../helpers/message-schemas.js';

const DEVICE = { type: 'dcim.device', id: 7, key: 'dcim.device:7' };
let n = 0;

/** An object event as the sequencer hands it to projections (only the fields they read are real). */
function event(
  subject: string,
  action: 'created' | 'updated' | 'deleted',
  current: Record<string, unknown>,
  o: { root?: typeof DEVICE; superseded?: boolean; managed?: boolean } = {},
): EventEnvelope {
  const [type = '', id = '0'] = subject.split(':');
  n++;
  return {
    specversion: '1.0',
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    source: 'netbox://test',
    type: `unicop.object.${action}`,
    subject,
    time: '2026-01-01T00:00:00Z',
    datacontenttype: 'application/json',
    dataschema: 'https://unicop.dev/schemas/event-envelope.v1.schema.json',
    partitionkey: (o.root ?? DEVICE).key,
    sequence: String(n).padStart(20, '0'),
    data: {
      action,
      object: { type, id: Number(id), display: null },
      root: o.root ?? DEVICE,
      related: [],
      scope: { tenant: null, site: 'ams1', region: null },
      actor: { user: 'admin', requestId: null },
      version: `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}Z`,
      superseded: o.superseded ?? false,
      ...(o.managed === undefined ? {} : { managed: o.managed }),
      changes: {},
      snapshots: { before: null, after: null },
      current,
      netbox: { version: '4.7.0', changelogId: null, via: 'webhook' },
    },
  } as unknown as EventEnvelope;
}

function iface(id: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: `eth${id}`,
    device: { id: 7, name: 'sw1', url: 'http://x/7', display: 'sw1' },
    enabled: true,
    last_updated: `2026-01-0${(id % 9) + 1}`,
    ...extra,
  };
}

describe('desired state (desired/): canonical form', () => {
  it('leaves out timestamps, urls, display strings and counts, reduces related objects to their id and choices to their value, sorts keys', () => {
    const state = canonicalState({
      id: 11,
      url: 'http://netbox/api/dcim/interfaces/11/',
      display_url: 'http://netbox/dcim/interfaces/11/',
      display: 'eth0',
      created: '2026-01-01',
      last_updated: '2026-01-02',
      name: 'eth0',
      type: { value: '1000base-t', label: '1000BASE-T (1GE)' },
      device: { id: 7, url: 'http://netbox/api/dcim/devices/7/', display: 'sw1', name: 'sw1' },
      tags: [
        { id: 9, name: 'b' },
        { id: 3, name: 'a' },
      ],
      custom_fields: { owner: { id: 2, display: 'x' }, note: 'hi' },
      ip_address_count: 4,
      count_ipaddresses: 1,
      count_fhrp_groups: 0,
      mtu: null,
    });
    assert.equal(
      canonicalJson(state),
      '{"custom_fields":{"note":"hi","owner":2},"device":7,"id":11,"mtu":null,"name":"eth0","tags":[3,9],"type":"1000base-t"}',
    );
  });

  it('gives the same desiredVersion whatever order the members and their keys come in, and a sha256 one', () => {
    const a = [
      { member: 'dcim.interface:2', state: canonicalJson({ b: 1, a: 2 }) },
      { member: 'dcim.device:7', state: canonicalJson({ name: 'sw1' }) },
    ];
    const b = [
      { member: 'dcim.device:7', state: canonicalJson({ name: 'sw1' }) },
      { member: 'dcim.interface:2', state: canonicalJson({ a: 2, b: 1 }) },
    ];
    assert.match(desiredVersion(a), /^sha256:[0-9a-f]{64}$/);
    assert.equal(desiredVersion(a), desiredVersion(b));
    // The documented form: canonical JSON of [{key, state}] sorted by key.
    const expected = createHash('sha256')
      .update(
        canonicalJson([
          { key: 'dcim.device:7', state: { name: 'sw1' } },
          { key: 'dcim.interface:2', state: { a: 2, b: 1 } },
        ]),
      )
      .digest('hex');
    assert.equal(desiredVersion(a), `sha256:${expected}`);
  });
});

describe('desired state (desired/): golden examples', () => {
  it('match their schemas, and a reader recomputes desiredVersion from the members as documented', () => {
    for (const type of ['unicop.object.state', 'unicop.root.desired']) {
      assert.equal(messageProblem(readFileSync(new URL(`../../../../schemas/examples/${type}.json`, import.meta.url), 'utf8')), null, type);
    }
    const root = JSON.parse(readFileSync(new URL('../../../../schemas/examples/unicop.root.desired.json', import.meta.url), 'utf8')) as {
      data: { desiredVersion: string; members: unknown[] };
    };
    assert.equal(`sha256:${createHash('sha256').update(canonicalJson(root.data.members)).digest('hex')}`, root.data.desiredVersion);
  });
});

describe('desired state (desired/): projections (real SQLite)', () => {
  let dir: string;
  let db: Db;
  let outbox: OutboxStore;
  let store: DesiredStore;
  let projection: DesiredProjection;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-desired-'));
    db = openReceiverDatabase(dir);
    outbox = new OutboxStore(db);
    store = new DesiredStore(db);
    projection = new DesiredProjection({ store, outbox, source: 'netbox://test', log: createLogger('silent') });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One event in a transaction of its own, settled as the group commit settles it. */
  function project(e: EventEnvelope): number {
    return db.transaction(() => projection.project(e, 0) + projection.settle(0))();
  }
  function rows(topic: string): { key: string; value: string }[] {
    return db.prepare<[string], { key: string; value: string }>('SELECT key, value FROM outbox WHERE topic = ? ORDER BY pos').all(topic);
  }
  function lastDesired(): { desiredVersion: string; memberCount: number; members: { key: string }[] } {
    const last = rows('rootsDesired').at(-1);
    assert.ok(last && last.value !== TOMBSTONE);
    return (JSON.parse(last.value) as { data: { desiredVersion: string; memberCount: number; members: { key: string }[] } }).data;
  }

  it('writes one object state per change and a root projection holding the root and its members', () => {
    assert.equal(project(event('dcim.device:7', 'created', { id: 7, name: 'sw1' })), 2);
    for (const id of [1, 2]) project(event(`dcim.interface:${id}`, 'created', iface(id)));
    project(event('ipam.ipaddress:5', 'created', { id: 5, address: '10.0.0.1/24', assigned_object: { id: 1 } }));
    assert.deepEqual(
      rows('objects').map((r) => r.key),
      ['dcim.device:7', 'dcim.interface:1', 'dcim.interface:2', 'ipam.ipaddress:5'],
    );
    const desired = lastDesired();
    assert.equal(desired.memberCount, 4);
    assert.deepEqual(
      desired.members.map((m) => m.key),
      ['dcim.device:7', 'dcim.interface:1', 'dcim.interface:2', 'ipam.ipaddress:5'],
    );
    assert.equal(store.desiredVersion('dcim.device:7'), desired.desiredVersion);
    const state = JSON.parse(rows('objects')[1]?.value ?? '{}') as { data: { state: unknown; root: unknown } };
    assert.deepEqual(state.data.state, iface(1), 'the object state is the NetBox representation as sent');
    assert.deepEqual(state.data.root, DEVICE);
    assertOutboxMessagesValid(db);
  });

  it('writes one root projection per transaction however many of its members change in it, naming the last event', () => {
    project(event('dcim.device:7', 'created', { id: 7, name: 'sw1' }));
    const before = rows('rootsDesired').length;
    const bulk = [1, 2, 3, 4, 5].map((id) => event(`dcim.interface:${id}`, 'created', iface(id)));
    const added = db.transaction(() => bulk.reduce((sum, e) => sum + projection.project(e, 0), 0) + projection.settle(0))();
    assert.equal(added, 5 + 1, 'five object states and one root projection');
    assert.equal(rows('rootsDesired').length, before + 1);
    assert.equal(lastDesired().memberCount, 6);
    const last = JSON.parse(rows('rootsDesired').at(-1)?.value ?? '{}') as { data: { eventId?: string; lastEventId?: string } };
    assert.ok(JSON.stringify(last).includes(bulk.at(-1)!.id), 'the projection names the transaction’s last event of the root');
    assert.equal(store.desiredVersion('dcim.device:7'), lastDesired().desiredVersion);
  });

  it('forgets what a rolled-back transaction noted', () => {
    project(event('dcim.device:7', 'created', { id: 7, name: 'sw1' }));
    const before = rows('rootsDesired').length;
    assert.throws(() =>
      db.transaction(() => {
        projection.project(event('dcim.interface:1', 'created', iface(1)), 0);
        throw new Error('rolled back');
      })(),
    );
    projection.discard();
    assert.equal(db.transaction(() => projection.settle(0))(), 0, 'nothing left to settle');
    assert.equal(rows('rootsDesired').length, before);
  });

  it('keeps desiredVersion (and writes no root message) for an update that changes no field, and changes it when one does', () => {
    project(event('dcim.device:7', 'created', { id: 7, name: 'sw1' }));
    project(event('dcim.interface:1', 'created', iface(1)));
    const before = store.desiredVersion('dcim.device:7');
    const messages = rows('rootsDesired').length;
    // Only last_updated, the url and the nested display changed.
    assert.equal(project(event('dcim.interface:1', 'updated', iface(1, { last_updated: '2027-01-01', device: { id: 7, display: 'renamed' } }))), 1);
    assert.equal(store.desiredVersion('dcim.device:7'), before);
    assert.equal(rows('rootsDesired').length, messages);
    project(event('dcim.interface:1', 'updated', iface(1, { enabled: false })));
    assert.notEqual(store.desiredVersion('dcim.device:7'), before);
    assert.equal(rows('rootsDesired').length, messages + 1);
  });

  it('ignores superseded and unmanaged events: a late older version never overwrites a newer state', () => {
    project(event('dcim.interface:1', 'created', iface(1, { description: 'new' })));
    const version = store.desiredVersion('dcim.device:7');
    assert.equal(project(event('dcim.interface:1', 'updated', iface(1, { description: 'old' }), { superseded: true })), 0);
    assert.equal(project(event('dcim.interface:2', 'created', iface(2), { managed: false })), 0);
    assert.equal(store.desiredVersion('dcim.device:7'), version);
    assert.deepEqual(
      rows('objects').map((r) => r.key),
      ['dcim.interface:1'],
    );
  });

  it('tombstones a deleted member and recomputes its root; a deleted root tombstones its projection once and stays deleted', () => {
    project(event('dcim.device:7', 'created', { id: 7, name: 'sw1' }));
    project(event('dcim.interface:1', 'created', iface(1)));
    project(event('dcim.interface:2', 'created', iface(2)));
    const withTwo = store.desiredVersion('dcim.device:7');
    assert.equal(project(event('dcim.interface:2', 'deleted', iface(2))), 2);
    assert.deepEqual(rows('objects').at(-1), { key: 'dcim.interface:2', value: TOMBSTONE });
    assert.notEqual(store.desiredVersion('dcim.device:7'), withTwo);
    assert.equal(lastDesired().memberCount, 2);

    assert.equal(project(event('dcim.device:7', 'deleted', { id: 7, name: 'sw1' })), 2);
    assert.deepEqual(rows('rootsDesired').at(-1), { key: 'dcim.device:7', value: TOMBSTONE });
    assert.equal(store.desiredVersion('dcim.device:7'), null);
    const desiredRows = rows('rootsDesired').length;
    // The component's own delete (NetBox sends one per component) tombstones its state, not the root again.
    assert.equal(project(event('dcim.interface:1', 'deleted', iface(1))), 1);
    assert.deepEqual(rows('objects').at(-1), { key: 'dcim.interface:1', value: TOMBSTONE });
    assert.equal(rows('rootsDesired').length, desiredRows);
    assertOutboxMessagesValid(db);
  });

  it('moves a member to its new root: both roots get a new version', () => {
    const other = { type: 'dcim.device', id: 8, key: 'dcim.device:8' };
    project(event('dcim.interface:1', 'created', iface(1)));
    project(event('dcim.interface:2', 'created', iface(2)));
    project(event('dcim.interface:2', 'updated', iface(2, { device: { id: 8 } }), { root: other }));
    assert.equal(
      rows('rootsDesired')
        .slice(-2)
        .map((r) => r.key)
        .sort()
        .join(),
      'dcim.device:7,dcim.device:8',
    );
    assert.equal(store.member('dcim.interface:2')?.root, 'dcim.device:8');
  });
});
