import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDb } from '../../../src/database.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { registerRouteLanes } from '../../../src/pipeline/publish/route-lanes.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';

describe('relay lanes per route (route, partition), numbered once per store', () => {
  let dir: string;
  let db: SqliteDb;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-route-lanes-'));
    db = openReceiverDatabase(dir);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the default route’s lane numbers, numbers new routes after them, and gives the same numbers on every registration', () => {
    const first = registerRouteLanes(db, ['default', 'eu'], 'default', 3);
    assert.deepEqual(first.lanesOf('default'), [0, 1, 2]);
    assert.deepEqual(first.lanesOf('eu'), [3, 4, 5]);
    const again = registerRouteLanes(db, ['eu', 'default'], 'default', 3);
    assert.deepEqual([again.lanesOf('default'), again.lanesOf('eu')], [first.lanesOf('default'), first.lanesOf('eu')]);
    // a key maps to the same partition on every route: its lane differs by the route alone
    const key = 'dcim.device:42';
    assert.equal(first.laneOf('eu', key) - first.laneOf('default', key), 3);
    assert.throws(() => first.laneOf('us', key), /unknown route "us"/);
  });

  it('names the rows left unpublished in a route no longer configured, so start-up can refuse instead of stranding them', () => {
    const lanes = registerRouteLanes(db, ['default', 'eu'], 'default', 1);
    const store = new OutboxStore(db, lanes);
    store.transaction(() => {
      store.insertMessage('events', 'dcim.device:1', 'm1', '{}', 1, 'eu');
      store.insertMessage('events', 'dcim.device:2', 'm2', '{}', 1, 'eu');
      store.insertMessage('events', 'dcim.device:3', 'm3', '{}', 1);
    });
    assert.deepEqual([...store.depthByRoute()].sort(), [
      ['default', 1],
      ['eu', 2],
    ]);
    assert.deepEqual(registerRouteLanes(db, ['default'], 'default', 1).stranded, [{ route: 'eu', rows: 2 }]);
    assert.deepEqual(registerRouteLanes(db, ['default', 'eu'], 'default', 1).stranded, []);
  });
});
