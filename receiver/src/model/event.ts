import type { CapExceededData, EventEnvelopeSchema, ObjectEventData, ReconcileRequestData } from '../generated/event-envelope.v1.js';
import type { components } from '../generated/openapi.js';

export type { CapExceededData, ObjectEventData, OwnershipData, ReconcileRequestData, RootRef } from '../generated/event-envelope.v1.js';

/** The event names: `type` of `schemas/event-envelope.v1.schema.json` (the compiler checks both ways). */
export type EventType = EventEnvelopeSchema['type'];
export const EVENT_TYPES = {
  created: 'unicop.object.created',
  updated: 'unicop.object.updated',
  deleted: 'unicop.object.deleted',
  reconcileRequested: 'unicop.reconcile.requested',
  capExceeded: 'unicop.inventory.cap_exceeded',
  rootReleased: 'unicop.root.released',
  rootAdopted: 'unicop.root.adopted',
} as const satisfies Record<string, EventType>;
// Fails to compile when the schema gains a type this map does not name.
const EVERY_TYPE_NAMED: Record<Exclude<EventType, (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES]>, never> = {};
void EVERY_TYPE_NAMED;

export const EVENT_DATASCHEMA: EventEnvelopeSchema['dataschema'] = 'https://unicop.dev/schemas/event-envelope.v1.schema.json';
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

export type Scope = ObjectEventData['scope'];
export type FieldChange = NonNullable<ObjectEventData['changes'][string]>;

/** The generated envelope with `data` typed by the event's kind (the schema picks it with if/then on `type`). */
export type EventEnvelope<D extends ObjectEventData | ReconcileRequestData = ObjectEventData | ReconcileRequestData> = Omit<EventEnvelopeSchema, 'data'> & {
  data: D;
};

export type ObjectEvent = EventEnvelope<ObjectEventData>;

/** A root not admitted under a cap (UNICOP_INVENTORY_POLICY); built by the inventory, never by normalize. */
export type CapExceededEvent = Omit<EventEnvelopeSchema, 'data'> & { data: CapExceededData };

/** What normalize hands to sequence: everything but the per-root order. */
export interface DraftEvent {
  envelope: Omit<EventEnvelope, 'sequence'>;
  /** Sortable form of `data.version` (microseconds since epoch, 20 digits), null when unknown. */
  versionKey: string | null;
}

export function formatSequence(n: number): string {
  return String(n).padStart(20, '0');
}

/** One line of a root's timeline (`GET /v1/roots/{root}/timeline`), read from the event index; defined by openapi/unicop.yaml. */
export type TimelineEntry = components['schemas']['TimelineEntry'];
