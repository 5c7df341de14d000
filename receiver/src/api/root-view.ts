import type { components } from '../generated/openapi.js';
import { ownershipOf } from '../reconcile/ownership.js';
import type { RootRecord } from '../reconcile/state-machine.js';

/**
 * The reconcile part of a root as the API shows it (`RootReconcile` in openapi/unicop.yaml): the
 * items of `GET /v1/roots?state=` and the first fields of `GET /v1/roots/{root}`. Mapped here from
 * the reconciler's record, so the reconciler's messages and the HTTP contract change independently.
 */
export function rootView(r: RootRecord): components['schemas']['RootReconcile'] {
  return {
    root: r.root,
    state: r.state,
    attempt: r.attempt,
    inFlight: r.inFlight && {
      reconcileId: r.inFlight.reconcileId,
      attempt: r.inFlight.attempt,
      requestedAt: r.inFlight.requestedAt,
      deadline: r.inFlight.deadline,
      awxJobId: r.inFlight.awxJobId,
    },
    lastOutcome: r.lastOutcome,
    pendingFollowUp: r.followUpEventCount > 0,
    // Federation (reconcile/ownership.ts): which cell owns the root, and this cell's part in it.
    owner: r.owner ?? null,
    ownership: ownershipOf(r),
  };
}
