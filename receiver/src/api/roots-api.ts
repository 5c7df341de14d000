import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { UnicopError } from '../errors.js';
import type { components } from '../generated/openapi.js';
import type { ReconcileRule } from '../reconcile/reconcile-policy.js';
import type { AttemptRow } from '../reconcile/reconcile-store.js';
import { RECONCILE_STATES, restingRecord, type ReconcileState, type RootRecord } from '../reconcile/state-machine.js';
import { EVENT_DATASCHEMA, EVENT_TYPES, type DraftEvent, type TimelineEntry } from '../model/event.js';
import type { ApiPermission, Guard } from '../iam/api-access.js';
import { rootView } from './root-view.js';

const ROOT_KEY = /^(?:([a-z0-9][a-z0-9-]{0,62})\/)?([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*):([1-9][0-9]{0,17})$/;
/** Namespace for reconcile request ids derived from an Idempotency-Key (never changes). */
const REQUEST_ID_NAMESPACE = '6a1f7c4e-52a3-4c0e-9d7b-3f2e8b1a9c55';
export const TIMELINE_MAX = 200;
/**
 * A reconcile request without an Idempotency-Key repeated by the same caller for the same root
 * within this window is the same request (a double click, a script run twice): `200` duplicate
 * with the first request's id. Kept in memory: a restart forgets it, which at worst lets one more
 * request through.
 */
export const RECONCILE_DEDUPE_WINDOW_MS = 10_000;
const DEDUPE_MAX_ENTRIES = 10_000;

type Schemas = components['schemas'];

/** What the API reads from the event index (the outbox store implements it). */
export interface EventIndex {
  lastSequence(root: string): number;
  timeline(root: string, beforeSequence: number | null, limit: number): TimelineEntry[];
}

/** Without an IAM policy every authenticated caller may do everything (`UNICOP_API_TOKENS`, all or nothing). */
const OPEN: Pick<Guard, 'decide' | 'denied'> = { decide: () => 'allow', denied: () => undefined };

/** Appends a request to the root's stream (the outbox's group commit). */
export type AppendRequest = (draft: DraftEvent) => Promise<{ status: 'accepted' | 'duplicate'; event: { id: string; root: string; sequence: number } }>;

/** The reconciler's view of roots; null when no reconciler runs (no UNICOP_RECONCILE_POLICY). */
export interface ReconcileView {
  record(root: string): RootRecord | null;
  inState(state: ReconcileState, limit: number): RootRecord[];
  attempts(root: string, limit: number): AttemptRow[];
  /** The rule a reconcile request for a root of this type would run under (first match); null = none. */
  ruleFor(rootType: string): ReconcileRule | null;
}

export interface RootsApiDeps {
  source: string;
  index: EventIndex;
  /** The desired-state projection (desired/): the root's current desiredVersion. */
  desired?: { desiredVersion(root: string): string | null };
  append: AppendRequest;
  reconcile: ReconcileView | null;
  /** Whether NetBox holds the object now (`NETBOX_URL` set); null when the receiver cannot ask. */
  /** Whether the root's NetBox (its source's name from the key's prefix; null: the only source) has the object. */
  existsInNetbox: ((source: string | null, objectType: string, id: number) => Promise<boolean>) | null;
  /** With a federation file: the route of a root (its last recorded scope's), for the requests it makes. */
  routeOf?: (root: string) => string;
  now?: () => number;
}

/** `GET /v1/roots/{root}`, `GET /v1/roots/{root}/timeline`, `POST /v1/roots/{root}/reconcile` (openapi/unicop.yaml). */
export function createRootsApi({ source, index, desired, append, reconcile, existsInNetbox, routeOf, now = Date.now }: RootsApiDeps) {
  const recent = new Map<string, { at: number; body: Schemas['ReconcileAccepted'] }>();

  function parseRoot(key: string): { source: string | null; type: string; id: number } {
    const m = ROOT_KEY.exec(key);
    const id = Number(m?.[3]);
    if (!m?.[2] || !Number.isSafeInteger(id)) {
      throw new UnicopError(
        'UNICOP_API_ROOT_INVALID',
        'root must be <app_label>.<model>:<id>, e.g. dcim.device:42 (with several NetBox sources <source>/dcim.device:42)',
      );
    }
    return { source: m[1] ?? null, type: m[2], id };
  }

  /** Whether the receiver holds a record of the root: events in its index, or a reconcile state. */
  function holds(key: string): boolean {
    return index.lastSequence(key) > 0 || reconcile?.record(key) != null;
  }

  /**
   * Refuses the call unless the caller's policy allows `permission` on the root: out of every scope
   * of the caller is `notFound()` — the very answer an unknown root gets, so a 404 says nothing about
   * whether the root exists — and in scope without the permission is 403. Both are audited.
   */
  function authorize(guard: Pick<Guard, 'decide' | 'denied'>, key: string, permission: ApiPermission, notFound: () => UnicopError): void {
    const decision = guard.decide(key, permission);
    if (decision === 'allow') return;
    guard.denied(key, permission, decision);
    if (decision === 'hidden') throw notFound();
    throw new UnicopError('UNICOP_API_FORBIDDEN', `no role of the caller gives ${permission} on ${key}`);
  }

  function notHeld(key: string): UnicopError {
    return new UnicopError('UNICOP_API_ROOT_NOT_FOUND', `no event has been recorded for ${key}`);
  }

  /**
   * The root's last sequence. 0 only for a root the event index lost but the reconciler knows:
   * its state was rebuilt from the state topic after the data directory was lost, and the
   * sequence counter starts again (receiver/README.md, "Losing the data directory").
   */
  function known(key: string): number {
    parseRoot(key);
    if (!holds(key)) throw notHeld(key);
    return index.lastSequence(key);
  }

  /** Would a reconcile request for a root of this type run, and under which job template; if not, why. */
  function policyView(rootType: string): Schemas['RootPolicy'] {
    if (!reconcile) return { matched: false, reason: 'no reconcile policy configured (UNICOP_RECONCILE_POLICY is not set)' };
    const rule = reconcile.ruleFor(rootType);
    if (!rule) return { matched: false, reason: `no rule matches ${rootType}` };
    return { matched: true, jobTemplate: { name: rule.jobTemplate.name, organization: rule.jobTemplate.organization } };
  }

  return {
    /**
     * The root: its event stream position, its reconcile state (resting when never reconciled) and
     * what the reconcile policy says about it. `known: 'any'` answers a root the receiver holds no
     * record of too (`known: false`, resting state, `lastSequence` 0) instead of 404, so a page for
     * an object NetBox has but UNICOP never saw can still say whether a reconcile would run. A root
     * outside the caller's scope is answered as one the receiver holds no record of.
     */
    getRoot(key: string, query: { known?: unknown } = {}, guard: Pick<Guard, 'decide' | 'denied'> = OPEN): Schemas['RootState'] {
      const { type } = parseRoot(key);
      if (query.known !== undefined && query.known !== 'any') throw new UnicopError('UNICOP_API_QUERY_INVALID', 'known may only be "any"');
      let held = query.known === 'any' ? holds(key) : (known(key), true);
      try {
        authorize(guard, key, 'roots:read', () => notHeld(key));
      } catch (error) {
        if (query.known !== 'any' || (error as UnicopError).code !== 'UNICOP_API_ROOT_NOT_FOUND') throw error;
        held = false;
      }
      const lastSequence = held ? index.lastSequence(key) : 0;
      const [lastEvent] = held ? index.timeline(key, null, 1) : [];
      const record = (held ? reconcile?.record(key) : null) ?? restingRecord(key);
      return {
        ...rootView(record),
        lastSequence,
        lastEvent: lastEvent ?? null,
        known: held,
        policy: policyView(type),
        // "Is this root converged?": appliedVersion === desiredVersion.
        desiredVersion: held ? (desired?.desiredVersion(key) ?? null) : null,
        appliedVersion: record.appliedVersion ?? null,
      };
    },

    /**
     * Roots in one reconcile state, most recently changed first (`GET /v1/roots?state=`), only those
     * the caller may read: the store is read in up to three growing pages (limit, 16 × limit, all) until `limit` readable roots are found
     * or the state has no more (a caller who sees little of a big state pays for reading it).
     */
    listRoots(query: { state?: unknown; limit?: unknown }, guard: Pick<Guard, 'decide'> = OPEN): Schemas['RootList'] {
      if (!reconcile) throw new UnicopError('UNICOP_RECONCILE_DISABLED', 'no reconciler runs: set UNICOP_RECONCILE_POLICY');
      const limit = query.limit === undefined ? 100 : Number(query.limit);
      if (
        typeof query.state !== 'string' ||
        !(RECONCILE_STATES as readonly string[]).includes(query.state) ||
        !Number.isInteger(limit) ||
        limit < 1 ||
        limit > 1000
      ) {
        throw new UnicopError('UNICOP_API_QUERY_INVALID', `state must be one of ${RECONCILE_STATES.join(', ')}; limit 1..1000`);
      }
      const state = query.state as ReconcileState;
      let items: RootRecord[] = [];
      for (const size of [limit, limit * 16, Number.MAX_SAFE_INTEGER]) {
        const page = reconcile.inState(state, size);
        items = page.filter((r) => guard.decide(r.root, 'roots:read') === 'allow');
        if (items.length >= limit || page.length < size) break;
      }
      return { state, items: items.slice(0, limit).map(rootView) };
    },

    /** Newest first; `before` is a sequence from an earlier page's `next`. */
    getTimeline(key: string, query: { limit?: unknown; before?: unknown }, guard: Pick<Guard, 'decide' | 'denied'> = OPEN): Schemas['Timeline'] {
      known(key);
      authorize(guard, key, 'roots:read', () => notHeld(key));
      const limit = query.limit === undefined ? 50 : Number(query.limit);
      const before = query.before === undefined ? null : Number(query.before);
      if (!Number.isInteger(limit) || limit < 1 || limit > TIMELINE_MAX || (before !== null && (!Number.isInteger(before) || before < 1))) {
        throw new UnicopError('UNICOP_API_QUERY_INVALID', `limit must be 1..${TIMELINE_MAX}, before a positive sequence`);
      }
      const items = index.timeline(key, before, limit);
      const last = items[items.length - 1];
      const reconciles = before === null && reconcile ? reconcile.attempts(key, 20).map(attemptView) : [];
      return { root: key, items, next: items.length === limit && last && last.sequence > 1 ? last.sequence : null, reconciles };
    },

    /**
     * Puts a `unicop.reconcile.requested` event into the root's stream — only for a known root: one
     * the receiver holds a record of, or, with `NETBOX_URL`, one NetBox confirms (a device created
     * before UNICOP was installed). An `Idempotency-Key` makes a repeated press (double click,
     * retried script) the same request; without one, the same caller and root within
     * `RECONCILE_DEDUPE_WINDOW_MS` are.
     */
    async requestReconcile(
      key: string,
      body: unknown,
      caller: string,
      idempotencyKey: string | undefined,
      onBehalfOf: string | null = null,
      guard: Pick<Guard, 'decide' | 'denied'> = OPEN,
    ): Promise<{ status: 202 | 200; body: Schemas['ReconcileAccepted'] }> {
      const { source: netboxSource, type, id } = parseRoot(key);
      const reason = readReason(body);
      if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 200)) {
        throw new UnicopError('UNICOP_API_QUERY_INVALID', 'Idempotency-Key must be 1..200 characters');
      }
      const unknown = () => new UnicopError('UNICOP_API_ROOT_NOT_FOUND', `${key} is not known here${existsInNetbox ? ' and NetBox does not have it' : ''}`);
      // Decided before NetBox is asked: an out-of-scope caller learns nothing, not even from timing, about NetBox.
      authorize(guard, key, 'roots:reconcile', unknown);
      if (index.lastSequence(key) === 0 && !reconcile?.record(key) && !(await existsInNetbox?.(netboxSource, type, id))) throw unknown();
      // The same service token acts for many people: one person's press is not another's duplicate.
      const dedupeKey = `${caller}\n${onBehalfOf ?? ''}\n${key}`;
      if (idempotencyKey === undefined) {
        const earlier = recentRequest(dedupeKey);
        if (earlier) return { status: 200, body: { ...earlier, result: 'duplicate' } };
      }
      const eventId = idempotencyKey ? uuidv5(`${source}\n${key}\n${idempotencyKey}`, REQUEST_ID_NAMESPACE) : randomUUID();
      const result = await append({
        versionKey: null,
        envelope: {
          specversion: '1.0',
          id: eventId,
          source,
          type: EVENT_TYPES.reconcileRequested,
          subject: key,
          time: new Date().toISOString(),
          datacontenttype: 'application/json',
          dataschema: EVENT_DATASCHEMA,
          partitionkey: key,
          data: {
            action: 'reconcile',
            root: { type, id, key },
            reason,
            requestedBy: caller,
            actor: { user: onBehalfOf, principal: caller },
            superseded: false,
            ...(routeOf && { route: routeOf(key) }),
          },
        },
      });
      const answer = { result: result.status, id: result.event.id, root: key, sequence: result.event.sequence };
      if (idempotencyKey === undefined) recent.set(dedupeKey, { at: now(), body: answer });
      return { status: result.status === 'accepted' ? 202 : 200, body: answer };
    },
  };

  /** The request this caller made for this root within the window; forgets expired ones (oldest first). */
  function recentRequest(dedupeKey: string): Schemas['ReconcileAccepted'] | undefined {
    const horizon = now() - RECONCILE_DEDUPE_WINDOW_MS;
    for (const [k, v] of recent) {
      if (v.at > horizon && recent.size <= DEDUPE_MAX_ENTRIES) break;
      recent.delete(k);
    }
    return recent.get(dedupeKey)?.body;
  }
}

export type RootsApi = ReturnType<typeof createRootsApi>;

/** One reconcile attempt as the timeline shows it: the command and, once known, its outcome. */
function attemptView(a: AttemptRow): Schemas['ReconcileAttempt'] {
  return {
    reconcileId: a.reconcileId,
    attempt: a.attempt,
    requestedAt: new Date(a.requestedAt).toISOString(),
    deadline: new Date(a.deadlineAt).toISOString(),
    awxJobId: a.awxJobId,
    outcome: a.outcome,
  };
}

function readReason(body: unknown): string | null {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) return null;
  const reason = (body as { reason?: unknown }).reason;
  const extra = typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).filter((k) => k !== 'reason') : ['(not an object)'];
  if (extra.length > 0 || (reason !== undefined && (typeof reason !== 'string' || reason.length > 500))) {
    throw new UnicopError('UNICOP_API_BODY_INVALID', 'the body may only hold {"reason": "<up to 500 characters>"}', {
      details: extra.map((k) => ({ pointer: `/${k}`, message: 'unexpected property' })),
    });
  }
  return typeof reason === 'string' ? reason : null;
}
