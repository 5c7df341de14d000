import type { components } from '../generated/openapi.js';
import type { JsonObject, NetboxShape, WebhookAction } from './netbox-webhook.js';

/** `schemas/event-envelope.v1.schema.json`: the CloudEvents 1.0 envelope on `unicop.events.v1`. */
export const EVENT_TYPES = {
  created: 'unicop.object.created',
  updated: 'unicop.object.updated',
  deleted: 'unicop.object.deleted',
  reconcileRequested: 'unicop.reconcile.requested',
} as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

export const EVENT_DATASCHEMA = 'https://unicop.dev/schemas/event-envelope.v1.schema.json';
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

export interface RootRef {
  type: string;
  id: number;
  /** `<app_label>.<model>:<id>`, the Kafka key and the unit of ordering. */
  key: string;
}

export interface Scope {
  tenant: string | null;
  site: string | null;
  region: string | null;
}

export interface FieldChange {
  before: unknown;
  after: unknown;
}

export interface ObjectEventData {
  action: WebhookAction;
  object: { type: string; id: number; display: string | null };
  root: RootRef;
  related: RootRef[];
  scope: Scope;
  actor: { user: string | null; requestId: string | null };
  version: string | null;
  superseded: boolean;
  changes: Record<string, FieldChange>;
  snapshots: { before: JsonObject | null; after: JsonObject | null };
  current: JsonObject;
  netbox: { version: NetboxShape; changelogId: number | null; via: 'webhook' | 'changelog' };
}

/** `unicop.reconcile.requested`: an operator (NetBox button, script, API) asks to reconcile a root. */
export interface ReconcileRequestData {
  action: 'reconcile';
  root: RootRef;
  reason: string | null;
  /** Which credential asked (a token fingerprint, never the token). */
  requestedBy: string;
  /** Who asked: the person a trusted caller named in `X-Unicop-On-Behalf-Of` (null when none) and the authenticated caller. */
  actor?: { user: string | null; principal: string };
  /** Always false: a request is never older than anything. Present so every event reads alike. */
  superseded: boolean;
}

export interface EventEnvelope<D extends ObjectEventData | ReconcileRequestData = ObjectEventData | ReconcileRequestData> {
  specversion: '1.0';
  id: string;
  source: string;
  type: EventType;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  dataschema: string;
  partitionkey: string;
  /** Per-root counter, zero-padded to 20 digits so it sorts as a string. */
  sequence: string;
  data: D;
}

export type ObjectEvent = EventEnvelope<ObjectEventData>;

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
