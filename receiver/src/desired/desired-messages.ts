import { v5 as uuidv5 } from 'uuid';
import type { ObjectStateV1 } from '../generated/object-state.v1.js';
import type { RootDesiredV1 } from '../generated/root-desired.v1.js';
import type { ObjectEvent } from '../model/event.js';

/** Namespaces of the message ids (never change: a republished state keeps its id). */
const OBJECT_STATE_NAMESPACE = '6a0f3c52-9b1e-4d7a-8c2f-3e5b7d9a1c40';
const ROOT_DESIRED_NAMESPACE = '1d8e5b27-4c3a-4f6e-9b0d-2a7c5e8f3b61';
export const OBJECT_STATE_DATASCHEMA: ObjectStateV1['dataschema'] = 'https://unicop.dev/schemas/object-state.v1.schema.json';
export const ROOT_DESIRED_DATASCHEMA: RootDesiredV1['dataschema'] = 'https://unicop.dev/schemas/root-desired.v1.schema.json';

/** Id of the tombstone written for a deleted object or root (the Kafka header `message_uuid`). */
export function tombstoneId(eventId: string, key: string): string {
  return uuidv5(`${eventId}\n${key}\ntombstone`, OBJECT_STATE_NAMESPACE);
}

/** `unicop.object.state` for the object of a created or updated event: its NetBox representation as the event carries it. */
export function objectStateMessage(event: ObjectEvent, source: string): ObjectStateV1 {
  const { data } = event;
  return {
    specversion: '1.0',
    id: uuidv5(`${event.id}\n${event.subject}`, OBJECT_STATE_NAMESPACE),
    source,
    type: 'unicop.object.state',
    subject: event.subject,
    time: event.time,
    datacontenttype: 'application/json',
    dataschema: OBJECT_STATE_DATASCHEMA,
    data: {
      object: { type: data.object.type, id: data.object.id, key: event.subject },
      root: data.root,
      version: data.version,
      eventId: event.id,
      scope: data.scope,
      state: data.current,
    },
  };
}

/**
 * `unicop.root.desired`, serialized: the root's members (canonical, sorted by key) and the version
 * they hash to. The members' stored canonical JSON goes in as it is (no parse and re-serialize of
 * every member on every change: bench/desired).
 */
export function rootDesiredJson(
  event: ObjectEvent,
  root: { type: string; id: number; key: string },
  members: readonly { member: string; state: string }[],
  desiredVersion: string,
  source: string,
): { id: string; json: string } {
  const message: RootDesiredV1 = {
    specversion: '1.0',
    id: uuidv5(`${event.id}\n${root.key}\n${desiredVersion}`, ROOT_DESIRED_NAMESPACE),
    source,
    type: 'unicop.root.desired',
    subject: root.key,
    time: event.time,
    datacontenttype: 'application/json',
    dataschema: ROOT_DESIRED_DATASCHEMA,
    data: {
      root,
      desiredVersion,
      eventId: event.id,
      memberCount: members.length,
      members: [],
    },
  };
  const list = members.map((m) => `{"key":${JSON.stringify(m.member)},"state":${m.state}}`).join(',');
  // `members` is the last field written: its empty list is the one `"members":[]}}` at the end.
  const json = JSON.stringify(message);
  return { id: message.id, json: `${json.slice(0, -'[]}}'.length)}[${list}]}}` };
}
