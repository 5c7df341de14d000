import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDb } from '../../../src/database.js';
import { createLogger } from '../../../src/log.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { SnapshotRunner, type SnapshotSource } from '../../../src/snapshot/snapshot-runner.js';
import { SnapshotStore } from '../../../src/snapshot/snapshot-store.js';
import { waitFor } from '../../helpers/wait-for.js';

/** A NetBox with no objects, counting what it is asked. */
function emptyNetbox(): SnapshotSource & { pages: number } {
  return {
    pages: 0,
    requests: 0,
    version: async () => '4.7.3',
    async listPage() {
      this.pages++;
      return { results: [], more: false, remaining: 0 };
    },
  };
}

/**
 * Two receivers on one store (here one SQLite file stands for the shared PostgreSQL): snapshots run
 * on the one holding the `snapshots` lease, whichever receiver was asked for one.
 */
describe('snapshots on a shared store: run by the holder of the snapshots lease', () => {
  let dir: string;
  let db: SqliteDb;
  const runners: SnapshotRunner[] = [];
  const runner = (netbox: SnapshotSource, active: () => boolean): SnapshotRunner => {
    const r = new SnapshotRunner({
      store: new SnapshotStore(db),
      outbox: new OutboxStore(db),
      netbox,
      readSpine: async () => new Map(),
      append: () => assert.fail('an empty NetBox and an empty spine repair nothing'),
      normalize: { source: 'netbox://test', resolveRoot: () => assert.fail('nothing to normalize') },
      source: 'netbox://test',
      objectTypes: ['dcim.device'],
      intervalS: 0,
      onCommit: () => undefined,
      metrics: { ended: () => undefined, repaired: () => undefined, requested: () => undefined, progress: () => undefined },
      log: createLogger('silent'),
      active,
    });
    runners.push(r);
    return r;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-snapshot-lease-'));
    db = openReceiverDatabase(dir);
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a snapshot asked of a receiver without the lease is run by the one holding it, once', async () => {
    const here = emptyNetbox();
    const holder = emptyNetbox();
    const asked = runner(here, () => false);
    const leaseHolder = runner(holder, () => true);
    asked.start();
    leaseHolder.start();
    const id = asked.request('request', 'alice');
    const done = await waitFor(() => (asked.get(id)?.state === 'completed' ? asked.get(id) : undefined), 10_000, 'the snapshot completed');
    assert.equal(done.state, 'completed');
    assert.equal(here.pages, 0, 'the receiver without the lease read nothing from NetBox');
    assert.equal(holder.pages, 1, 'the holder read the one (empty) page');
  });
});
