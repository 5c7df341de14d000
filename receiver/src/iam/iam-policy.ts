import { readFileSync } from 'node:fs';
import { UnicopError, type ErrorDetail } from '../errors.js';
import type { IamPolicy } from '../generated/iam-policy.js';
import type { SchemaRegistry } from '../schema-registry.js';

export type { IamPolicy, Permission } from '../generated/iam-policy.js';
export type IamBinding = IamPolicy['bindings'][number];

const SCHEMA = 'iam-policy.schema.json';

/**
 * Reads `UNICOP_IAM_POLICY`: its schema and the checks a schema cannot make (a binding's role and
 * tokens must exist, token names and hashes are unique). Every problem of both kinds is listed in
 * one `UNICOP_POLICY_INVALID`, so one failed start (or reload) shows all of them.
 */
export function loadIamPolicy(path: string, registry: SchemaRegistry): IamPolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new UnicopError('UNICOP_POLICY_INVALID', `IAM policy ${path} is not readable JSON`, {
      cause,
      details: [{ pointer: '/', message: (cause as NodeJS.ErrnoException).code ?? 'not JSON' }],
    });
  }
  const isPolicy = registry.validator<IamPolicy>(SCHEMA);
  const problems = isPolicy(parsed) ? [] : registry.lastErrors(SCHEMA, 100);
  problems.push(...semanticProblems(parsed));
  if (problems.length > 0) {
    throw new UnicopError('UNICOP_POLICY_INVALID', `IAM policy ${path}: ${problems.length} problem(s)`, { details: problems });
  }
  return parsed as IamPolicy;
}

/** Cross-references the schema cannot express; reads defensively, since the schema may have failed too. */
export function semanticProblems(policy: unknown): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const p = isObject(policy) ? policy : {};
  const roles = isObject(p.roles) ? p.roles : {};
  const tokens = Array.isArray(p.tokens) ? (p.tokens as unknown[]) : [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  tokens.forEach((t, i) => {
    if (!isObject(t)) return;
    if (typeof t.name === 'string') {
      if (names.has(t.name)) problems.push({ pointer: `/tokens/${i}/name`, message: `duplicate token name "${t.name}"` });
      names.add(t.name);
    }
    if (typeof t.sha256 === 'string') {
      // The hash itself is no secret but says nothing useful in a log: the entry's index does.
      if (hashes.has(t.sha256)) problems.push({ pointer: `/tokens/${i}/sha256`, message: 'duplicate token hash (two names for one token)' });
      hashes.add(t.sha256);
    }
  });
  const bindings = Array.isArray(p.bindings) ? (p.bindings as unknown[]) : [];
  bindings.forEach((b, i) => {
    if (!isObject(b)) return;
    if (typeof b.role === 'string' && !Object.hasOwn(roles, b.role)) {
      problems.push({ pointer: `/bindings/${i}/role`, message: `unknown role "${b.role}"` });
    }
    const subjects = isObject(b.subjects) && Array.isArray(b.subjects.tokens) ? (b.subjects.tokens as unknown[]) : [];
    subjects.forEach((name, j) => {
      if (typeof name === 'string' && !names.has(name)) {
        problems.push({ pointer: `/bindings/${i}/subjects/tokens/${j}`, message: `token "${name}" is not in tokens` });
      }
    });
  });
  return problems;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
