import type { UnicopContext } from '../../generated/unicop-context.js';
import type { Scope } from '../../model/event.js';
import type { JsonObject } from '../../model/netbox-webhook.js';

/** What the unicop_netbox plugin's webhook callback adds as `context.unicop` (schemas/unicop-context.schema.json). */
export type { UnicopContext } from '../../generated/unicop-context.js';

const ROOT_KEY = /^([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*):([1-9][0-9]{0,17})$/;

/** The plugin's context, when the body has one; the schema already checked its shape. */
export function unicopContextOf(context: JsonObject | undefined): UnicopContext | null {
  const unicop = context?.unicop;
  return unicop !== null && typeof unicop === 'object' ? (unicop as UnicopContext) : null;
}

export function parseRootKey(key: string): { type: string; id: number } | null {
  const m = ROOT_KEY.exec(key);
  if (!m?.[1] || !m[2]) return null;
  const id = Number(m[2]);
  return Number.isSafeInteger(id) ? { type: m[1], id } : null;
}

/** Context values win where they are set: the plugin reads the ORM, the body only brief objects. */
export function mergeScope(own: Scope, fromContext: Partial<Scope> | undefined): Scope {
  return {
    tenant: fromContext?.tenant ?? own.tenant,
    site: fromContext?.site ?? own.site,
    region: fromContext?.region ?? own.region,
  };
}
