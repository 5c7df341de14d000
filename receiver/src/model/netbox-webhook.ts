/**
 * The NetBox webhook body, as the schemas in `schemas/netbox-webhook-*.schema.json` allow it.
 * Keys per version: NetBox `netbox/extras/webhooks.py` (4.4: model+username+request_id;
 * 4.5–4.6: no model, `request` from 4.6; 4.7: `request` only, optional `context`).
 */
export const NETBOX_SHAPES = ['4.4', '4.5', '4.6', '4.7'] as const;
export type NetboxShape = (typeof NETBOX_SHAPES)[number];

export const WEBHOOK_ACTIONS = ['created', 'updated', 'deleted'] as const;
export type WebhookAction = (typeof WEBHOOK_ACTIONS)[number];

export type JsonObject = { [key: string]: unknown };

export interface NetboxWebhookBody {
  event: WebhookAction;
  timestamp: string;
  model?: string;
  object_type: string;
  username?: string | null;
  request_id?: string | null;
  request?: { id?: string; user?: string | null; method?: string; path?: string } & JsonObject;
  data: { id: number; display?: string; last_updated?: string | null } & JsonObject;
  snapshots?: { prechange: JsonObject | null; postchange: JsonObject | null };
  context?: JsonObject;
}

/** A body that passed verification and its version's schema. */
export interface ValidWebhook {
  shape: NetboxShape;
  body: NetboxWebhookBody;
  /** Size of the signed bytes, kept for size limits further down. */
  bytes: number;
}
