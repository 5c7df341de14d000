import { isUnicopError } from '../errors.js';
import type { Decision } from './access-policy.js';
import type { AuditAction, AuditTrail } from './audit-trail.js';
import type { Authenticate } from './authenticate-bearer.js';
import type { IamBinding, Permission } from './iam-policy.js';
import type { PolicyHolder } from './policy-holder.js';
import { ANONYMOUS, principalId, type Principal } from './principal.js';
import type { RootScope } from './root-scope.js';

/** A permission a call can need (`*` is only granted, never asked for). */
export type ApiPermission = Exclude<Permission, '*'>;

/** Temporary grants: extra bindings honoured while active (built outside this folder). */
export interface GrantSource {
  activeBindings(now: number): IamBinding[];
}

/** One caller's view of the policy, for one request. */
export interface Guard {
  /** The caller as `requestedBy` and audit messages name it. */
  readonly principal: string;
  /** Pure: may the caller do this to that root? (`hidden` = answer as if the root were unknown.) */
  decide(root: string, permission: ApiPermission): Decision;
  /**
   * Whether the caller has the permission in some scope, for a call about no one root (the
   * inventory policy); a refusal is audited here.
   */
  mayAnywhere(permission: ApiPermission): boolean;
  /** Records a refusal in the audit trail. */
  denied(root: string, permission: ApiPermission, decision: Exclude<Decision, 'allow'>): void;
  /** Records an allowed mutating call in the audit trail. */
  performed(root: string, action: AuditAction, reason: string, requestId: string): void;
}

export interface ApiAccess {
  /** Throws the 401 (audited as `anonymous`, for what was asked) or 503 of a bad or unusable credential. */
  authenticate(authorization: string | undefined, action: AuditAction, target: string | null): Promise<Principal>;
  guard(principal: Principal): Guard;
}

export interface ApiAccessDeps {
  authenticate: Authenticate;
  /** Null without `UNICOP_IAM_POLICY`: every authenticated caller may do everything (UNICOP_API_TOKENS). */
  policy: PolicyHolder | null;
  grants: GrantSource | null;
  /** The root's recorded scope (outbox `root_scopes`); null when none is recorded. */
  rootScope: (root: string) => RootScope | null;
  audit: AuditTrail;
  now?: () => number;
}

export function createApiAccess(deps: ApiAccessDeps): ApiAccess {
  const now = deps.now ?? Date.now;
  return {
    async authenticate(authorization, action, target) {
      try {
        return await deps.authenticate(authorization);
      } catch (error) {
        if (isUnicopError(error) && error.httpStatus === 401) {
          deps.audit({ principal: ANONYMOUS, action, target, scope: null, decision: 'deny', reason: error.message, code: error.code });
        }
        throw error;
      }
    },

    guard(p) {
      const principal = principalId(p);
      const policy = deps.policy?.current ?? null;
      const extra = policy && deps.grants ? deps.grants.activeBindings(now()) : [];
      return {
        principal,
        decide: (root, permission) => (policy ? policy.decide(p, permission, deps.rootScope(root), extra) : 'allow'),
        mayAnywhere(permission) {
          if (!policy || policy.allowsSomewhere(p, permission, extra)) return true;
          deps.audit({
            principal,
            action: permission,
            target: null,
            scope: null,
            decision: 'deny',
            reason: `no role gives ${permission} in any scope`,
            code: 'UNICOP_API_FORBIDDEN',
          });
          return false;
        },
        denied(root, permission, decision) {
          const reason = decision === 'hidden' ? 'root outside every scope of the caller (answered 404)' : `no role gives ${permission} in the root's scope`;
          const code = decision === 'hidden' ? 'UNICOP_API_ROOT_NOT_FOUND' : 'UNICOP_API_FORBIDDEN';
          deps.audit({ principal, action: permission, target: root, scope: deps.rootScope(root), decision: 'deny', reason, code });
        },
        performed(root, action, reason, requestId) {
          deps.audit({ principal, action, target: root, scope: deps.rootScope(root), decision: 'allow', reason, code: null, requestId });
        },
      };
    },
  };
}
