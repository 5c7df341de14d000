import { strict as assert } from 'node:assert';
import { comparePage, type NetboxObject, type SpineObject } from '../../../src/snapshot/compare.js';
import { versionKey } from '../../../src/pipeline/normalize/version-key.js';

const V1 = '2026-03-06T15:11:23.503186+00:00';
const V2 = '2026-03-06T15:12:00.000001+00:00';

function spine(...objects: [number, string | null][]): Map<number, SpineObject> {
  return new Map(objects.map(([id, version]) => [id, { id, version, state: { id } }]));
}
function nb(id: number, lastUpdated: string): NetboxObject {
  return { id, last_updated: lastUpdated };
}
const nothingQueued = (): null => null;

describe('comparePage', () => {
  it('repairs nothing when NetBox and the spine hold the same versions', () => {
    assert.deepEqual(comparePage(spine([1, V1], [2, V1]), [nb(1, V1), nb(2, V1)], 0, Infinity, nothingQueued), []);
  });

  it('creates what the spine lacks, updates what it holds at another version, deletes what NetBox no longer has', () => {
    const repairs = comparePage(spine([1, V1], [2, V1], [4, V1]), [nb(1, V1), nb(2, V2), nb(3, V1)], 0, Infinity, nothingQueued);
    assert.deepEqual(
      repairs.map((r) => [r.action, r.id]),
      [
        ['updated', 2],
        ['created', 3],
        ['deleted', 4],
      ],
    );
  });

  it('compares versions as instants, not as strings', () => {
    assert.deepEqual(comparePage(spine([1, '2026-03-06T15:11:23.5+00:00']), [nb(1, '2026-03-06T15:11:23.500000Z')], 0, Infinity, nothingQueued), []);
  });

  it('repairs an object whose spine version is unknown (a changelog recovery)', () => {
    assert.deepEqual(
      comparePage(spine([1, null]), [nb(1, V1)], 0, Infinity, nothingQueued).map((r) => r.action),
      ['updated'],
    );
  });

  it('deletes only spine objects inside the page range: later ones belong to later pages', () => {
    const repairs = comparePage(spine([1, V1], [5, V1], [9, V1]), [nb(1, V1), nb(6, V1)], 0, 6, nothingQueued);
    assert.deepEqual(
      repairs.map((r) => [r.action, r.id]),
      [
        ['deleted', 5],
        ['created', 6],
      ],
    );
    assert.deepEqual(
      comparePage(spine([1, V1], [5, V1], [9, V1]), [], 6, Infinity, nothingQueued).map((r) => [r.action, r.id]),
      [['deleted', 9]],
    );
  });

  it('leaves alone a difference the outbox already holds an event for (queued, not yet on objects.v1)', () => {
    const queued = (id: number): string | null => (id === 2 ? `${versionKey(V2)}1` : id === 4 ? `${versionKey(V1)}2` : null);
    assert.deepEqual(comparePage(spine([2, V1], [4, V1]), [nb(2, V2)], 0, Infinity, queued), []);
  });

  it('still repairs when the queued event is older than NetBox, or an update of an object NetBox deleted', () => {
    const queued = (id: number): string | null => (id === 2 ? `${versionKey(V1)}1` : id === 4 ? `${versionKey(V1)}1` : null);
    assert.deepEqual(
      comparePage(spine([2, V1], [4, V1]), [nb(2, V2)], 0, Infinity, queued).map((r) => [r.action, r.id]),
      [
        ['updated', 2],
        ['deleted', 4],
      ],
    );
  });
});
