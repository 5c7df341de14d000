import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDb } from '../../../src/database.js';
import { createLogger } from '../../../src/log.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { Lease } from '../../../src/store/lease.js';

const TTL = 8000;

/** A duty one receiver does for all (the AWX poller, the changelog catch-up): two holders on one store. */
describe('named lease: one holder at a time, taken over after it ran out', () => {
  let dir: string;
  let db: SqliteDb;
  let now: number;
  const lease = (holder: string, exclusive = false): Lease =>
    new Lease({ db, name: 'awx-poller', holder, ttlMs: TTL, exclusive, log: createLogger('silent'), now: () => now });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-lease-'));
    db = openReceiverDatabase(dir);
    now = 5_000_000;
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is held by the first, not by a second while the first renews, and moves when the first stops renewing', () => {
    const a = lease('a');
    const b = lease('b');
    a.tick();
    b.tick();
    assert.deepEqual([a.held(), b.held()], [true, false]);
    now += TTL / 2;
    a.tick();
    b.tick();
    assert.deepEqual([a.held(), b.held()], [true, false], 'renewed in time');
    now += TTL; // a died: no renewal
    assert.equal(a.held(), false, 'a no longer counts itself as holder once its lease ran out');
    b.tick();
    assert.equal(b.held(), true);
    a.tick(); // a was only paused: it finds the lease taken and does not take it back
    assert.equal(a.held(), false);
  });

  it('gives the lease back on stop, so another takes it at once', async () => {
    const a = lease('a');
    const b = lease('b');
    a.tick();
    await a.stop();
    b.tick();
    assert.equal(b.held(), true);
  });

  it('an exclusive holder (the one SQLite receiver) takes it at start whoever held it last', () => {
    lease('old-process').tick();
    const fresh = lease('new-process', true);
    fresh.tick();
    assert.equal(fresh.held(), true);
  });
});
