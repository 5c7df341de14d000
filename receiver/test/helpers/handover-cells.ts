import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDb } from '../../src/database.js';
import { OutboxStore } from '../../src/pipeline/outbox/outbox-store.js';
import { openReceiverDatabase } from '../../src/receiver-database.js';
import type { Ownership } from '../../src/reconcile/ownership.js';
import type { ReconcileRule } from '../../src/reconcile/reconcile-policy.js';
import type { Reconciler } from '../../src/reconcile/reconciler.js';
import type { ReconcileStore } from '../../src/reconcile/reconcile-store.js';
import type { Scope } from '../../src/model/event.js';
import { assertOutboxMessagesValid } from './message-schemas.js';
import { SILENT_METRICS, objectEventRecord, unitReconciler } from './reconciler.js';

export const EMEA: Scope = { tenant: null, site: 'ams1', region: 'nl', regions: ['nl', 'emea'] };
export const AMER: Scope = { tenant: null, site: 'nyc1', region: 'us-east', regions: ['us-east', 'amer'] };
export const APAC: Scope = { tenant: null, site: 'sin1', region: 'sg', regions: ['sg', 'apac'] };

/** The owners of a three-cell federation file: emea → eu, apac → ap, `"*"` → us. */
export function ownerOf(scope: Scope | null): string {
  const regions = scope?.regions ?? [];
  return regions.includes('emea') ? 'eu' : regions.includes('apac') ? 'ap' : 'us';
}

export const RULE: ReconcileRule = {
  match: { rootType: 'dcim.device' },
  jobTemplate: { name: 'reconcile-device', organization: 'Default' },
  debounceMs: 100,
  deadlineMs: 10_000,
  retry: {},
};

export interface Written {
  topic: string;
  key: string;
  route: string | undefined;
  value: { id: string; type: string; sequence?: string; data: Record<string, unknown> };
  raw: string;
}

/** One cell: its own SQLite store and reconciler, what it queued for Kafka, and what it counted. */
export interface TestCell {
  name: string;
  db: SqliteDb;
  reconciler: Reconciler;
  store: ReconcileStore;
  written: Written[];
  counts: { released: number; adopted: number; dropped: number; ignored: Partial<Record<Ownership, number>> };
  /** A new reconciler over the same store, as after a restart. */
  restart(): void;
  /** Checks every message it queued against its schema, and removes its store. */
  close(): void;
}

/** A cell of the federation `ownerOf` describes, on a clock and id source shared with the other cells of a test. */
export function openCell(name: string, clock: { now: number }, nextId: () => string, rule: ReconcileRule = RULE): TestCell {
  const dir = mkdtempSync(join(tmpdir(), `unicop-cell-${name}-`));
  const db = openReceiverDatabase(dir);
  db.pragma('synchronous = OFF');
  const outbox = new OutboxStore(db);
  const cell: TestCell = {
    name,
    db,
    written: [],
    counts: { released: 0, adopted: 0, dropped: 0, ignored: {} },
    ...build(),
    restart() {
      Object.assign(cell, build());
    },
    close() {
      try {
        assertOutboxMessagesValid(db);
      } finally {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  function build(): Pick<TestCell, 'reconciler' | 'store'> {
    return unitReconciler(db, {
      policy: { version: 1, rules: [rule] },
      ownership: { cell: name, ownerOf },
      outbox: {
        insertMessage: (topic, key, id, value, now, route) => {
          outbox.insertMessage(topic, key, id, value, now, route);
          cell.written.push({ topic, key, route, value: JSON.parse(value) as Written['value'], raw: value });
        },
        insertReject: (r, now) => outbox.insertReject(r, now),
      },
      metrics: {
        ...SILENT_METRICS,
        handover: (direction) => void cell.counts[direction]++,
        dropped: (events) => void (cell.counts.dropped += events),
        requestIgnored: (ownership) => void (cell.counts.ignored[ownership] = (cell.counts.ignored[ownership] ?? 0) + 1),
      },
      now: () => clock.now,
      newId: nextId,
    });
  }
  return cell;
}

/** Ids as UUIDs from a counter: readable in failures, unique across the cells of a test. */
export function idSource(prefix = '00000000'): () => string {
  let n = 0;
  return () => `${prefix}-0000-4000-8000-${String(++n).padStart(12, '0')}`;
}

/** An object event of `root` in `scope`, taking the route named after its top region. */
export function movingEvent(n: number, root: string, scope: Scope): Buffer {
  const route = scope.regions?.at(-1);
  return objectEventRecord(`10000000-0000-4000-8000-${String(n).padStart(12, '0')}`, root, 'dcim.interface', false, {
    scope,
    sequence: n,
    ...(route && { route }),
  });
}

/** A reconcile request for `root` (the operator's button): it carries no scope. */
export function requestEvent(n: number, root: string): Buffer {
  const envelope = JSON.parse(objectEventRecord(`30000000-0000-4000-8000-${String(n).padStart(12, '0')}`, root).toString('utf8')) as Record<string, unknown>;
  const [type = '', id = '0'] = root.split(':');
  return Buffer.from(
    JSON.stringify({
      ...envelope,
      type: 'unicop.reconcile.requested',
      sequence: String(n).padStart(20, '0'),
      data: { action: 'reconcile', root: { type, id: Number(id), key: root }, reason: null, requestedBy: 'token:test', superseded: false },
    }),
  );
}

/** The messages a cell queued for the events topic of one type (released, adopted). */
export function handovers(cell: TestCell, type: 'unicop.root.released' | 'unicop.root.adopted'): Written[] {
  return cell.written.filter((w) => w.topic === 'events' && w.value.type === type);
}

export function commands(cell: TestCell): Written[] {
  return cell.written.filter((w) => w.topic === 'reconcileRequests');
}

/** Hands one record's bytes to a cell's reconciler as its consumer would. */
export function feed(cell: TestCell, raw: Buffer | string): void {
  cell.reconciler.handleEvent({ topic: 't.events.v1', partition: 0, offset: '0', raw: Buffer.isBuffer(raw) ? raw : Buffer.from(raw) });
}
