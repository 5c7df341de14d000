import type { RootPolicy } from '../pipeline/normalize/root-policy.js';

/**
 * The object types a snapshot reads when none are configured: the root types the policy names,
 * then the object types its rules match (roots first, so a root's repair precedes its components').
 * The inventory policy's `objectTypes` replace this list once it exists (UNICOP_SNAPSHOT_OBJECT_TYPES).
 */
export function managedObjectTypes(policy: RootPolicy): string[] {
  const roots = policy.rules.flatMap((rule) => (rule.root ? [rule.root.type] : []));
  const objects = policy.rules.map((rule) => rule.objectType);
  return [...new Set([...roots, ...objects])];
}
