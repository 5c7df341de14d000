/** One row of `/api/core/object-changes/` (netbox/core/api/serializers_/change_logging.py). */
export interface ObjectChangeRow {
  id: number;
  time: string;
  user_name: string | null;
  request_id: string | null;
  action: { value: 'create' | 'update' | 'delete' } | 'create' | 'update' | 'delete';
  changed_object_type: string;
  changed_object_id: number;
  changed_object: { url?: string } | null;
  object_repr: string | null;
  prechange_data: Record<string, unknown> | null;
  postchange_data: Record<string, unknown> | null;
}

/** The fields of a row the catch-up's scan reads (`?fields=`): enough to tell whether the row needs handling. */
export const CHANGE_ROW_KEY_FIELDS = ['id', 'time', 'request_id', 'changed_object_type', 'changed_object_id'] as const;
export type ChangeRowKey = Pick<ObjectChangeRow, (typeof CHANGE_ROW_KEY_FIELDS)[number]>;

export function changeAction(row: ObjectChangeRow): 'created' | 'updated' | 'deleted' {
  const value = typeof row.action === 'string' ? row.action : row.action.value;
  return value === 'create' ? 'created' : value === 'delete' ? 'deleted' : 'updated';
}

/**
 * The row's snapshots as the action means them: NetBox 4.7 sends `postchange_data: {}` (not null) for a
 * delete, and may send `{}` before a create; an empty snapshot of the missing side is no snapshot.
 */
export function changeSnapshots(row: ObjectChangeRow): { before: Record<string, unknown> | null; after: Record<string, unknown> | null } {
  const action = changeAction(row);
  return {
    before: action === 'created' ? null : row.prechange_data,
    after: action === 'deleted' ? null : row.postchange_data,
  };
}
