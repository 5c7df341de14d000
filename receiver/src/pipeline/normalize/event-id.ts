import { v5 as uuidv5 } from 'uuid';

/** UNICOP's UUIDv5 namespace; changing it changes every event id, so it never changes. */
export const EVENT_ID_NAMESPACE = '287c0f5c-cbe3-4024-a451-30ada6a2c351';

export interface EventIdentity {
  source: string;
  requestId: string | null;
  objectType: string;
  objectId: number;
  action: string;
  /** The object's `last_updated`; NetBox's event timestamp when the body has none. */
  version: string;
}

/**
 * Deterministic event id (ARCHITECTURE.md "envelope"): the same NetBox change delivered twice gets
 * the same id, so the outbox can answer "duplicate" and consumers can dedupe.
 */
export function eventId(identity: EventIdentity): string {
  const name = [identity.source, identity.requestId ?? '', identity.objectType, String(identity.objectId), identity.action, identity.version].join('\n');
  return uuidv5(name, EVENT_ID_NAMESPACE);
}
