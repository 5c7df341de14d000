import { isDeepStrictEqual } from 'node:util';
import type { FieldChange } from '../../model/event.js';
import type { JsonObject } from '../../model/netbox-webhook.js';

/** NetBox leaves `last_updated` out of snapshots when skipping empty changes; never a change itself. */
const IGNORED = new Set(['last_updated']);
/** NetBox's internal columns (`_name`, `_site`, cached paths…): its changelog API drops them too. */
const isInternal = (key: string): boolean => key.startsWith('_');

/**
 * Field → {before, after} for every field that differs between NetBox's pre- and post-change
 * snapshots, NetBox-internal `_` columns excepted (`serialize_object` format). A missing snapshot counts as empty, so a creation lists
 * every field with `before: null` and a deletion every field with `after: null`.
 */
export function changesBetween(before: JsonObject | null, after: JsonObject | null): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const key of [...keys].sort()) {
    if (IGNORED.has(key) || isInternal(key)) continue;
    const b = before?.[key] ?? null;
    const a = after?.[key] ?? null;
    if (!isDeepStrictEqual(a, b)) changes[key] = { before: b, after: a };
  }
  return changes;
}
