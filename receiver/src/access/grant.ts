import type { Scope as IamScope } from '../generated/iam-policy.js';
import type { JsonObject } from '../model/netbox-webhook.js';

/** The NetBox object type of the plugin's AccessGrant model. */
export const ACCESS_GRANT_TYPE = 'unicop_netbox.accessgrant';

/** A temporary grant as the receiver honours it: one extra IAM binding until `expiresAt`. */
export interface Grant {
  grantId: string;
  subject: { kind: 'user' | 'group'; name: string };
  role: string;
  scope: IamScope;
  reason: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Epoch ms: NetBox's `created` of the grant (its REST representation). */
  createdAt: number;
  grantedBy: string | null;
}

export type ParsedGrant = { ok: true; grant: Grant } | { ok: false; reason: string };

/**
 * Reads a grant from its NetBox REST representation (`data.current` of the grant's event): `user`
 * {username} or `group` {name} — exactly one —, `role`, `scope`, `reason`, `expires_at`, `created`,
 * `granted_by` {username}. Refuses a grant that ends before it begins or lasts longer than `maxMs`
 * (the plugin refuses both too; the receiver does not trust that it did).
 */
export function parseGrant(grantId: string, rest: JsonObject, maxMs: number, validScope: (scope: unknown) => scope is IamScope): ParsedGrant {
  const user = nested(rest.user, 'username');
  const group = nested(rest.group, 'name');
  if ((user === null) === (group === null)) return refuse('names both a user and a group, or neither');
  const { role, scope, reason } = rest;
  if (typeof role !== 'string' || role === '') return refuse('has no role');
  if (!validScope(scope)) return refuse('has no valid scope ("*" or {tenants|sites|regions: [slugs]})');
  const expiresAt = Date.parse(String(rest.expires_at));
  const createdAt = Date.parse(String(rest.created));
  if (!Number.isFinite(expiresAt) || !Number.isFinite(createdAt)) return refuse('has no valid expires_at or created time');
  if (expiresAt <= createdAt) return refuse('expires before it was created');
  if (expiresAt - createdAt > maxMs) return refuse(`lasts longer than UNICOP_ACCESS_GRANT_MAX_S (${maxMs / 1000} s)`);
  return {
    ok: true,
    grant: {
      grantId,
      subject: user !== null ? { kind: 'user', name: user } : { kind: 'group', name: group! },
      role,
      scope,
      reason: typeof reason === 'string' ? reason : '',
      expiresAt,
      createdAt,
      grantedBy: nested(rest.granted_by, 'username'),
    },
  };
}

function refuse(why: string): ParsedGrant {
  return { ok: false, reason: `the grant ${why}` };
}

function nested(value: unknown, field: string): string | null {
  if (value === null || typeof value !== 'object') return null;
  const name = (value as JsonObject)[field];
  return typeof name === 'string' && name !== '' ? name : null;
}
