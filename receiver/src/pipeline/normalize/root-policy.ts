import { readFileSync } from 'node:fs';
import { UnicopError } from '../../errors.js';
import type { RootRef } from '../../model/event.js';
import type { SchemaRegistry } from '../../schema-registry.js';

/** `schemas/root-policy.schema.json`. */
export interface RootPolicy {
  description?: string;
  version: 1;
  rules: RootRule[];
}
export interface RootRule {
  objectType: string;
  when?: { path: string; equals: string | number | boolean | null };
  root?: Reference;
  related?: Reference[];
}
interface Reference {
  type: string;
  idPath: string;
}

export interface RootResolution {
  root: RootRef;
  related: RootRef[];
}

/** Reads and validates a policy file; every problem stops start-up (`UNICOP_POLICY_INVALID`). */
export function loadRootPolicy(path: string, registry: SchemaRegistry): RootPolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new UnicopError('UNICOP_POLICY_INVALID', `root policy ${path} is not readable JSON`, { cause });
  }
  const isPolicy = registry.validator<RootPolicy>('root-policy.schema.json');
  if (!isPolicy(parsed)) {
    throw new UnicopError('UNICOP_POLICY_INVALID', `root policy ${path} does not match its schema`, {
      details: registry.lastErrors('root-policy.schema.json'),
    });
  }
  return parsed;
}

export function rootKey(type: string, id: number): string {
  return `${type}:${id}`;
}

export function rootRef(type: string, id: number): RootRef {
  return { type, id, key: rootKey(type, id) };
}

/**
 * Resolves an object's root from its REST representation. The first rule for the object type whose
 * `when` holds decides; a path that does not lead to a positive integer id leaves the object as
 * its own root (an unassigned IP address, say), never an error.
 */
export function createRootResolver(policy: RootPolicy): (objectType: string, id: number, data: unknown) => RootResolution {
  const byType = new Map<string, RootRule[]>();
  for (const rule of policy.rules) {
    byType.set(rule.objectType, [...(byType.get(rule.objectType) ?? []), rule]);
  }
  return (objectType, id, data) => {
    const self = rootRef(objectType, id);
    const rule = byType.get(objectType)?.find((r) => !r.when || valuesAt(data, r.when.path)[0] === r.when.equals);
    if (!rule) return { root: self, related: [] };
    const rootId = rule.root ? valuesAt(data, rule.root.idPath).find(isId) : undefined;
    const root = rule.root && rootId !== undefined ? rootRef(rule.root.type, rootId) : self;
    const related = new Map<string, RootRef>();
    for (const ref of rule.related ?? []) {
      for (const value of valuesAt(data, ref.idPath).filter(isId)) {
        const r = rootRef(ref.type, value);
        if (r.key !== root.key) related.set(r.key, r);
      }
    }
    return { root, related: [...related.values()] };
  };
}

function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

/** Every value a policy path reaches; `[]` after a segment walks each array element. */
export function valuesAt(data: unknown, path: string): unknown[] {
  let current: unknown[] = [data];
  for (const segment of path.split('.')) {
    const walk = segment.endsWith('[]');
    const name = walk ? segment.slice(0, -2) : segment;
    const next: unknown[] = [];
    for (const value of current) {
      // A foreign key serialized as its bare id (NetBox's changelog format) stands for `{id}`.
      if (name === 'id' && !walk && typeof value === 'number') {
        next.push(value);
        continue;
      }
      if (value === null || typeof value !== 'object' || !Object.hasOwn(value, name)) continue;
      const inner = (value as Record<string, unknown>)[name];
      if (walk) {
        if (Array.isArray(inner)) next.push(...(inner as unknown[]));
      } else {
        next.push(inner);
      }
    }
    current = next;
  }
  return current;
}
