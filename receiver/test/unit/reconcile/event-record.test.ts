import { strict as assert } from 'node:assert';
import { createEventReader } from '../../../src/reconcile/event-record.js';
import { objectEventRecord, registry } from '../../helpers/reconciler.js';

const read = createEventReader(registry);
const ID = '10000000-0000-4000-8000-000000000001';
const envelope = () => JSON.parse(objectEventRecord(ID, 'dcim.device:1').toString('utf8')) as Record<string, unknown> & { data: Record<string, unknown> };
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('event record (what the reconciler reads from the events topic)', () => {
  it('reads a valid envelope as a change of its root, and a valid reconcile request as one without object type', () => {
    assert.deepEqual(read(objectEventRecord(ID, 'dcim.device:1')), {
      kind: 'change',
      id: ID,
      rootKey: 'dcim.device:1',
      rootType: 'dcim.device',
      objectType: 'dcim.interface',
    });
    const request = {
      ...envelope(),
      type: 'unicop.reconcile.requested',
      data: { action: 'reconcile', root: { type: 'dcim.device', id: 1, key: 'dcim.device:1' }, reason: null, requestedBy: 'token:x', superseded: false },
    };
    assert.deepEqual(read(bytes(request)), { kind: 'change', id: ID, rootKey: 'dcim.device:1', rootType: 'dcim.device', objectType: null });
  });

  it('ignores superseded events and types it does not know (v1 is additive)', () => {
    assert.deepEqual(read(objectEventRecord(ID, 'dcim.device:1', 'dcim.interface', true)), { kind: 'ignored' });
    assert.deepEqual(read(bytes({ ...envelope(), type: 'unicop.root.released', data: { anything: 1 } })), { kind: 'ignored' });
  });

  it('reads an envelope with fields its schema does not know yet, as a newer v1 producer may add them', () => {
    const newer = {
      ...envelope(),
      desiredVersion: 'sha256:00',
      data: { ...envelope().data, source: 'nb-eu', root: { type: 'dcim.device', id: 1, key: 'dcim.device:1', cell: 'eu' } },
    };
    assert.deepEqual(read(bytes(newer)), { kind: 'change', id: ID, rootKey: 'dcim.device:1', rootType: 'dcim.device', objectType: 'dcim.interface' });
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
