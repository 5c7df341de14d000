import type { RootRef, Scope } from '../../model/event.js';
import type { NormalizeDeps } from './normalize.js';

/** Where an object's event belongs: its keys (source-qualified when several sources share the spine), its source and route. */
export interface Keys {
  subject: string;
  root: RootRef;
  related: RootRef[];
}

/**
 * The object's subject, root and related roots under this source's key prefix (`nb-eu/`; '' for a
 * single source): two NetBox instances' `dcim.device:42` are two roots, on their own partition keys.
 */
export function keysOf(deps: NormalizeDeps, objectType: string, objectId: number, data: unknown): Keys {
  const { root, related } = deps.resolveRoot(objectType, objectId, data);
  const prefix = deps.keyPrefix ?? '';
  const qualify = (ref: RootRef): RootRef => (prefix === '' ? ref : { ...ref, key: `${prefix}${ref.key}` });
  return { subject: `${prefix}${objectType}:${objectId}`, root: qualify(root), related: related.map(qualify) };
}

/**
 * `data.source` and `data.route` of a federated event: the source's name, and the route its scope
 * takes — a pure function of the event and the federation file, the same on every receiver. Empty
 * without a federation file (the envelope stays as it was).
 */
export function placementOf(deps: NormalizeDeps, scope: Scope): { source?: string; route?: string } {
  if (!deps.federated) return {};
  return { source: deps.federated.sourceName, route: deps.federated.routeOf(scope) };
}
