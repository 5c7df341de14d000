import { createLogger } from '../../src/log.js';
import type { Db } from '../../src/database.js';
import { OutboxStore } from '../../src/pipeline/outbox/outbox-store.js';
import { ReconcileStore } from '../../src/reconcile/reconcile-store.js';
import type { CellOwnership } from '../../src/reconcile/ownership.js';
import { Reconciler, type ReconcilerMetrics, type ReconcilerOptions } from '../../src/reconcile/reconciler.js';
import { SchemaRegistry } from '../../src/schema-registry.js';

/** One registry for every unit reconciler: compiling the schemas once keeps the tests quick. */
export const registry = new SchemaRegistry();

const noop = () => undefined;

/** A reconciler's metrics that count nothing; spread it and replace what a test counts. */
export const SILENT_METRICS: ReconcilerMetrics = {
  command: noop,
  outcome: noop,
  orphan: noop,
  notification: noop,
  poison: noop,
  unmanaged: noop,
  handover: noop,
  dropped: noop,
  requestIgnored: noop,
};

/** Without a federation file: one cell, `default`, owning every root. */
export const SINGLE_CELL: CellOwnership = { cell: 'default', ownerOf: () => 'default' };

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
    ownership: SINGLE_CELL,
    metrics: { ...SILENT_METRICS },
    log: createLogger('silent'),
    ...over,
  });
  return { reconciler, store };
}

/** What an object event may say beyond its id and root (federation: where its scope puts the root). */
export interface EventShape {
  scope?: { tenant: string | null; site: string | null; region: string | null; regions?: string[] };
  route?: string;
  sequence?: number;
}

/**
 * The bytes of a valid `unicop.object.updated` envelope (schemas/event-envelope.v1.schema.json) for
 * `objectType` under the root `rootKey`: what the reconciler reads from the events topic.
 */
export function objectEventRecord(eventId: string, rootKey: string, objectType = 'dcim.interface', superseded = false, shape: EventShape = {}): Buffer {
  const [rootType = '', rootId = '0'] = rootKey.slice(rootKey.indexOf('/') + 1).split(':');
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
    sequence: String(shape.sequence ?? 1).padStart(20, '0'),
    data: {
      action: 'updated',
      object: { type: objectType, id: 7, display: 'eth0' },
      root,
      related: [],
      scope: shape.scope ?? { tenant: null, site: null, region: null },
      ...(shape.route === undefined ? {} : { route: shape.route }),
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

/**
 * The bytes of a `unicop.root.released` from `from` to `to` for `rootKey` (what another cell's
 * reconciler publishes), naming the moving event `eventId`.
 */
export function releasedRecord(id: string, rootKey: string, from: string, to: string, eventId: string, sequence = 2): Buffer {
  const bare = rootKey.slice(rootKey.indexOf('/') + 1);
  const [type = '', rootId = '0'] = bare.split(':');
  return Buffer.from(
    JSON.stringify({
      specversion: '1.0',
      id,
      source: `unicop://${from}`,
      type: 'unicop.root.released',
      subject: rootKey,
      time: '2026-01-01T00:00:00.000Z',
      datacontenttype: 'application/json',
      dataschema: 'https://unicop.dev/schemas/event-envelope.v1.schema.json',
      partitionkey: rootKey,
      sequence: String(sequence).padStart(20, '0'),
      data: {
        root: { type, id: Number(rootId), key: rootKey },
        from,
        to,
        scope: { tenant: null, site: null, region: null },
        eventId,
        lastOutcome: null,
        superseded: false,
      },
    }),
  );
}
