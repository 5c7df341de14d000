import { EVENT_DATASCHEMA, EVENT_TYPES, type OwnershipData, type RootRef, type Scope } from '../model/event.js';
import type { Release } from './ownership.js';
import type { RootRecord } from './state-machine.js';

const NO_SCOPE: Scope = { tenant: null, site: null, region: null };

/**
 * The root as messages name it: its model and id come from the key without a source prefix
 * (`nb-eu/dcim.device:42` is a `dcim.device`, id 42), so they are right for prefixed keys too.
 */
export function rootRefOf(key: string): RootRef {
  const bare = key.slice(key.indexOf('/') + 1);
  const colon = bare.lastIndexOf(':');
  return { type: bare.slice(0, colon), id: Number(bare.slice(colon + 1)), key };
}

/**
 * `unicop.root.released` (schemas/event-envelope.v1.schema.json, ownershipData): this cell has no
 * attempt in flight for the root and starts none; `to` may hold it now. Its sequence is the moving
 * event's (`moved`), as the schema says; its source is the cell (`unicop://<cell>`), not a NetBox
 * instance.
 */
export function releasedMessage(id: string, cell: string, to: string, r: RootRecord, moved: NonNullable<RootRecord['moved']>, now: number) {
  const data: OwnershipData = {
    root: rootRefOf(r.root),
    from: cell,
    to,
    scope: r.scope ?? NO_SCOPE,
    eventId: moved.eventId,
    lastOutcome: r.lastOutcome as OwnershipData['lastOutcome'],
    ...(r.route === undefined ? {} : { route: r.route }),
    superseded: false,
  };
  return envelope(id, EVENT_TYPES.rootReleased, cell, r.root, moved.sequence, data, now);
}

/** `unicop.root.adopted`: this cell holds the root from now on, after `release`. */
export function adoptedMessage(id: string, cell: string, release: Release, r: RootRecord, now: number) {
  const data: OwnershipData = {
    root: rootRefOf(r.root),
    from: release.from,
    to: cell,
    scope: r.scope ?? release.scope,
    eventId: release.eventId,
    releasedId: release.id,
    ...(r.route === undefined ? {} : { route: r.route }),
    superseded: false,
  };
  return envelope(id, EVENT_TYPES.rootAdopted, cell, r.root, release.sequence, data, now);
}

function envelope(id: string, type: string, cell: string, root: string, sequence: string, data: OwnershipData, now: number) {
  return {
    specversion: '1.0',
    id,
    source: `unicop://${cell}`,
    type,
    subject: root,
    time: new Date(now).toISOString(),
    datacontenttype: 'application/json',
    dataschema: EVENT_DATASCHEMA,
    partitionkey: root,
    sequence,
    data,
  };
}
