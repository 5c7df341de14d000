import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { snapshotFrame } from '../../../src/snapshot/snapshot-frames.js';
import type { SnapshotRow } from '../../../src/snapshot/snapshot-store.js';
import { spineView } from '../../../src/snapshot/spine-view.js';

const row: SnapshotRow = {
  id: '5f0c2a9e-1b3d-4e6f-8a7b-9c0d1e2f3a4b',
  state: 'running',
  trigger: 'request',
  requestedBy: 'token:operators',
  objectTypes: ['dcim.device'],
  typeIndex: 0,
  lastId: 0,
  counts: { read: 10, requests: 3, created: 1, updated: 2, deleted: 3 },
  error: null,
  startedAt: Date.parse('2026-03-06T15:20:00Z'),
  finishedAt: null,
};

describe('snapshot frames', () => {
  const valid = new SchemaRegistry().validator('snapshot.v1.schema.json');

  it('started and completed frames validate against their schema, with a stable id per snapshot and kind', () => {
    const started = snapshotFrame('netbox://default', 'started', row, row.startedAt);
    const completed = snapshotFrame('netbox://default', 'completed', row, row.startedAt + 4512);
    assert.ok(valid(started) && valid(completed));
    assert.equal(started.id, snapshotFrame('netbox://default', 'started', row, 0).id);
    assert.notEqual(started.id, completed.id);
    assert.deepEqual(completed.data.repairs, { created: 1, updated: 2, deleted: 3 });
    assert.equal(completed.data.durationMs, 4512);
  });

  it('golden examples validate', () => {
    for (const type of ['unicop.snapshot.started', 'unicop.snapshot.completed']) {
      const example = JSON.parse(readFileSync(new URL(`../../../../schemas/examples/${type}.json`, import.meta.url), 'utf8')) as unknown;
      assert.ok(valid(example), type);
    }
  });
});

describe('spineView', () => {
  const state = (key: string, version: string): string =>
    JSON.stringify({ type: 'unicop.object.state', data: { object: { key }, version, state: { id: Number(key.split(':')[1]) } } });

  it('keeps the latest state per object and forgets a tombstoned one', () => {
    const view = spineView([
      { key: 'dcim.device:1', value: state('dcim.device:1', 'a') },
      { key: 'dcim.device:2', value: state('dcim.device:2', 'a') },
      { key: 'dcim.device:1', value: state('dcim.device:1', 'b') },
      { key: 'dcim.device:2', value: null },
      { key: 'dcim.interface:7', value: state('dcim.interface:7', 'c') },
      { key: 'junk', value: '{' },
      { key: 'dcim.device:3', value: '{not json' },
    ]);
    assert.deepEqual([...(view.get('dcim.device')?.keys() ?? [])], [1]);
    assert.equal(view.get('dcim.device')?.get(1)?.version, 'b');
    assert.equal(view.get('dcim.interface')?.get(7)?.version, 'c');
  });
});
