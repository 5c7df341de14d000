import { readFileSync } from 'node:fs';
import { UnicopError } from '../errors.js';
import type { SchemaRegistry } from '../schema-registry.js';

export const FAILURE_CLASSES = ['transient', 'config', 'execution', 'unreachable', 'timeout', 'rejected'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** `schemas/reconcile-policy.schema.json` after defaults. */
export interface ReconcileRule {
  match: { rootType?: string; objectTypes?: string[] };
  jobTemplate: { name: string; organization: string };
  debounceMs: number;
  deadlineMs: number;
  retry: Partial<Record<FailureClass, number>>;
}

export interface ReconcilePolicy {
  version: 1;
  rules: ReconcileRule[];
}

/** Reads and validates the policy file (defaults filled in); any problem stops start-up. */
export function loadReconcilePolicy(path: string, registry: SchemaRegistry): ReconcilePolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new UnicopError('UNICOP_POLICY_INVALID', `reconcile policy ${path} is not readable JSON`, { cause });
  }
  type RawRule = Omit<ReconcileRule, 'debounceMs' | 'deadlineMs' | 'retry'> & Partial<Pick<ReconcileRule, 'debounceMs' | 'deadlineMs' | 'retry'>>;
  const isPolicy = registry.validator<{ version: 1; rules: RawRule[] }>('reconcile-policy.schema.json');
  if (!isPolicy(parsed)) {
    throw new UnicopError('UNICOP_POLICY_INVALID', `reconcile policy ${path} does not match its schema`, {
      details: registry.lastErrors('reconcile-policy.schema.json'),
    });
  }
  return {
    version: 1,
    rules: parsed.rules.map((r) => ({ ...r, debounceMs: r.debounceMs ?? 2000, deadlineMs: r.deadlineMs ?? 600_000, retry: r.retry ?? {} })),
  };
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
