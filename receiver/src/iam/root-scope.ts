import type { Scope } from '../generated/iam-policy.js';

/**
 * A root's latest scope, recorded with its events (outbox `root_scopes`): slugs, and the region's
 * ancestry, region first. Null where the receiver recorded none.
 */
export interface RootScope {
  tenant: string | null;
  site: string | null;
  regions: readonly string[];
}

/**
 * Whether a binding's scope covers a root: `"*"`, or any listed tenant, site or region is the
 * root's. A region covers its descendants because the root's `regions` lists every ancestor. A root
 * without a recorded scope is covered by `"*"` alone: nothing says where it is.
 */
export function scopeMatches(scope: Scope, root: RootScope | null): boolean {
  if (scope === '*') return true;
  if (root === null) return false;
  return (
    (root.tenant !== null && (scope.tenants?.includes(root.tenant) ?? false)) ||
    (root.site !== null && (scope.sites?.includes(root.site) ?? false)) ||
    (scope.regions?.some((r) => root.regions.includes(r)) ?? false)
  );
}
