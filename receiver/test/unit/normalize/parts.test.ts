import { strict as assert } from 'node:assert';
import { changesBetween } from '../../../src/pipeline/normalize/changes.js';
import { eventId } from '../../../src/pipeline/normalize/event-id.js';
import { versionKey } from '../../../src/pipeline/normalize/version-key.js';

describe('normalize parts', () => {
  it('version keys sort like instants, to the microsecond, across offsets', () => {
    const a = versionKey('2026-03-06T15:11:23.503186+00:00');
    const b = versionKey('2026-03-06T15:11:23.503187Z');
    const c = versionKey('2026-03-06T16:11:23.503188+01:00');
    assert.ok(a && b && c && a < b && b < c, `${a} ${b} ${c}`);
    assert.equal(versionKey('2026-03-06T15:11:23Z')?.length, 20);
    assert.equal(versionKey('not a date'), null);
    assert.equal(versionKey(null), null);
  });
  it('changes list differing fields only, never last_updated nor NetBox-internal _columns', () => {
    assert.deepEqual(changesBetween({ a: 1, b: [1], last_updated: 'x', _name: 'eth00001' }, { a: 2, b: [1], c: 'new', last_updated: 'y', _name: 'eth00002' }), {
      a: { before: 1, after: 2 },
      c: { before: null, after: 'new' },
    });
    assert.deepEqual(Object.keys(changesBetween(null, { a: 1, b: 2 })), ['a', 'b']);
  });
  it('event ids are UUIDv5 and depend on every identity field', () => {
    const base = { source: 's', requestId: 'r', objectType: 'dcim.device', objectId: 1, action: 'updated', version: 'v' };
    const id = eventId(base);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const [k, v] of Object.entries({ source: 't', requestId: null, objectType: 'dcim.site', objectId: 2, action: 'deleted', version: 'w' })) {
      assert.notEqual(eventId({ ...base, [k]: v }), id, k);
    }
  });
});
