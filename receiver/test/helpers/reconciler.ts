import { createLogger } from '../../src/log.js';
import type { Db } from '../../src/database.js';
import { OutboxStore } from '../../src/pipeline/outbox/outbox-store.js';
import { ReconcileStore } from '../../src/reconcile/reconcile-store.js';
import { Reconciler, type ReconcilerOptions } from '../../src/reconcile/reconciler.js';
import { SchemaRegistry } from '../../src/schema-registry.js';

/** One registry for every unit reconciler: compiling the schemas once keeps the tests quick. */
export const registry = new SchemaRegistry();

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
    registry,
    metrics: { command: noop, outcome: noop, orphan: noop, notification: noop, poison: noop, unmanaged: noop },
    log: createLogger('silent'),
    ...over,
  });
  return { reconciler, store };
}

/**
 * The bytes of a valid `unicop.object.updated` envelope (schemas/event-envelope.v1.schema.json) for
 * `objectType` under the root `rootKey`: what the reconciler reads from the events topic.
 */
export function objectEventRecord(eventId: string, rootKey: string, objectType = 'dcim.interface', superseded = false): Buffer {
  const [rootType = '', rootId = '0'] = rootKey.split(':');
  const root = { type: rootType, id: Number(rootId), key: rootKey };
  const envelope = {
    specversion: '1.0',
    id: eventId,
    source: 'netbox://test',
    type: 'unicop.object.updated',
    subject: `${objectType}:7`,
    time: '2026-01-01T00:00:00.000Z',
    datacontenttype: 'application/json',
    dataschema: 'https://unicop.dev/schemas/event-envelope.v1.schema.json',
    partitionkey: rootKey,
    sequence: '00000000000000000001',
    data: {
      action: 'updated',
      object: { type: objectType, id: 7, display: 'eth0' },
      root,
      related: [],
      scope: { tenant: null, site: null, region: null },
      actor: { user: 'admin', requestId: null },
      version: '2026-01-01T00:00:00Z',
      superseded,
      changes: {},
      snapshots: { before: null, after: null },
      current: { id: 7 },
      netbox: { version: '4.7', changelogId: null, via: 'webhook' },
    },
  };
  return Buffer.from(JSON.stringify(envelope));
}
