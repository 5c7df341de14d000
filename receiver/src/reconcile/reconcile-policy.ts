import { readFileSync } from 'node:fs';
import { UnicopError } from '../errors.js';
import type { ReconcilePolicySchema } from '../generated/reconcile-policy.js';
import type { SchemaRegistry } from '../schema-registry.js';

/** A rule as the policy file may write it (`schemas/reconcile-policy.schema.json`, type generated from it). */
type PolicyRule = ReconcilePolicySchema['rules'][number];

/** The failure classes a rule can give retries to (the schema's `retry` keys). */
export type FailureClass = keyof NonNullable<PolicyRule['retry']>;

/** A rule after validation: the schema filled in its defaults. */
export type ReconcileRule = PolicyRule & Required<Pick<PolicyRule, 'debounceMs' | 'deadlineMs' | 'retry'>>;

export interface ReconcilePolicy extends ReconcilePolicySchema {
  rules: ReconcileRule[];
}

const SCHEMA = 'reconcile-policy.schema.json';

/** Reads and validates the policy file; the schema's defaults are filled in; any problem stops start-up. */
export function loadReconcilePolicy(path: string, registry: SchemaRegistry): ReconcilePolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new UnicopError('UNICOP_POLICY_INVALID', `reconcile policy ${path} is not readable JSON`, { cause });
  }
  const isPolicy = registry.validator<ReconcilePolicy>(SCHEMA, { defaults: true });
  if (!isPolicy(parsed)) {
    throw new UnicopError('UNICOP_POLICY_INVALID', `reconcile policy ${path} does not match its schema`, {
      details: registry.lastErrors(SCHEMA),
    });
  }
  return parsed;
}

/** The first rule for a root and (for a change) the changed object's type; null = never reconciled. */
export function matchRule(policy: ReconcilePolicy, rootType: string, objectType: string | null): ReconcileRule | null {
  return (
    policy.rules.find(
      (r) =>
        (r.match.rootType === undefined || r.match.rootType === rootType) &&
        (r.match.objectTypes === undefined || objectType === null || r.match.objectTypes.includes(objectType)),
    ) ?? null
  );
}
