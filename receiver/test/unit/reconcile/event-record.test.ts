import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { createEventReader } from '../../../src/reconcile/event-record.js';
import { objectEventRecord, registry } from '../../helpers/reconciler.js';

const read = createEventReader(registry);
const ID = '10000000-0000-4000-8000-000000000001';
const envelope = () => JSON.parse(objectEventRecord(ID, 'dcim.device:1').toString('utf8')) as Record<string, unknown> & { data: Record<string, unknown> };
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
const EXAMPLES = new URL('../../../../schemas/examples/', import.meta.url);
const CHANGE = {
  kind: 'change',
  id: ID,
  rootKey: 'dcim.device:1',
  rootType: 'dcim.device',
  objectType: 'dcim.interface',
  sequence: '00000000000000000001',
  scope: { tenant: null, site: null, region: null },
  route: undefined,
};

describe('event record (what the reconciler reads from the events topic)', () => {
  it('reads a valid envelope as a change of its root, and a valid reconcile request as one without object type', () => {
    assert.deepEqual(read(objectEventRecord(ID, 'dcim.device:1')), CHANGE);
    const request = {
      ...envelope(),
      type: 'unicop.reconcile.requested',
      data: { action: 'reconcile', root: { type: 'dcim.device', id: 1, key: 'dcim.device:1' }, reason: null, requestedBy: 'token:x', superseded: false },
    };
    assert.deepEqual(
      read(bytes({ ...request, data: { ...request.data, route: 'emea' } })),
      {
        ...CHANGE,
        objectType: null,
        scope: null,
        route: undefined,
      },
      'a request names no scope and does not move the root’s route: ownership is the object events’ business',
    );
  });

  it('reads the scope, route and sequence of an object event: they name the owning cell and the route of the root’s messages', () => {
    const scope = { tenant: null, site: 'ams1', region: 'nl', regions: ['nl', 'emea'] };
    const event = { ...envelope(), sequence: '00000000000000000007', data: { ...envelope().data, scope, route: 'emea', source: 'nb-eu' } };
    const reading = read(bytes(event));
    assert.deepEqual(reading.kind === 'change' && [reading.scope, reading.route, reading.sequence], [scope, 'emea', '00000000000000000007']);
  });

  it('reads the ownership handover messages: released with what an adoption names, adopted to know it', () => {
    const released = JSON.parse(readFileSync(new URL('unicop.root.released.json', EXAMPLES), 'utf8')) as Record<string, unknown>;
    const adopted = JSON.parse(readFileSync(new URL('unicop.root.adopted.json', EXAMPLES), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(read(bytes(released)), {
      kind: 'released',
      id: '6d1f0a52-93b4-5c1e-8f27-4a0b9c3d2e15',
      rootKey: 'nb-eu/dcim.device:42',
      from: 'eu',
      to: 'us',
      eventId: '0b7e4f2a-1c3d-5e6f-8a9b-c0d1e2f3a4b5',
      sequence: '00000000000000000007',
      scope: { tenant: null, site: 'nyc1', region: 'us-east', regions: ['us-east', 'amer'] },
    });
    assert.deepEqual(read(bytes(adopted)), {
      kind: 'adopted',
      id: '2e8c5b71-4a0d-5f3e-9b16-7c2d1e0f3a48',
      rootKey: 'nb-eu/dcim.device:42',
      from: 'eu',
      to: 'us',
    });
    const broken = read(bytes({ ...released, data: { anything: 1 } }));
    assert.equal(broken.kind === 'poison' && broken.error.code, 'UNICOP_RECONCILE_RECORD_INVALID', 'a known type is validated like every other');
  });

  it('ignores superseded events and types it does not know (v1 is additive)', () => {
    assert.deepEqual(read(objectEventRecord(ID, 'dcim.device:1', 'dcim.interface', true)), { kind: 'ignored' });
    assert.deepEqual(read(bytes({ ...envelope(), type: 'unicop.root.renamed', data: { anything: 1 } })), { kind: 'ignored' });
  });

  it('reads an envelope with fields its schema does not know yet, as a newer v1 producer may add them', () => {
    const newer = {
      ...envelope(),
      desiredVersion: 'sha256:00',
      data: { ...envelope().data, source: 'nb-eu', root: { type: 'dcim.device', id: 1, key: 'dcim.device:1', cell: 'eu' } },
    };
    assert.deepEqual(read(bytes(newer)), CHANGE);
  });

  it('keeps an envelope its schema refuses as poison, naming where, where it used to read only the fields it needed', () => {
    const cases: Array<[string, unknown]> = [
      ['/data/root', { ...envelope(), data: { ...envelope().data, root: { key: 'dcim.device:1', type: 'dcim.device' } } }],
      ['/', (({ sequence: _s, ...rest }) => rest)(envelope())],
      ['/data/netbox/via', { ...envelope(), data: { ...envelope().data, netbox: { version: '4.7', changelogId: null, via: 'carrier pigeon' } } }],
      ['/', { hello: 'world' }],
    ];
    for (const [pointer, value] of cases) {
      const reading = read(bytes(value));
      assert.equal(reading.kind, 'poison', JSON.stringify(value).slice(0, 80));
      if (reading.kind !== 'poison') continue;
      assert.equal(reading.error.code, 'UNICOP_RECONCILE_RECORD_INVALID');
      assert.ok(
        reading.error.details.some((detail) => detail.pointer === pointer),
        `${pointer} in ${JSON.stringify(reading.error.details)}`,
      );
    }
  });

  it('keeps bytes that are not JSON or nest too deeply as poison with the parser’s code', () => {
    const notJson = read(Buffer.from('not json {'));
    const deep = read(Buffer.from(`${'['.repeat(1000)}${']'.repeat(1000)}`));
    assert.deepEqual(
      [notJson.kind === 'poison' && notJson.error.code, deep.kind === 'poison' && deep.error.code],
      ['UNICOP_VALIDATE_MALFORMED_JSON', 'UNICOP_VALIDATE_TOO_DEEP'],
    );
  });
});
