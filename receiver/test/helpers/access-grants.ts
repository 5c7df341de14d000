import { randomUUID } from 'node:crypto';

export interface GrantBodyOptions {
  id: number;
  action: 'created' | 'updated' | 'deleted';
  /** Epoch ms; the grant's `created` and the webhook's timestamp are `createdAt`. */
  createdAt: number;
  expiresAt: number;
  user?: string;
  group?: string;
  role?: string;
  scope?: unknown;
  /** When the change happened (a delete's time); `createdAt` by default. */
  at?: number;
}

/**
 * A NetBox 4.7 webhook body for the plugin's AccessGrant (`unicop_netbox.accessgrant`), shaped as
 * NetBox sends it for plugin models: the REST representation in `data` (what the receiver reads),
 * the model snapshots beside it.
 */
export function grantWebhookBody(o: GrantBodyOptions): Record<string, unknown> {
  const at = new Date(o.at ?? o.createdAt).toISOString();
  const rest = {
    id: o.id,
    url: `/api/plugins/unicop/access-grants/${o.id}/`,
    display_url: `/plugins/unicop/access-grants/${o.id}/`,
    display: `grant ${o.id}`,
    user: o.user === undefined ? null : { id: 7, url: '/api/users/users/7/', display: o.user, username: o.user },
    group: o.group === undefined ? null : { id: 3, url: '/api/users/groups/3/', display: o.group, name: o.group },
    role: o.role ?? 'operator',
    scope: o.scope ?? { sites: ['dc1'] },
    reason: 'incident 4711',
    expires_at: new Date(o.expiresAt).toISOString(),
    granted_by: { id: 1, url: '/api/users/users/1/', display: 'admin', username: 'admin' },
    created: new Date(o.createdAt).toISOString(),
    last_updated: new Date(o.createdAt).toISOString(),
  };
  const snapshot = { role: rest.role, scope: rest.scope, reason: rest.reason, expires_at: rest.expires_at };
  return {
    event: o.action,
    timestamp: at,
    object_type: 'unicop_netbox.accessgrant',
    data: rest,
    request: grantRequest(o.action),
    snapshots: { prechange: o.action === 'created' ? null : snapshot, postchange: o.action === 'deleted' ? null : snapshot },
  };
}

/** The `request` NetBox puts in a webhook body: a new request id each time. */
export function grantRequest(action: GrantBodyOptions['action']): Record<string, unknown> {
  const path = '/api/plugins/unicop/access-grants/';
  return { id: randomUUID(), path, path_info: path, method: action === 'deleted' ? 'DELETE' : 'POST', GET: {}, user: 'admin' };
}
