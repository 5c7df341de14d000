import { createHash, timingSafeEqual } from 'node:crypto';
import type { IamBinding, IamPolicy, Permission } from './iam-policy.js';
import type { Principal } from './principal.js';
import { scopeMatches, type RootScope } from './root-scope.js';

/**
 * What the policy says about one call: `allow`; `hidden` — no binding of the caller covers the root,
 * answered exactly as an unknown root (404); `forbidden` — bindings cover it but none gives the
 * permission (403).
 */
export const DECISIONS = ['allow', 'hidden', 'forbidden'] as const;
export type Decision = (typeof DECISIONS)[number];

export interface AccessPolicy {
  /** The name of the policy's service token whose SHA-256 the bearer has; null when none has. */
  tokenName(bearer: string): string | null;
  decide(principal: Principal, permission: Permission, root: RootScope | null, extra: readonly IamBinding[]): Decision;
  /** Whether any binding of the principal gives the permission, in whatever scope (calls about no one root). */
  allowsSomewhere(principal: Principal, permission: Permission, extra: readonly IamBinding[]): boolean;
}

/** Compiles a loaded policy (`loadIamPolicy`) for evaluation on every call. */
export function compileAccessPolicy(policy: IamPolicy): AccessPolicy {
  const tokens = (policy.tokens ?? []).map((t) => ({ name: t.name, digest: Buffer.from(t.sha256, 'hex') }));
  const roles = new Map<string, ReadonlySet<Permission>>(Object.entries(policy.roles).map(([name, perms]) => [name, new Set(perms)]));

  function names(binding: IamBinding, principal: Principal): boolean {
    const s = binding.subjects;
    if (principal.kind === 'token') return s.tokens?.includes(principal.name) ?? false;
    if (principal.kind === 'static') return false;
    return (s.users?.includes(principal.name) ?? false) || (s.groups?.some((g) => principal.groups.includes(g)) ?? false);
  }

  return {
    tokenName(bearer) {
      const given = createHash('sha256').update(bearer).digest();
      let found: string | null = null;
      // Every entry is compared (no early exit): the time taken says nothing about which one matched.
      for (const t of tokens) {
        if (timingSafeEqual(t.digest, given)) found = t.name;
      }
      return found;
    },

    decide(principal, permission, root, extra) {
      let covered = false;
      for (const binding of [...policy.bindings, ...extra]) {
        const perms = roles.get(binding.role);
        // A temporary grant naming a role this policy lacks gives nothing (the policy file has the last word).
        if (!perms || !names(binding, principal) || !scopeMatches(binding.scope, root)) continue;
        if (perms.has(permission) || perms.has('*')) return 'allow';
        covered = true;
      }
      return covered ? 'forbidden' : 'hidden';
    },

    allowsSomewhere(principal, permission, extra) {
      return [...policy.bindings, ...extra].some((binding) => {
        const perms = roles.get(binding.role);
        return perms !== undefined && names(binding, principal) && (perms.has(permission) || perms.has('*'));
      });
    },
  };
}
