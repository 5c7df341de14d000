import { UnicopError } from '../../errors.js';
import type { NetboxShape, NetboxWebhookBody, ValidWebhook } from '../../model/netbox-webhook.js';
import type { SchemaRegistry } from '../../schema-registry.js';

/** Which schema describes each body shape (4.5 and 4.6 share one; `request` is optional there). */
const SCHEMA_OF: Record<NetboxShape, string> = {
  '4.4': 'netbox-webhook-4.4.schema.json',
  '4.5': 'netbox-webhook-4.5.schema.json',
  '4.6': 'netbox-webhook-4.5.schema.json',
  '4.7': 'netbox-webhook-4.7.schema.json',
};

/**
 * The body's NetBox version, from the keys NetBox added and removed (netbox/extras/webhooks.py):
 * `model` exists only up to 4.4; `username`/`request_id` up to 4.6, with `request` from 4.6;
 * 4.7 has neither.
 */
export function detectShape(body: Record<string, unknown>): NetboxShape {
  if ('model' in body) return '4.4';
  if ('username' in body || 'request_id' in body) return 'request' in body ? '4.6' : '4.5';
  return '4.7';
}

export type WebhookValidator = (parsed: unknown, bytes: number) => ValidWebhook;

/** Compiles the three webhook schemas once; each call picks the body's version and validates. */
export function createWebhookValidator(registry: SchemaRegistry): WebhookValidator {
  const validators = new Map<string, (v: unknown) => v is NetboxWebhookBody>();
  for (const name of new Set(Object.values(SCHEMA_OF))) {
    validators.set(name, registry.validator<NetboxWebhookBody>(name));
  }
  return (parsed, bytes) => {
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new UnicopError('UNICOP_VALIDATE_SCHEMA', 'body must be a JSON object', {
        details: [{ pointer: '/', message: 'must be object' }],
      });
    }
    const shape = detectShape(parsed as Record<string, unknown>);
    const name = SCHEMA_OF[shape];
    const isValid = validators.get(name);
    if (!isValid?.(parsed)) {
      throw new UnicopError('UNICOP_VALIDATE_SCHEMA', `body does not match the NetBox ${shape} webhook schema`, {
        details: registry.lastErrors(name),
      });
    }
    return { shape, body: parsed, bytes };
  };
}
