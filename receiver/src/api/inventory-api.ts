import type { components } from '../generated/openapi.js';

/** What `GET /v1/inventory/policy` reads: the loaded policy (null when unset) and each cap's count now. */
export interface InventoryView {
  policy: object | null;
  counts(): components['schemas']['InventoryView']['caps'];
}

/** `GET /v1/inventory/policy` (openapi/unicop.yaml): the policy in force and the roots each cap holds. */
export function inventoryBody(view: InventoryView): components['schemas']['InventoryView'] {
  return { policy: view.policy as components['schemas']['InventoryView']['policy'], caps: view.counts() };
}
