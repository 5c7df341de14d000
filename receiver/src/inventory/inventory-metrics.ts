import { Counter, Gauge, type Registry } from 'prom-client';
import type { InventoryMetrics } from './inventory-admission.js';

export function createInventoryMetrics(registry: Registry): InventoryMetrics {
  const unmanaged = new Counter({
    name: 'unicop_inventory_unmanaged_events_total',
    help: 'Events stored with data.managed = false (kept for the audit, never reconciled or projected), by reason: outside_set (UNICOP_INVENTORY_POLICY managed set) or not_admitted (their root was refused by a cap).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const exceeded = new Counter({
    name: 'unicop_inventory_caps_exceeded_total',
    help: 'Roots not admitted because a cap of their scope was full (one unicop.inventory.cap_exceeded each), by the index of the full cap in the policy.',
    labelNames: ['cap'] as const,
    registers: [registry],
  });
  const admitted = new Gauge({
    name: 'unicop_inventory_cap_roots',
    help: 'Managed roots admitted under each cap of UNICOP_INVENTORY_POLICY, by the index of the cap in the policy.',
    labelNames: ['cap'] as const,
    registers: [registry],
  });
  const max = new Gauge({
    name: 'unicop_inventory_cap_max_roots',
    help: "Each cap's maxRoots, by the index of the cap in the policy (alert when unicop_inventory_cap_roots nears it).",
    labelNames: ['cap'] as const,
    registers: [registry],
  });
  return {
    unmanaged: (reason) => unmanaged.inc({ reason }),
    exceeded: (cap) => exceeded.inc({ cap: String(cap) }),
    cap: (cap, roots, maxRoots) => {
      admitted.set({ cap: String(cap) }, roots);
      max.set({ cap: String(cap) }, maxRoots);
    },
  };
}
