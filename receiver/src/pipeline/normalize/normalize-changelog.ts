import { EVENT_DATASCHEMA, EVENT_TYPES, type DraftEvent } from '../../model/event.js';
import { changeAction, changeSnapshots, type ObjectChangeRow } from '../../model/netbox-changelog.js';
import type { JsonObject } from '../../model/netbox-webhook.js';
import { changesBetween } from './changes.js';
import { eventId } from './event-id.js';
import { keysOf, placementOf } from './placement.js';
import { markUnmanaged, type NormalizeDeps } from './normalize.js';
import { NO_SCOPE, scopeOf } from './scope.js';

/**
 * A NetBox changelog row (`/api/core/object-changes/`) → the same envelope a webhook gives, with
 * `data.netbox.via = "changelog"`. The row's snapshots are `serialize_object` data (foreign keys
 * as ids); `rest` is the object's REST representation fetched now (null once it is deleted), which
 * roots and scopes the event exactly as its webhook would have. Without it the root policy reads
 * the snapshot, where `device: 42` still leads to `dcim.device:42`.
 * The id uses `changelog:<row id>` as the version: the row carries no `last_updated`.
 */
export function normalizeChangelog(deps: NormalizeDeps, row: ObjectChangeRow, rest: JsonObject | null, netboxVersion: string): DraftEvent {
  const action = changeAction(row);
  const objectType = row.changed_object_type;
  const objectId = row.changed_object_id;
  const { before, after } = changeSnapshots(row);
  const snapshot = after ?? before ?? {};
  const current = rest ?? snapshot;
  const { root, related, subject } = keysOf(deps, objectType, objectId, current);
  const scope = rest ? scopeOf(objectType, rest) : { ...NO_SCOPE, regions: [] };
  const shape = netboxVersion.startsWith('4.4') ? '4.4' : netboxVersion.startsWith('4.5') ? '4.5' : netboxVersion.startsWith('4.6') ? '4.6' : '4.7';
  return markUnmanaged(deps, {
    versionKey: null,
    envelope: {
      specversion: '1.0',
      id: eventId({
        source: deps.source,
        requestId: row.request_id,
        objectType,
        objectId,
        action,
        version: `changelog:${row.id}`,
      }),
      source: deps.source,
      type: EVENT_TYPES[action],
      subject,
      time: row.time,
      datacontenttype: 'application/json',
      dataschema: EVENT_DATASCHEMA,
      partitionkey: root.key,
      data: {
        action,
        object: { type: objectType, id: objectId, display: row.object_repr },
        root,
        related,
        scope,
        actor: { user: row.user_name, requestId: row.request_id },
        version: null,
        superseded: false,
        changes: changesBetween(before, after),
        snapshots: { before, after },
        current,
        netbox: { version: shape, changelogId: row.id, via: 'changelog' },
        ...placementOf(deps, scope),
      },
    },
  });
}
