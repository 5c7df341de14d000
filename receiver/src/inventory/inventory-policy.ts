import { readFileSync } from 'node:fs';
import { UnicopError, type ErrorDetail } from '../errors.js';
import type { InventoryPolicy } from '../generated/inventory-policy.js';
import type { SchemaRegistry } from '../schema-registry.js';

export type { InventoryPolicy } from '../generated/inventory-policy.js';
export type InventoryCap = NonNullable<InventoryPolicy['caps']>[number];
export type CapScope = InventoryCap['scope'];

const SCHEMA = 'inventory-policy.schema.json';

/**
 * Reads `UNICOP_INVENTORY_POLICY`: its schema and what a schema cannot say (two caps on one scope
 * would make the smaller one the only one that counts, which is never what was meant). Every
 * problem of both kinds is listed in one `UNICOP_POLICY_INVALID`, so one failed start shows all.
 */
export function loadInventoryPolicy(path: string, registry: SchemaRegistry): InventoryPolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new UnicopError('UNICOP_POLICY_INVALID', `inventory policy ${path} is not readable JSON`, {
      cause,
      details: [{ pointer: '/', message: (cause as NodeJS.ErrnoException).code ?? 'not JSON' }],
    });
  }
  const isPolicy = registry.validator<InventoryPolicy>(SCHEMA);
  const problems = isPolicy(parsed) ? [] : registry.lastErrors(SCHEMA, 100);
  problems.push(...capProblems(parsed));
  if (problems.length > 0) {
    throw new UnicopError('UNICOP_POLICY_INVALID', `inventory policy ${path}: ${problems.length} problem(s)`, { details: problems });
  }
  return parsed as InventoryPolicy;
}

/** Caps whose scopes are the same set of tenants, sites and regions; reads defensively (the schema may have failed too). */
function capProblems(policy: unknown): ErrorDetail[] {
  const caps = isObject(policy) && Array.isArray(policy.caps) ? (policy.caps as unknown[]) : [];
  const seen = new Map<string, number>();
  const problems: ErrorDetail[] = [];
  caps.forEach((cap, i) => {
    if (!isObject(cap) || (cap.scope !== '*' && !isObject(cap.scope))) return;
    const key = capKey(cap.scope as CapScope);
    const first = seen.get(key);
    if (first !== undefined) problems.push({ pointer: `/caps/${i}/scope`, message: `the same scope as /caps/${first}/scope` });
    else seen.set(key, i);
  });
  return problems;
}

/**
 * A cap's identity in the count table: its scope in a canonical form (lists sorted, fixed order),
 * so reordering caps or the slugs in a list keeps their counts.
 */
export function capKey(scope: CapScope): string {
  if (scope === '*') return '*';
  const sorted = (list: readonly unknown[] | undefined) => (Array.isArray(list) ? [...list].map(String).sort() : []);
  return JSON.stringify({ tenants: sorted(scope.tenants), sites: sorted(scope.sites), regions: sorted(scope.regions) });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
