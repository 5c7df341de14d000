import { Counter, Gauge, type Registry } from 'prom-client';
import type { AccessMetrics } from './access-grants.js';

export function createAccessMetrics(registry: Registry): AccessMetrics {
  const changes = new Counter({
    name: 'unicop_access_grants_total',
    help: 'Temporary access grants by what happened to them: granted, revoked, expired, or refused (not honoured: invalid, or longer than UNICOP_ACCESS_GRANT_MAX_S).',
    labelNames: ['change'],
    registers: [registry],
  });
  const active = new Gauge({
    name: 'unicop_access_grants_active',
    help: 'Temporary access grants honoured now (extra IAM bindings).',
    registers: [registry],
  });
  return {
    changed: (kind) => changes.inc({ change: kind }),
    active: (n) => active.set(n),
  };
}
