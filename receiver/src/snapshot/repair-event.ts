import { v5 as uuidv5 } from 'uuid';
import { EVENT_DATASCHEMA, EVENT_TYPES, type DraftEvent } from '../model/event.js';
import type { JsonObject } from '../model/netbox-webhook.js';
import { markUnmanaged, type NormalizeDeps } from '../pipeline/normalize/normalize.js';
import { keysOf, placementOf } from '../pipeline/normalize/placement.js';
import { NO_SCOPE, scopeOf } from '../pipeline/normalize/scope.js';
import { versionKey } from '../pipeline/normalize/version-key.js';
import type { Repair } from './compare.js';

/** Namespace of repair event ids: UUIDv5 of snapshot id, object key, action and version (never changes). */
export const REPAIR_EVENT_NAMESPACE = '6d1f3a52-9b0e-4c7d-8e21-4a5b6c7d8e9f';

export interface RepairContext {
  snapshotId: string;
  objectType: string;
  /** NetBox's version, e.g. "4.7.3": the `data.netbox.version` shape. */
  netboxVersion: string;
  now: () => number;
}

/**
 * A repair → an ordinary object event with `data.netbox.via = "snapshot"`, rooted and scoped by the
 * receiver's own policy as a webhook of the object would be. Its id depends on the snapshot, the
 * object and its version only, so a resumed run that repeats a page gets duplicates, not second
 * repairs. A delete carries the spine's last state of the object (NetBox has none any more).
 */
export function repairEvent(deps: NormalizeDeps, context: RepairContext, repair: Repair): DraftEvent {
  // outside the managed set (UNICOP_INVENTORY_POLICY) a repair is marked like the webhook it stands for
  return markUnmanaged(deps, repairDraft(deps, context, repair));
}

function repairDraft(deps: NormalizeDeps, context: RepairContext, repair: Repair): DraftEvent {
  const { objectType } = context;
  const objectId = repair.id;
  const current: JsonObject = repair.action === 'deleted' ? (repair.spine.state ?? { id: objectId }) : repair.object;
  const version = repair.action === 'deleted' ? repair.spine.version : (repair.object.last_updated ?? null);
  const { root, related, subject } = keysOf(deps, objectType, objectId, current);
  const scope = Object.keys(current).length > 1 ? scopeOf(objectType, current) : { ...NO_SCOPE, regions: [] };
  const display = typeof current.display === 'string' ? current.display : null;
  const shape = (['4.4', '4.5', '4.6'] as const).find((v) => context.netboxVersion.startsWith(v)) ?? '4.7';
  return {
    versionKey: versionKey(version),
    envelope: {
      specversion: '1.0',
      id: uuidv5([context.snapshotId, subject, repair.action, version ?? ''].join('\n'), REPAIR_EVENT_NAMESPACE),
      source: deps.source,
      type: EVENT_TYPES[repair.action],
      subject,
      time: new Date(context.now()).toISOString(),
      datacontenttype: 'application/json',
      dataschema: EVENT_DATASCHEMA,
      partitionkey: root.key,
      data: {
        action: repair.action,
        object: { type: objectType, id: objectId, display },
        root,
        related,
        scope,
        actor: { user: null, requestId: null },
        version,
        superseded: false,
        changes: {},
        snapshots: { before: null, after: null },
        current,
        netbox: { version: shape, changelogId: null, via: 'snapshot' },
        ...placementOf(deps, scope),
      },
    },
  };
}
