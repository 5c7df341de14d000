import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../../src/database.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { unitReconciler } from '../../helpers/reconciler.js';

describe('orphan notifications (real SQLite)', () => {
  let dir: string;
  let db: Db;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-orphans-'));
    db = openReceiverDatabase(dir);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps at most the row limit, deleting the oldest first', () => {
    const { reconciler } = unitReconciler(db, { orphanLimit: 50 });
    for (let i = 1; i <= 200; i++) {
      const reconcileId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      assert.equal(reconciler.notify({ id: i, status: 'successful', extra_vars: JSON.stringify({ unicop_reconcile_id: reconcileId }) }), 'orphan');
    }
    const rows = db.prepare<[], { reconcile_id: string }>('SELECT reconcile_id FROM reconcile_orphans ORDER BY id').all();
    assert.equal(rows.length, 50);
    assert.deepEqual([rows[0]?.reconcile_id.slice(-3), rows.at(-1)?.reconcile_id.slice(-3)], ['151', '200'], 'the newest 50 are kept');
  });
});
