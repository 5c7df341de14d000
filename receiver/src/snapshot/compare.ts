import { versionKey } from '../pipeline/normalize/version-key.js';

/** What the spine holds of one object (`<prefix>.objects.v1`): its version and last state. */
export interface SpineObject {
  id: number;
  /** `data.version` (the object's `last_updated`); null when the event had none (changelog recoveries). */
  version: string | null;
  state: Record<string, unknown> | null;
}

/** One object as NetBox's REST list gives it. */
export interface NetboxObject extends Record<string, unknown> {
  id: number;
  last_updated?: string | null;
}

export type Repair = { action: 'created' | 'updated'; id: number; object: NetboxObject } | { action: 'deleted'; id: number; spine: SpineObject };

/**
 * The outbox's newest version mark of an object (`object_versions`: 20-digit version key + action
 * rank, '2' = deleted), null when it never held an event of it.
 */
export type QueuedMark = (id: number) => string | null;

/**
 * One page of NetBox (objects of one type with `fromId < id <= toId`, `toId` = Infinity for the
 * last page) against the spine's objects of that type in the same range: NetBox is the desired
 * state, so an object the spine lacks is `created`, one at another version `updated`, one the spine
 * has and NetBox not `deleted`. A difference the outbox already holds an event for (committed,
 * not yet projected to objects.v1 or published) is no difference: a webhook that arrived during
 * the run, or an earlier snapshot's repair, is not repaired again.
 */
export function comparePage(
  spine: ReadonlyMap<number, SpineObject>,
  page: readonly NetboxObject[],
  fromId: number,
  toId: number,
  queued: QueuedMark,
): Repair[] {
  const repairs: Repair[] = [];
  const inPage = new Set<number>();
  for (const object of page) {
    inPage.add(object.id);
    const held = spine.get(object.id);
    const version = versionKey(object.last_updated);
    if (held && versionKey(held.version) === version) continue;
    const mark = queued(object.id);
    if (mark !== null && version !== null && mark.slice(0, 20) >= version) continue;
    repairs.push({ action: held ? 'updated' : 'created', id: object.id, object });
  }
  for (const [id, held] of spine) {
    if (id <= fromId || id > toId || inPage.has(id)) continue;
    const mark = queued(id);
    if (mark !== null && mark.endsWith('2') && mark.slice(0, 20) >= (versionKey(held.version) ?? '')) continue;
    repairs.push({ action: 'deleted', id, spine: held });
  }
  return repairs.sort((a, b) => a.id - b.id);
}
