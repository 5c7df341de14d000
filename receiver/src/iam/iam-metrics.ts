import { Counter, type Registry } from 'prom-client';

export interface IamMetrics {
  jwksFetched(): void;
  policyReloaded(result: 'ok' | 'failed'): void;
  audit(decision: 'allow' | 'deny', result: 'queued' | 'suppressed' | 'failed'): void;
}

export function createIamMetrics(registry: Registry): IamMetrics {
  const jwks = new Counter({
    name: 'unicop_oidc_jwks_fetches_total',
    help: "Fetches of the identity provider's key set (first use, cache expiry, a token with an unknown kid; at most one per cooldown).",
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'unicop_iam_policy_reloads_total',
    help: 'IAM policy reloads on SIGHUP: ok (the new policy is in force) or failed (the old one stays; the log lists every problem).',
    labelNames: ['result'],
    registers: [registry],
  });
  const audit = new Counter({
    name: 'unicop_audit_messages_total',
    help: 'Audit messages by decision: queued for <prefix>.audit.v1, suppressed (more than one deny per principal and code in a second), or failed to store.',
    labelNames: ['decision', 'result'],
    registers: [registry],
  });
  return {
    jwksFetched: () => jwks.inc(),
    policyReloaded: (result) => reloads.inc({ result }),
    audit: (decision, result) => audit.inc({ decision, result }),
  };
}
