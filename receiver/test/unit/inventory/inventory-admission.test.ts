import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { v4 as uuidv4 } from 'uuid';
import type { Db } from '../../../src/database.js';
import { InventoryAdmission } from '../../../src/inventory/inventory-admission.js';
import { createInventoryMetrics } from '../../../src/inventory/inventory-metrics.js';
import type { InventoryPolicy } from '../../../src/inventory/inventory-policy.js';
import { createLogger } from '../../../src/log.js';
import { EVENT_DATASCHEMA, EVENT_TYPES, type DraftEvent } from '../../../src/model/event.js';
import { GroupCommit } from '../../../src/pipeline/outbox/group-commit.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { sequenceEvent } from '../../../src/pipeline/sequence/sequencer.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { messageProblem } from '../../helpers/message-schemas.js';

const POLICY: InventoryPolicy = { version: 1, managed: { objectTypes: ['dcim.device', 'dcim.interface'] }, caps: [{ scope: { sites: ['dc1'] }, maxRoots: 2 }] };

/** An object event of `type:id` rooted at device `root`, in site `site`. */
function draft(action: 'created' | 'updated' | 'deleted', device: number, site: string, object = `dcim.device:${device}`): DraftEvent {
  const [type = '', id = '0'] = object.split(':');
  const root = { type: 'dcim.device', id: device, key: `dcim.device:${device}` };
  return {
    versionKey: null,
    envelope: {
      specversion: '1.0',
      id: uuidv4(),
      source: 'netbox://test',
      type: EVENT_TYPES[action],
      subject: object,
      time: '2026-01-01T00:00:00Z',
      datacontenttype: 'application/json',
      dataschema: EVENT_DATASCHEMA,
      partitionkey: root.key,
      data: {
        action,
        object: { type, id: Number(id), display: null },
        root,
        related: [],
        scope: { tenant: null, site, region: null, regions: [] },
        actor: { user: 'admin', requestId: uuidv4() },
        version: null,
        superseded: false,
        changes: {},
        snapshots: { before: null, after: null },
        current: { id: Number(id) },
        netbox: { version: '4.7', changelogId: null, via: 'webhook' },
      },
    },
  };
}

describe('inventory admission (caps on managed roots)', () => {
  let dir: string;
  let db: Db;
  let store: OutboxStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-admission-'));
    db = openReceiverDatabase(dir);
    store = new OutboxStore(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function commitWith(policy: InventoryPolicy) {
    const inventory = new InventoryAdmission({ db, policy, outbox: store, metrics: createInventoryMetrics(new Registry()), log: createLogger('silent') });
    const groupCommit = new GroupCommit({
      store,
      sequence: sequenceEvent,
      onCommit: () => undefined,
      maxValueBytes: 1 << 20,
      admission: (d, now) => inventory.admit(d, now),
      projections: [(e, now) => inventory.project(e, now)],
    });
    return { inventory, append: (d: DraftEvent) => groupCommit.appendEvent(d) };
  }

  /** The stored events of a root, in sequence order: type and data.managed. */
  function stream(root: string): { type: string; managed: unknown; data: Record<string, unknown> }[] {
    return db
      .prepare<[string], { value: string }>("SELECT value FROM outbox WHERE topic = 'events' AND key = ? ORDER BY pos")
      .all(root)
      .map((r) => {
        assert.equal(messageProblem(r.value), null, r.value);
        const e = JSON.parse(r.value) as { type: string; data: Record<string, unknown> };
        return { type: e.type, managed: e.data.managed, data: e.data };
      });
  }

  it('admits roots while the cap has room, then refuses the next with one cap_exceeded after its event, and keeps refusing it', async () => {
    const { inventory, append } = commitWith(POLICY);
    await append(draft('created', 1, 'dc1'));
    await append(draft('created', 2, 'dc1'));
    await append(draft('created', 1, 'dc1', 'dcim.interface:10')); // a known root: no new slot
    const refused = draft('created', 3, 'dc1');
    await append(refused);
    await append(draft('updated', 3, 'dc1'));
    await append(draft('created', 3, 'dc1', 'dcim.interface:30'));
    await append(draft('created', 4, 'dc2')); // no cap matches dc2

    assert.deepEqual(
      stream('dcim.device:3').map((e) => [e.type, e.managed]),
      [
        ['unicop.object.created', false],
        ['unicop.inventory.cap_exceeded', undefined],
        ['unicop.object.updated', false],
        ['unicop.object.created', false],
      ],
    );
    const notice = stream('dcim.device:3')[1]?.data;
    assert.deepEqual(notice?.cap, { index: 0, scope: { sites: ['dc1'] }, maxRoots: 2 });
    assert.equal(notice?.admitted, 2);
    assert.equal(notice?.eventId, refused.envelope.id);
    assert.deepEqual(
      stream('dcim.device:1').map((e) => e.managed),
      [undefined, undefined],
    );
    assert.deepEqual(
      stream('dcim.device:4').map((e) => e.managed),
      [undefined],
    );
    assert.deepEqual(inventory.counts(), [{ index: 0, scope: { sites: ['dc1'] }, maxRoots: 2, admitted: 2 }]);
  });

  it("frees a slot when an admitted root's own object is deleted; a component's delete frees nothing", async () => {
    const { inventory, append } = commitWith(POLICY);
    await append(draft('created', 1, 'dc1'));
    await append(draft('created', 2, 'dc1'));
    await append(draft('deleted', 1, 'dc1', 'dcim.interface:10'));
    assert.equal(inventory.counts()[0]?.admitted, 2);
    await append(draft('deleted', 1, 'dc1'));
    assert.equal(inventory.counts()[0]?.admitted, 1);
    await append(draft('deleted', 1, 'dc1', 'dcim.interface:11')); // a cascaded delete arriving late: not admitted again
    assert.equal(inventory.counts()[0]?.admitted, 1);
    await append(draft('created', 5, 'dc1'));
    assert.deepEqual(
      stream('dcim.device:5').map((e) => e.type),
      ['unicop.object.created'],
    );
    assert.equal(inventory.counts()[0]?.admitted, 2);
  });

  it('counts again at start-up under a changed policy, and decides a refused root again when the caps changed', async () => {
    const first = commitWith(POLICY);
    for (const device of [1, 2, 3]) await first.append(draft('created', device, 'dc1'));
    const raised = commitWith({ ...POLICY, caps: [{ scope: '*', maxRoots: 3 }] });
    assert.deepEqual(raised.inventory.counts(), [{ index: 0, scope: '*', maxRoots: 3, admitted: 2 }]);
    await raised.append(draft('updated', 3, 'dc1'));
    assert.deepEqual(
      stream('dcim.device:3').map((e) => e.managed),
      [false, undefined, undefined],
      'refused, its notice, then admitted under the raised cap',
    );
    assert.equal(raised.inventory.counts()[0]?.admitted, 3);
  });

  it('marks an operator reconcile request of a refused root unmanaged, and never admits an event already outside the set', async () => {
    const { inventory, append } = commitWith({ ...POLICY, caps: [{ scope: '*', maxRoots: 0 }] });
    const outside = draft('created', 7, 'dc1');
    outside.envelope.data = { ...outside.envelope.data, managed: false } as typeof outside.envelope.data;
    await append(outside);
    assert.deepEqual(
      stream('dcim.device:7').map((e) => e.type),
      ['unicop.object.created'],
      'no cap notice for an object outside the set',
    );
    await append(draft('created', 8, 'dc1'));
    const request: DraftEvent = {
      versionKey: null,
      envelope: {
        ...draft('updated', 8, 'dc1').envelope,
        type: EVENT_TYPES.reconcileRequested,
        data: { action: 'reconcile', root: { type: 'dcim.device', id: 8, key: 'dcim.device:8' }, reason: null, requestedBy: 'token:x', superseded: false },
      },
    };
    await append(request);
    assert.deepEqual(
      stream('dcim.device:8').map((e) => [e.type, e.managed]),
      [
        ['unicop.object.created', false],
        ['unicop.inventory.cap_exceeded', undefined],
        ['unicop.reconcile.requested', false],
      ],
    );
    assert.equal(inventory.counts()[0]?.admitted, 0);
  });
});
