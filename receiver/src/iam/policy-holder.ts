import { isUnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { compileAccessPolicy, type AccessPolicy } from './access-policy.js';
import type { AuditTrail } from './audit-trail.js';
import type { IamMetrics } from './iam-metrics.js';
import { loadIamPolicy } from './iam-policy.js';

/** The principal the audit names for a reload: the operator's signal, not a caller of the API. */
export const RELOAD_PRINCIPAL = 'system:sighup';

export interface PolicyHolderDeps {
  path: string;
  registry: SchemaRegistry;
  metrics: Pick<IamMetrics, 'policyReloaded'>;
  audit: AuditTrail;
  log: Logger;
}

/**
 * The IAM policy in force. Loaded at construction (a bad file stops start-up, every problem listed);
 * `reload()` (SIGHUP) swaps in a new one only when the whole file is good — a call sees the old
 * policy or the new one, never a mix — and otherwise keeps the old one and logs every problem.
 */
export class PolicyHolder {
  private policy: AccessPolicy;

  constructor(private readonly deps: PolicyHolderDeps) {
    this.policy = compileAccessPolicy(loadIamPolicy(deps.path, deps.registry));
  }

  get current(): AccessPolicy {
    return this.policy;
  }

  reload(): boolean {
    const { metrics, audit, log } = this.deps;
    try {
      this.policy = compileAccessPolicy(loadIamPolicy(this.deps.path, this.deps.registry));
    } catch (error) {
      const code = isUnicopError(error) ? error.code : 'UNICOP_POLICY_INVALID';
      const details = isUnicopError(error) ? error.details : [];
      metrics.policyReloaded('failed');
      log.error({ code, path: this.deps.path, details }, 'IAM policy reload failed; the previous policy stays in force');
      audit({ principal: RELOAD_PRINCIPAL, action: 'iam:policy-reload', target: null, scope: null, decision: 'deny', reason: 'invalid policy', code });
      return false;
    }
    metrics.policyReloaded('ok');
    log.info({ path: this.deps.path }, 'IAM policy reloaded');
    audit({ principal: RELOAD_PRINCIPAL, action: 'iam:policy-reload', target: null, scope: null, decision: 'allow', reason: 'policy reloaded', code: null });
    return true;
  }
}
