import type { UnicopContext } from '../../generated/unicop-context.js';
import type { Scope } from '../../model/event.js';
import type { JsonObject } from '../../model/netbox-webhook.js';
import { ancestryOf } from './scope.js';

/**
 * What the unicop_netbox plugin's webhook callback adds as `context.unicop` (schemas/unicop-context.schema.json).
 * Its scope fills what the body's brief objects lack; its root is only compared with the receiver's own
 * (`NormalizeDeps.onRootDisagreement`), never used.
 */
export type { UnicopContext } from '../../generated/unicop-context.js';

/** The plugin's context, when the body has one; the schema already checked its shape. */
export function unicopContextOf(context: JsonObject | undefined): UnicopContext | null {
  const unicop = context?.unicop;
  return unicop !== null && typeof unicop === 'object' ? (unicop as UnicopContext) : null;
}

/** Context values win where they are set: the plugin reads the ORM, the body only brief objects. */
export function mergeScope(own: Scope, fromContext: Partial<Scope> | undefined): Scope {
  const region = fromContext?.region ?? own.region;
  return {
    tenant: fromContext?.tenant ?? own.tenant,
    site: fromContext?.site ?? own.site,
    region,
    regions: ancestryOf(region, fromContext?.regions),
  };
}
