/** One record of `<prefix>.objects.v1` (value null = tombstone). */
export interface ObjectStateRecord {
  key: string;
  value: string | null;
}

import type { SpineObject } from './compare.js';

/** What the spine holds, per object type: id → version and state. */
export type SpineView = Map<string, Map<number, SpineObject>>;

const OBJECT_KEY = /^([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*):([0-9]{1,18})$/;

/**
 * Folds `unicop.object.state` records (read from the start of the compacted topic, in offset order
 * per partition; one key lives in one partition) into the latest state per object: a later record
 * replaces an earlier one, a tombstone removes it. Records that are not an object state are skipped.
 */
export function spineView(records: Iterable<ObjectStateRecord>): SpineView {
  const view: SpineView = new Map();
  for (const record of records) {
    const key = OBJECT_KEY.exec(record.key);
    if (!key) continue;
    const [, type = '', idText = ''] = key;
    const id = Number(idText);
    let objects = view.get(type);
    if (record.value === null) {
      objects?.delete(id);
      continue;
    }
    const data = parseData(record.value);
    if (!data) continue;
    if (!objects) view.set(type, (objects = new Map()));
    objects.set(id, { id, version: typeof data.version === 'string' ? data.version : null, state: isObject(data.state) ? data.state : null });
  }
  return view;
}

function parseData(value: string): Record<string, unknown> | null {
  try {
    const message = JSON.parse(value) as unknown;
    return isObject(message) && message.type === 'unicop.object.state' && isObject(message.data) ? message.data : null;
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
