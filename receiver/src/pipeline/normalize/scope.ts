import type { Scope } from '../../model/event.js';
import type { JsonObject } from '../../model/netbox-webhook.js';

/**
 * Tenant, site and region slugs as far as the object's own REST body tells them. NetBox's brief
 * nested objects carry `slug`; a site's region or a device component's site are not in the body,
 * so they stay null unless the NetBox plugin's `context.unicop.scope` supplies them.
 */
export function scopeOf(objectType: string, data: JsonObject): Scope {
  const scoped = typeof data.scope_type === 'string' ? data.scope_type : null;
  const region = objectType === 'dcim.region' ? stringOrNull(data.slug) : (slugOf(data.region) ?? (scoped === 'dcim.region' ? slugOf(data.scope) : null));
  return {
    tenant: slugOf(data.tenant),
    site: objectType === 'dcim.site' ? stringOrNull(data.slug) : (slugOf(data.site) ?? (scoped === 'dcim.site' ? slugOf(data.scope) : null)),
    region,
    regions: ancestryOf(region, undefined),
  };
}

/** No scope known (a recovered delete whose object NetBox no longer has). */
export const NO_SCOPE: Scope = Object.freeze({ tenant: null, site: null, region: null, regions: [] });

/**
 * The region's ancestry (`data.scope.regions`): the plugin's list when it gives one that starts
 * with the region, else just the region — the body names no parents. A list that does not start
 * with the region describes another region and is ignored.
 */
export function ancestryOf(region: string | null, fromContext: readonly string[] | undefined): string[] {
  if (region === null) return [];
  return fromContext !== undefined && fromContext[0] === region ? [...fromContext] : [region];
}

function slugOf(nested: unknown): string | null {
  if (nested === null || typeof nested !== 'object') return null;
  return stringOrNull((nested as JsonObject).slug);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
