import type { NetboxWebhook44 } from '../generated/netbox-webhook-4.4.js';
import type { NetboxWebhook45 } from '../generated/netbox-webhook-4.5.js';
import type { NetboxWebhook47 } from '../generated/netbox-webhook-4.7.js';

/**
 * The NetBox body shapes the schemas in `schemas/netbox-webhook-*.schema.json` describe.
 * Keys per version: NetBox `netbox/extras/webhooks.py` (4.4: model+username+request_id;
 * 4.5–4.6: no model, `request` from 4.6; 4.7: `request` only, optional `context`).
 */
export const NETBOX_SHAPES = ['4.4', '4.5', '4.6', '4.7'] as const;
export type NetboxShape = (typeof NETBOX_SHAPES)[number];

export type WebhookAction = NetboxWebhook47['event'];

export type JsonObject = { [key: string]: unknown };

/**
 * A body of any version (types generated from its schema), with the keys other versions have as
 * optional, so `body.request?.id ?? body.request_id` reads every version alike.
 */
export type NetboxWebhookBody = (NetboxWebhook44 | NetboxWebhook45 | NetboxWebhook47) &
  Partial<Pick<NetboxWebhook44, 'model' | 'username' | 'request_id'>> &
  Partial<Pick<NetboxWebhook47, 'request'>>;

/** A body that passed verification and its version's schema. */
export interface ValidWebhook {
  shape: NetboxShape;
  body: NetboxWebhookBody;
  /** Size of the signed bytes, kept for size limits further down. */
  bytes: number;
}
