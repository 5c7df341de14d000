import { ClientRequestError } from '../clients/request-error.js';
import type { NetboxClient } from '../clients/netbox-client.js';
import type { ObjectChangeRow } from '../model/netbox-changelog.js';
import type { JsonObject } from '../model/netbox-webhook.js';

/** One row's object as the catch-up found it: its REST representation (null when NetBox no longer has it), or the failed fetch. */
export type FetchedObject = { rest: JsonObject | null } | { error: ClientRequestError };

/**
 * The current objects of changelog rows, by changelog id, in as few GETs as NetBox allows: rows
 * are grouped by the list endpoint their object's link names (`/api/dcim/interfaces/1001/` →
 * `/api/dcim/interfaces/`), and each group is read by id (`objectsByIds`, which pages). An object
 * missing from its list was deleted since: null, as its 404 was. A row without a link needs no
 * fetch (NetBox links no object it no longer has). A link of another shape, and a row `alone` says
 * so of (its last attempt: one object NetBox cannot serve must not fail its group's rows with it),
 * is fetched by itself. A failed GET is the failure of the rows it was for, and only theirs.
 */
export async function fetchObjects(
  client: Pick<NetboxClient, 'objectsByIds' | 'object'>,
  rows: readonly ObjectChangeRow[],
  options: { alone: (row: ObjectChangeRow) => boolean; stopped: () => boolean },
): Promise<Map<number, FetchedObject>> {
  const fetched = new Map<number, FetchedObject>();
  const groups = new Map<string, ObjectChangeRow[]>();
  const singles: ObjectChangeRow[] = [];
  for (const row of rows) {
    const url = row.changed_object?.url;
    const list = url ? listOf(url, row.changed_object_id) : null;
    if (!url) fetched.set(row.id, { rest: null });
    else if (list === null || options.alone(row)) singles.push(row);
    else groups.set(list, [...(groups.get(list) ?? []), row]);
  }
  for (const [list, members] of groups) {
    if (options.stopped()) break;
    const outcome = await attempt(() => client.objectsByIds(list, [...new Set(members.map((r) => r.changed_object_id))]));
    for (const row of members) {
      fetched.set(row.id, 'error' in outcome ? outcome : { rest: (outcome.value.get(row.changed_object_id) as JsonObject | undefined) ?? null });
    }
  }
  for (const row of singles) {
    if (options.stopped()) break;
    const outcome = await attempt(() => client.object(row.changed_object!.url!));
    fetched.set(row.id, 'error' in outcome ? outcome : { rest: outcome.value as JsonObject | null });
  }
  return fetched;
}

/** The list endpoint of an object link `<list>/<id>/` (query dropped), or null for a link of another shape. */
function listOf(url: string, id: number): string | null {
  const { pathname } = new URL(url, 'http://netbox.invalid');
  return pathname.endsWith(`/${id}/`) ? pathname.slice(0, -`${id}/`.length) : null;
}

/** A NetBox call's answer or its failure; any other error (a bug, not NetBox) propagates. */
async function attempt<T>(call: () => Promise<T>): Promise<{ value: T } | { error: ClientRequestError }> {
  try {
    return { value: await call() };
  } catch (error) {
    if (error instanceof ClientRequestError) return { error };
    throw error;
  }
}
