import type { RootPolicy } from '../pipeline/normalize/root-policy.js';

/**
 * The object types a snapshot reads when none are configured: the root types the policy names,
 * then the object types its rules match (roots first, so a root's repair precedes its components').
 * With an inventory policy (UNICOP_INVENTORY_POLICY) its `managed.objectTypes` are the list, in the same
 * order: root types first. UNICOP_SNAPSHOT_OBJECT_TYPES, when set, overrides both.
 */
export function managedObjectTypes(policy: RootPolicy, inventoryTypes: readonly string[] | null = null): string[] {
  const roots = policy.rules.flatMap((rule) => (rule.root ? [rule.root.type] : []));
  const objects = policy.rules.map((rule) => rule.objectType);
  const byPolicy = [...new Set([...roots, ...objects])];
  if (inventoryTypes === null) return byPolicy;
  const rank = (type: string) => (byPolicy.includes(type) ? byPolicy.indexOf(type) : byPolicy.length);
  return [...inventoryTypes].sort((a, b) => rank(a) - rank(b));
}
