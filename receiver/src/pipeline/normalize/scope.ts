import type { Scope } from '../../model/event.js';
import type { JsonObject } from '../../model/netbox-webhook.js';

/**
 * Tenant, site and region slugs as far as the object's own REST body tells them. NetBox's brief
 * nested objects carry `slug`; a site's region or a device component's site are not in the body,
 * so they stay null unless the NetBox plugin's `context.unicop.scope` supplies them.
 */
export function scopeOf(objectType: string, data: JsonObject): Scope {
  const scoped = typeof data.scope_type === 'string' ? data.scope_type : null;
  return {
    tenant: slugOf(data.tenant),
    site: objectType === 'dcim.site' ? stringOrNull(data.slug) : (slugOf(data.site) ?? (scoped === 'dcim.site' ? slugOf(data.scope) : null)),
    region: objectType === 'dcim.region' ? stringOrNull(data.slug) : (slugOf(data.region) ?? (scoped === 'dcim.region' ? slugOf(data.scope) : null)),
  };
}

function slugOf(nested: unknown): string | null {
  if (nested === null || typeof nested !== 'object') return null;
  return stringOrNull((nested as JsonObject).slug);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
