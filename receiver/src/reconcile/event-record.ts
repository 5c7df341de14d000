import { UnicopError, isUnicopError } from '../errors.js';
import { EVENT_TYPES, type EventEnvelope, type ObjectEventData, type OwnershipData, type Scope } from '../model/event.js';
import { parseJson } from '../pipeline/validate/parse-json.js';
import type { SchemaRegistry } from '../schema-registry.js';

/** What the reconciler needs of one record of `<prefix>.events.v1`. */
export type EventReading =
  /**
   * An object event (`objectType` set: its scope names the root's owner, its route the root's
   * messages' route) or a reconcile request (`objectType` null, no scope: it moves no ownership).
   */
  | {
      kind: 'change';
      id: string;
      rootKey: string;
      rootType: string;
      objectType: string | null;
      sequence: string;
      scope: Scope | null;
      route: string | undefined;
    }
  /** A cell gave up the root (ownership.ts): the cell it names may hold it from now on. */
  | { kind: 'released'; id: string; rootKey: string; from: string; to: string; eventId: string; sequence: string; scope: Scope }
  /** A cell took the root over; nothing to do here but to know it. */
  | { kind: 'adopted'; id: string; rootKey: string; from: string; to: string }
  /** A superseded event, or a type the reconciler does not act on (v1 is additive: newer types are ignored). */
  | { kind: 'ignored' }
  /** `data.managed: false` (UNICOP_INVENTORY_POLICY): outside the managed set, or its root was not admitted. */
  | { kind: 'unmanaged'; id: string; rootKey: string }
  /** Cannot be read at all: kept as a reject and skipped, never retried (it would block its partition). */
  | { kind: 'poison'; error: UnicopError };

export type EventReader = (raw: Buffer) => EventReading;

/** A cap notice is about the inventory, not a change to reconcile: read like a type this reader does not know. */
const HANDLED: ReadonlySet<string> = new Set(Object.values(EVENT_TYPES).filter((t) => t !== EVENT_TYPES.capExceeded));
const ENVELOPE_SCHEMA = 'event-envelope.v1.schema.json';
/** Schema errors a poison reject names (the first ones say enough; the record's excerpt is kept beside them). */
const DETAILS_KEPT = 5;

/**
 * Reads one record's bytes with the webhook pipeline's parser (strict UTF-8, nesting bounded
 * before parsing, so a deeply nested record is refused the same way every time), then validates it
 * against `schemas/event-envelope.v1.schema.json`, the schema its producer wrote it by. Compatibility
 * within v1 is additive (ARCHITECTURE.md "Domain event envelope"): a type it does not know is ignored
 * before validation, and fields it does not know are dropped, not poison.
 */
export function createEventReader(registry: SchemaRegistry): EventReader {
  const isEnvelope = registry.validator<EventEnvelope>(ENVELOPE_SCHEMA, { ignoreUnknownFields: true });
  return (raw) => {
    let parsed: unknown;
    try {
      parsed = parseJson(raw);
    } catch (error) {
      if (isUnicopError(error)) return { kind: 'poison', error };
      throw error;
    }
    // As before validation existed: an object with an id and a type nobody handles here is a newer type, not poison.
    if (isObject(parsed) && typeof parsed.id === 'string' && parsed.id !== '' && typeof parsed.type === 'string' && !HANDLED.has(parsed.type)) {
      return { kind: 'ignored' };
    }
    if (!isEnvelope(parsed)) {
      return {
        kind: 'poison',
        error: new UnicopError('UNICOP_RECONCILE_RECORD_INVALID', 'the record is not a valid event envelope', {
          details: registry.lastErrors(ENVELOPE_SCHEMA, DETAILS_KEPT),
        }),
      };
    }
    if (parsed.type === EVENT_TYPES.rootReleased || parsed.type === EVENT_TYPES.rootAdopted) return ownershipReading(parsed);
    const { data } = parsed;
    if (data.superseded) return { kind: 'ignored' };
    if (data.managed === false) return { kind: 'unmanaged', id: parsed.id, rootKey: data.root.key };
    const object = data.action === 'reconcile' ? null : (data as ObjectEventData);
    return {
      kind: 'change',
      id: parsed.id,
      rootKey: data.root.key,
      rootType: data.root.type,
      objectType: object?.object.type ?? null,
      sequence: parsed.sequence,
      // Only an object event's scope names an owner; a request's route is its receiver's, not the root's.
      scope: object?.scope ?? null,
      route: object?.route,
    };
  };
}

/** The schema checked `data` against ownershipData (its if/then on `type`). */
function ownershipReading(envelope: EventEnvelope): EventReading {
  const data = envelope.data as unknown as OwnershipData;
  const base = { id: envelope.id, rootKey: data.root.key, from: data.from, to: data.to };
  if (envelope.type === EVENT_TYPES.rootAdopted) return { kind: 'adopted', ...base };
  return { kind: 'released', ...base, eventId: data.eventId, sequence: envelope.sequence, scope: data.scope };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
