import type { Db } from '../database.js';
import { scopeMatches, type RootScope } from '../iam/root-scope.js';
import type { Logger } from '../log.js';
import type { DraftEvent, EventEnvelope, ObjectEvent } from '../model/event.js';
import type { OutboxStore } from '../pipeline/outbox/outbox-store.js';
import { capExceededEvent, type CapNotice } from './cap-exceeded.js';
import { capKey, type InventoryCap, type InventoryPolicy } from './inventory-policy.js';
import { rootScopeOf } from './managed-set.js';

export interface InventoryMetrics {
  unmanaged(reason: 'outside_set' | 'not_admitted'): void;
  exceeded(cap: number): void;
  /** A cap's admitted roots now, and its maximum. */
  cap(cap: number, roots: number, maxRoots: number): void;
}

export interface InventoryAdmissionOptions {
  db: Db;
  policy: InventoryPolicy;
  outbox: Pick<OutboxStore, 'insertEvent' | 'lastSequence'>;
  metrics: InventoryMetrics;
  log: Logger;
}

/** One cap as `GET /v1/inventory/policy` shows it. */
export interface CapCount {
  index: number;
  scope: InventoryCap['scope'];
  maxRoots: number;
  admitted: number;
}

type RootState = 'admitted' | 'refused' | 'released';
interface RootRow {
  state: RootState;
  tenant: string | null;
  site: string | null;
  regions: string;
  caps: string;
}

/**
 * Caps on managed roots per scope (docs/inventory.md). `admit` runs in the group commit's
 * transaction before an event is sequenced: the first managed event of a root the receiver has not
 * decided on admits it when every cap its scope matches has room, and otherwise refuses it — the
 * root's row says `refused` and this and every later event of the root (reconcile requests too) is
 * stored with `managed: false`. `project` then, in the same transaction, puts the refusal's one
 * `unicop.inventory.cap_exceeded` right after the refused event in the root's stream. A deleted
 * root object frees its slot; a refused root is decided again only under a changed set of caps.
 */
export class InventoryAdmission {
  private readonly q;
  private readonly caps: readonly InventoryCap[];
  /** The caps in force, canonical: a refused root is decided again when this differs from its row's. */
  private readonly fingerprint: string;

  constructor(private readonly options: InventoryAdmissionOptions) {
    const { db } = options;
    this.caps = options.policy.caps ?? [];
    this.fingerprint = JSON.stringify(this.caps.map((c) => [capKey(c.scope), c.maxRoots]));
    this.q = {
      root: db.prepare<[string], RootRow>('SELECT state, tenant, site, regions, caps FROM inventory_roots WHERE root = ?'),
      put: db.prepare<[string, RootState, string | null, string | null, string, string, string, string | null, number]>(
        `INSERT INTO inventory_roots (root, state, tenant, site, regions, caps, event_id, notice, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(root) DO UPDATE SET state = excluded.state, tenant = excluded.tenant, site = excluded.site, regions = excluded.regions,
           caps = excluded.caps, event_id = excluded.event_id, notice = excluded.notice, decided_at = excluded.decided_at`,
      ),
      release: db.prepare<[number, string]>("UPDATE inventory_roots SET state = 'released', decided_at = ? WHERE root = ?"),
      notice: db.prepare<[string, string], { notice: string }>('SELECT notice FROM inventory_roots WHERE root = ? AND event_id = ? AND notice IS NOT NULL'),
      noticeSent: db.prepare<[string]>('UPDATE inventory_roots SET notice = NULL WHERE root = ?'),
      admitted: db.prepare<[], { tenant: string | null; site: string | null; regions: string }>(
        "SELECT tenant, site, regions FROM inventory_roots WHERE state = 'admitted'",
      ),
      count: db.prepare<[string], { admitted: number }>('SELECT admitted FROM inventory_cap_counts WHERE cap_key = ?'),
      add: db.prepare<[string, number]>(
        'INSERT INTO inventory_cap_counts (cap_key, admitted) VALUES (?, ?) ON CONFLICT(cap_key) DO UPDATE SET admitted = inventory_cap_counts.admitted + excluded.admitted',
      ),
      clear: db.prepare('DELETE FROM inventory_cap_counts'),
    };
    this.recount();
  }

  /** The draft as it is to be stored: marked `managed: false` when outside the set or its root is refused. */
  admit(draft: DraftEvent, now: number): DraftEvent {
    const { data } = draft.envelope;
    const root = draft.envelope.partitionkey;
    const row = this.q.root.get(root);
    if (data.action === 'reconcile') {
      // An operator's request for a refused root is kept for the audit but never reconciled either.
      return row?.state === 'refused' ? this.unmanaged(draft, 'not_admitted') : draft;
    }
    if (data.managed === false) {
      this.options.metrics.unmanaged('outside_set');
      return draft;
    }
    const rootDeleted = data.action === 'deleted' && draft.envelope.subject === data.root.key;
    if (row && !(row.state === 'refused' && row.caps !== this.fingerprint && !rootDeleted)) {
      if (rootDeleted && row.state === 'admitted') this.release(root, row, now);
      return row.state === 'refused' ? this.unmanaged(draft, 'not_admitted') : draft;
    }
    // A delete (cascaded components, or the root itself) of a root never decided on admits nothing.
    if (!row && data.action === 'deleted') return draft;
    const scope = rootScopeOf(data.scope);
    const matching = this.matching(scope);
    const full = matching.find((m) => m.admitted >= m.cap.maxRoots);
    const regions = JSON.stringify(scope.regions);
    if (!full) {
      this.q.put.run(root, 'admitted', scope.tenant, scope.site, regions, this.fingerprint, draft.envelope.id, null, now);
      for (const m of matching) this.q.add.run(m.key, 1);
      this.report(matching, 1);
      return draft;
    }
    const notice: CapNotice = { cap: { index: full.index, scope: full.cap.scope, maxRoots: full.cap.maxRoots }, admitted: full.admitted };
    this.q.put.run(root, 'refused', scope.tenant, scope.site, regions, this.fingerprint, draft.envelope.id, JSON.stringify(notice), now);
    this.options.metrics.exceeded(full.index);
    this.options.log.warn(
      { root, eventId: draft.envelope.id, cap: full.index, maxRoots: full.cap.maxRoots, admitted: full.admitted },
      'inventory cap exceeded: root not admitted, its events are kept but not managed',
    );
    return this.unmanaged(draft, 'not_admitted');
  }

  /** In the stored event's transaction: the refusal's notice, right after the refused event. Returns the outbox rows added. */
  project(event: EventEnvelope, now: number): number {
    if (event.data.action === 'reconcile' || event.data.managed !== false) return 0;
    const row = this.q.notice.get(event.partitionkey, event.id);
    if (!row) return 0;
    const refused = event as ObjectEvent;
    const sequence = this.options.outbox.lastSequence(event.partitionkey) + 1;
    const notice = capExceededEvent(refused, JSON.parse(row.notice) as CapNotice, sequence, now);
    this.options.outbox.insertEvent(
      {
        id: notice.id,
        root: notice.partitionkey,
        rootSequence: sequence,
        subject: notice.subject,
        type: notice.type,
        time: notice.time,
        superseded: false,
        versionMark: null,
        requestId: null,
        action: 'cap_exceeded',
        actorUser: null,
        route: refused.data.route,
        value: JSON.stringify(notice),
      },
      now,
    );
    this.q.noticeSent.run(event.partitionkey);
    return 1;
  }

  /** Every cap of the policy with the roots it holds now. */
  counts(): CapCount[] {
    return this.caps.map((cap, index) => ({ index, scope: cap.scope, maxRoots: cap.maxRoots, admitted: this.q.count.get(capKey(cap.scope))?.admitted ?? 0 }));
  }

  private matching(scope: RootScope) {
    return this.caps.flatMap((cap, index) => {
      if (!scopeMatches(cap.scope, scope)) return [];
      const key = capKey(cap.scope);
      return [{ cap, index, key, admitted: this.q.count.get(key)?.admitted ?? 0 }];
    });
  }

  private release(root: string, row: RootRow, now: number): void {
    this.q.release.run(now, root);
    const matching = this.matching({ tenant: row.tenant, site: row.site, regions: JSON.parse(row.regions) as string[] });
    for (const m of matching) this.q.add.run(m.key, -1);
    this.report(matching, -1);
  }

  private unmanaged(draft: DraftEvent, reason: 'not_admitted'): DraftEvent {
    this.options.metrics.unmanaged(reason);
    return { ...draft, envelope: { ...draft.envelope, data: { ...draft.envelope.data, managed: false } } };
  }

  private report(matching: readonly { cap: InventoryCap; index: number; admitted: number }[], delta: 1 | -1): void {
    // Called before the transaction commits: a rolled-back group leaves the gauge one off until the next change.
    for (const m of matching) this.options.metrics.cap(m.index, m.admitted + delta, m.cap.maxRoots);
  }

  /** The counts of the caps in force, from the admitted roots (one pass at start-up, so a changed policy counts right). */
  private recount(): void {
    const roots = this.q.admitted.all().map((r) => ({ tenant: r.tenant, site: r.site, regions: JSON.parse(r.regions) as string[] }));
    this.options.db.transaction(() => {
      this.q.clear.run();
      for (const cap of this.caps) this.q.add.run(capKey(cap.scope), roots.filter((r) => scopeMatches(cap.scope, r)).length);
    })();
    for (const c of this.counts()) this.options.metrics.cap(c.index, c.admitted, c.maxRoots);
  }
}
