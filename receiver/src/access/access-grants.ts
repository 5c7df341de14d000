import { v5 as uuidv5 } from 'uuid';
import type { Db } from '../database.js';
import type { AccessV1 } from '../generated/access.v1.js';
import type { IamPolicy } from '../generated/iam-policy.js';
import type { AuditTrail } from '../iam/audit-trail.js';
import type { Logger } from '../log.js';
import type { EventEnvelope } from '../model/event.js';
import type { OutboxStore } from '../pipeline/outbox/outbox-store.js';
import { every, type Schedule } from '../retry/schedule.js';
import { ACCESS_GRANT_TYPE, parseGrant, type Grant } from './grant.js';

/** Namespace of access message ids: UUIDv5 of `<grant id>\n<kind>` (never changes). */
const ACCESS_MESSAGE_NAMESPACE = '0c2b8f1e-7d4a-4b6e-a3f9-5e1d2c7b9a40';
export const ACCESS_DATASCHEMA: AccessV1['dataschema'] = 'https://unicop.dev/schemas/access.v1.schema.json';
/** How often the schedule looks for grants that reached their expiry. */
export const EXPIRY_CHECK_MS = 1000;

type Kind = 'granted' | 'revoked' | 'expired';
type State = 'active' | Exclude<Kind, 'granted'> | 'refused';
export type IamBinding = IamPolicy['bindings'][number];

export interface AccessMetrics {
  /** A grant moved: granted, revoked, expired or refused. */
  changed(kind: Kind | 'refused'): void;
  active(n: number): void;
}

export interface AccessGrantsOptions {
  db: Db;
  outbox: Pick<OutboxStore, 'insertMessage' | 'transaction'>;
  /** CloudEvents `source` of the messages (UNICOP_SOURCE). */
  source: string;
  maxMs: number;
  validScope: Parameters<typeof parseGrant>[3];
  /** New outbox rows committed by the expiry schedule (wakes the relay). */
  onCommit: (rows: number) => void;
  metrics: AccessMetrics;
  /** Every grant, revoke and refusal is also an access decision (`unicop.audit.v1`). */
  audit: AuditTrail;
  log: Logger;
  now?: () => number;
}

/**
 * Temporary access (ARCHITECTURE.md, "Identity and access"): the plugin's AccessGrant objects reach
 * the receiver as NetBox events like any object; `project` turns them, in the transaction that
 * stores the event, into a grant row and one `unicop.access.granted|revoked` message; the expiry
 * schedule turns an active grant whose time is up into one `unicop.access.expired`, also in one
 * transaction — so each happens exactly once, across restarts and whatever order NetBox's webhooks
 * arrive in. A grant counts as a binding only while `now < expiresAt`, checked on every call: it
 * stops being honoured at its expiry even while the schedule has not run yet (a receiver stopped
 * across the expiry publishes `expired` at its first round after start-up).
 */
export class AccessGrants {
  private readonly q;
  private readonly now: () => number;
  private schedule: Schedule | null = null;

  constructor(private readonly options: AccessGrantsOptions) {
    this.now = options.now ?? Date.now;
    const { db } = options;
    this.q = {
      get: db.prepare<[string], { state: State; grant_json: string; expires_at: number | null }>(
        'SELECT state, grant_json, expires_at FROM access_grants WHERE grant_id = ?',
      ),
      put: db.prepare<[string, State, string, number | null, number]>(
        `INSERT INTO access_grants (grant_id, state, grant_json, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(grant_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      ),
      due: db.prepare<[number], { grant_id: string; grant_json: string }>(
        "SELECT grant_id, grant_json FROM access_grants WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT 500",
      ),
      active: db.prepare<[number], { grant_json: string }>("SELECT grant_json FROM access_grants WHERE state = 'active' AND expires_at > ?"),
    };
  }

  /**
   * In the event's own transaction (the group commit's projection): what an AccessGrant event means
   * for the grant. Returns the outbox rows it added. A `created` and a `deleted` may arrive in either
   * order (NetBox does not order webhooks): the first event of a grant records it, a delete before
   * its expiry revokes it; anything later about a grant that ended changes nothing. An `updated`
   * changes nothing either: grants are immutable (the plugin refuses edits; revoke and grant anew).
   */
  project(event: EventEnvelope, now: number): number {
    const { data } = event;
    if (!('object' in data) || data.object.type !== ACCESS_GRANT_TYPE || data.action === 'updated') return 0;
    const grantId = event.subject;
    const row = this.q.get.get(grantId);
    let rows = 0;
    let grant: Grant;
    if (row) {
      if (row.state !== 'active' || data.action !== 'deleted') return 0;
      grant = JSON.parse(row.grant_json) as Grant;
    } else {
      const parsed = parseGrant(grantId, data.current, this.options.maxMs, this.options.validScope);
      if (!parsed.ok) {
        this.q.put.run(grantId, 'refused', JSON.stringify({ grantId, refused: parsed.reason, current: data.current }), null, now);
        this.options.metrics.changed('refused');
        this.options.log.warn({ grantId, eventId: event.id, reason: parsed.reason }, 'access grant refused: not honoured');
        const grantedBy = (data.current.granted_by as { username?: unknown } | null)?.username;
        this.options.audit({
          principal: `user:${typeof grantedBy === 'string' && grantedBy !== '' ? grantedBy : 'unknown'}`,
          action: 'access:grant',
          target: grantId,
          scope: null,
          decision: 'deny',
          reason: parsed.reason,
          code: 'UNICOP_ACCESS_GRANT_REFUSED',
          requestId: event.id,
        });
        return 0;
      }
      grant = parsed.grant;
      this.q.put.run(grantId, 'active', JSON.stringify(grant), grant.expiresAt, now);
      rows += this.message('granted', grant, event.id, now);
    }
    // A delete after the grant's expiry is not a revoke: the schedule publishes `expired` for it.
    if (data.action === 'deleted' && Date.parse(event.time) < grant.expiresAt) {
      this.q.put.run(grantId, 'revoked', JSON.stringify(grant), grant.expiresAt, now);
      rows += this.message('revoked', grant, event.id, now);
    }
    return rows;
  }

  /** The bindings active grants add to the IAM policy at `now`. */
  activeBindings(now: number = this.now()): IamBinding[] {
    return this.q.active.all(now).map(({ grant_json }) => {
      const g = JSON.parse(grant_json) as Grant;
      const subjects = g.subject.kind === 'user' ? { users: [g.subject.name] } : { groups: [g.subject.name] };
      return { subjects, role: g.role, scope: g.scope, description: `temporary grant ${g.grantId}` } as IamBinding;
    });
  }

  /** Ends every active grant whose expiry has come, each with its `expired` message, in one transaction. */
  expireDue(now: number = this.now()): number {
    const rows = this.options.outbox.transaction(() => {
      let n = 0;
      for (const due of this.q.due.all(now)) {
        const grant = JSON.parse(due.grant_json) as Grant;
        this.q.put.run(due.grant_id, 'expired', due.grant_json, grant.expiresAt, now);
        n += this.message('expired', grant, null, now);
      }
      return n;
    });
    if (rows > 0) this.options.onCommit(rows);
    this.options.metrics.active(this.q.active.all(now).length);
    return rows;
  }

  start(): void {
    this.schedule = every({
      everyMs: EXPIRY_CHECK_MS,
      firstMs: 0,
      round: () => {
        try {
          this.expireDue();
        } catch (error) {
          // The next round tries again; the grant is not honoured meanwhile (activeBindings checks the time).
          this.options.log.error({ err: error }, 'access grant expiry failed; retrying at the next round');
        }
      },
    });
  }

  async stop(): Promise<void> {
    await this.schedule?.stop();
    this.schedule = null;
  }

  private message(kind: Kind, grant: Grant, eventId: string | null, now: number): number {
    const message: AccessV1 = {
      specversion: '1.0',
      id: uuidv5(`${grant.grantId}\n${kind}`, ACCESS_MESSAGE_NAMESPACE),
      source: this.options.source,
      type: `unicop.access.${kind}`,
      subject: grant.grantId,
      // An expiry happened at the grant's end, even when a stopped receiver publishes it later.
      time: new Date(kind === 'expired' ? grant.expiresAt : now).toISOString(),
      datacontenttype: 'application/json',
      dataschema: ACCESS_DATASCHEMA,
      data: {
        grantId: grant.grantId,
        subject: grant.subject,
        role: grant.role,
        scope: grant.scope,
        reason: grant.reason,
        expiresAt: new Date(grant.expiresAt).toISOString(),
        grantedBy: grant.grantedBy,
        cause: { eventId },
      },
    };
    this.options.outbox.insertMessage('access', grant.grantId, message.id, JSON.stringify(message), now);
    this.options.metrics.changed(kind);
    // Expiry is the schedule's, not a person's decision: only a grant and a revoke are audited.
    if (kind !== 'expired') {
      const { subject, role, scope, expiresAt, reason } = grant;
      this.options.audit({
        principal: `user:${grant.grantedBy ?? 'unknown'}`,
        action: 'access:grant',
        target: grant.grantId,
        scope: null,
        decision: 'allow',
        reason: `${kind} ${role} on ${JSON.stringify(scope)} to ${subject.kind} ${subject.name} until ${new Date(expiresAt).toISOString()}: ${reason}`.slice(
          0,
          500,
        ),
        code: null,
        ...(eventId === null ? {} : { requestId: eventId }),
      });
    }
    return 1;
  }
}
