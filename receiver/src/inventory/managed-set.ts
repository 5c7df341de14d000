import type { ObjectEventData, Scope } from '../model/event.js';
import { scopeMatches, type RootScope } from '../iam/root-scope.js';
import type { InventoryPolicy } from './inventory-policy.js';

/** What decides membership of the managed set: the object's type, the event's scope and the object's tags. */
export type MembershipInput = Pick<ObjectEventData, 'object' | 'scope' | 'current'>;

/** Whether one object is in the managed set. */
export type ManagedSet = (data: MembershipInput) => boolean;

/**
 * The managed set of a policy (docs/inventory.md): the object's type is listed, its scope matches
 * `managed.scope` when one is given, and it carries one of `managed.tags` when they are given.
 * The scope is the event's `data.scope` (regions covering descendants through `data.scope.regions`,
 * as in the IAM policy); the tags are the object's own, from `data.current.tags`.
 */
export function compileManagedSet(policy: InventoryPolicy): ManagedSet {
  const types = new Set(policy.managed.objectTypes);
  const { scope, tags } = policy.managed;
  const wanted = tags ? new Set(tags) : null;
  return (data) => {
    if (!types.has(data.object.type)) return false;
    if (scope !== undefined && !scopeMatches(scope, rootScopeOf(data.scope))) return false;
    return wanted === null || tagsOf(data.current).some((t) => wanted.has(t));
  };
}

/** An event's scope as the IAM matcher reads it: a missing ancestry is the region alone (the envelope says so). */
export function rootScopeOf(scope: Scope): RootScope {
  return { tenant: scope.tenant, site: scope.site, regions: scope.regions ?? (scope.region === null ? [] : [scope.region]) };
}

/**
 * Tag slugs of a NetBox object: its REST form nests `{slug, name, …}`; a changelog snapshot
 * (`serialize_object`) lists tag names, compared as they are (a name equal to its slug matches).
 */
export function tagsOf(current: Record<string, unknown>): string[] {
  const tags = current.tags;
  if (!Array.isArray(tags)) return [];
  return tags.flatMap((t: unknown) => {
    if (typeof t === 'string') return [t];
    const slug = t !== null && typeof t === 'object' ? (t as { slug?: unknown }).slug : undefined;
    return typeof slug === 'string' ? [slug] : [];
  });
}
