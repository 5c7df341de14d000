import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import type { IamMetrics } from './iam-metrics.js';
import type { Permission } from './iam-policy.js';
import type { RootScope } from './root-scope.js';

export const AUDIT_DATASCHEMA = 'https://unicop.dev/schemas/audit.v1.schema.json';
export const AUDIT_TYPE = 'unicop.audit.decision';
/** At most one deny message per (principal, code) in this window; the rest are only counted. */
export const DENY_WINDOW_MS = 1000;
const WINDOW_KEYS_MAX = 10_000;

/** What was asked: a permission of the API, or the policy reload. */
export type AuditAction = Exclude<Permission, '*'> | 'iam:policy-reload';

/** One access decision or mutating call (`schemas/audit.v1.schema.json`, `data`). Never a token or its hash. */
export interface AuditRecord {
  principal: string;
  action: AuditAction;
  /** The root key; null for the policy reload. */
  target: string | null;
  /** The root's recorded scope; null when none is recorded (or no root is involved). */
  scope: RootScope | null;
  decision: 'allow' | 'deny';
  reason: string;
  code: string | null;
  requestId?: string;
}

export interface AuditTrailDeps {
  source: string;
  /** Stores one message for `<prefix>.audit.v1` durably (the outbox) — throws when it cannot. */
  write: (key: string, id: string, value: string) => void;
  metrics: Pick<IamMetrics, 'audit'>;
  log: Logger;
  now?: () => number;
}

export type AuditTrail = (record: AuditRecord) => void;

/**
 * Audit messages through the outbox, so they are as durable and ordered (per principal) as events.
 * Denies of one principal with one code are kept to one per second — an unauthenticated flood is
 * `anonymous` with a handful of codes, so it cannot fill the outbox; the rest are counted
 * (`unicop_audit_messages_total{result="suppressed"}`). Allowed mutating calls are never suppressed.
 * A failed write is logged and counted, never turned into the caller's error (the decision stands).
 */
export function createAuditTrail(deps: AuditTrailDeps): AuditTrail {
  const now = deps.now ?? Date.now;
  const lastDeny = new Map<string, number>();

  function suppressed(key: string, at: number): boolean {
    const last = lastDeny.get(key);
    if (last !== undefined && at - last < DENY_WINDOW_MS) return true;
    if (lastDeny.size >= WINDOW_KEYS_MAX) {
      for (const [k, t] of lastDeny) if (at - t >= DENY_WINDOW_MS) lastDeny.delete(k);
      if (lastDeny.size >= WINDOW_KEYS_MAX) lastDeny.clear();
    }
    lastDeny.set(key, at);
    return false;
  }

  return (record) => {
    const at = now();
    if (record.decision === 'deny' && suppressed(`${record.principal}\n${record.code ?? ''}`, at)) {
      deps.metrics.audit('deny', 'suppressed');
      return;
    }
    const id = randomUUID();
    const time = new Date(at).toISOString();
    const message = {
      specversion: '1.0',
      id,
      source: deps.source,
      type: AUDIT_TYPE,
      subject: record.target ?? record.action,
      time,
      datacontenttype: 'application/json',
      dataschema: AUDIT_DATASCHEMA,
      data: { ...record, scope: record.scope && { tenant: record.scope.tenant, site: record.scope.site, regions: [...record.scope.regions] }, at: time },
    };
    try {
      deps.write(record.principal, id, JSON.stringify(message));
      deps.metrics.audit(record.decision, 'queued');
    } catch (err) {
      deps.metrics.audit(record.decision, 'failed');
      deps.log.error({ err, action: record.action, decision: record.decision, code: record.code }, 'audit message not stored');
    }
  };
}
