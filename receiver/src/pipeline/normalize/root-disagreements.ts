import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../log.js';
import type { RootDisagreement } from './normalize.js';

export const ROOT_DISAGREEMENTS_METRIC = 'unicop_root_disagreements_total';

/**
 * What the receiver does when the plugin's `context.unicop.root` and its own root policy disagree: count
 * it (`unicop_root_disagreements_total{object_type}`) and warn with both answers. The event keeps the
 * policy's root either way (normalize.ts says why); a disagreement means NetBox's plugin and the receiver
 * were given different root policies (PLUGINS_CONFIG['unicop_netbox']['root_policy'] vs UNICOP_ROOT_POLICY),
 * or a policy path the plugin reads differently from the ORM than the receiver from the REST body.
 */
/** The normalize stage's metric, registered with the others (`registerMetrics` in receiver.ts, `docs/metrics.md`). */
export function createRootDisagreementMetrics(registry: Registry): { rootDisagreements: Counter<'object_type'> } {
  return {
    rootDisagreements: new Counter({
      name: ROOT_DISAGREEMENTS_METRIC,
      help: "Webhooks whose plugin context (context.unicop.root) named another root than the receiver's root policy, by object type; the policy's root was used.",
      labelNames: ['object_type'] as const,
      registers: [registry],
    }),
  };
}

export function createRootDisagreementReporter(counter: Counter<'object_type'>, log: Logger): (disagreement: RootDisagreement) => void {
  const normalizeLog = log.child({ stage: 'normalize' });
  return ({ objectType, subject, plugin, policy }) => {
    counter.inc({ object_type: objectType });
    normalizeLog.warn({ subject, pluginRoot: plugin, policyRoot: policy }, 'plugin context and root policy disagree on the root; the root policy wins');
  };
}
