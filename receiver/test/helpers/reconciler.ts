import { createLogger } from '../../src/log.js';
import type { Db } from '../../src/database.js';
import { OutboxStore } from '../../src/pipeline/outbox/outbox-store.js';
import { ReconcileStore } from '../../src/reconcile/reconcile-store.js';
import { Reconciler, type ReconcilerOptions } from '../../src/reconcile/reconciler.js';

const noop = () => undefined;

/**
 * A reconciler on `db` for unit tests: its store already rebuilt (empty), the real outbox store,
 * silent metrics and log; `over` sets the policy, clock, ids and limits a test needs.
 */
export function unitReconciler(db: Db, over: Partial<ReconcilerOptions> = {}): { reconciler: Reconciler; store: ReconcileStore } {
  const store = new ReconcileStore(db);
  store.restore([], 0);
  const reconciler = new Reconciler({
    policy: { version: 1, rules: [] },
    store,
    outbox: new OutboxStore(db),
    onCommit: noop,
    source: 'netbox://test',
    metrics: { command: noop, outcome: noop, orphan: noop, notification: noop, poison: noop },
    log: createLogger('silent'),
    ...over,
  });
  return { reconciler, store };
}
