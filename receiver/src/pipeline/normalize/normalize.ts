import { EVENT_DATASCHEMA, EVENT_TYPES, type DraftEvent, type ObjectEventData, type Scope } from '../../model/event.js';
import type { ValidWebhook } from '../../model/netbox-webhook.js';
import { changesBetween } from './changes.js';
import { eventId } from './event-id.js';
import { keysOf, placementOf } from './placement.js';
import type { RootResolution } from './root-policy.js';
import { scopeOf } from './scope.js';
import { mergeScope, unicopContextOf } from './unicop-context.js';
import { versionKey } from './version-key.js';

export interface NormalizeDeps {
  source: string;
  resolveRoot: (objectType: string, id: number, data: unknown) => RootResolution;
  /**
   * Whether the object is in the managed set (UNICOP_INVENTORY_POLICY); absent = every object is.
   * An object outside it still becomes an event, marked `data.managed: false`.
   */
  managed?: (data: Pick<ObjectEventData, 'object' | 'scope' | 'current'>) => boolean;
  /** Prefixed to subject and root keys (`<source>/`) when several sources share the spine; absent or '' otherwise. */
  keyPrefix?: string;
  /** With a federation file: the source's name and the route of a scope (`data.source`, `data.route`). */
  federated?: { sourceName: string; routeOf: (scope: Scope) => string };
  /** Told when the plugin's `context.unicop.root` names another root than the policy (whose answer is used). */
  onRootDisagreement?: (disagreement: RootDisagreement) => void;
}

/** The plugin and the receiver's root policy answered differently for one webhook's object. */
export interface RootDisagreement {
  objectType: string;
  subject: string;
  /** `context.unicop.root`, as the plugin sent it. */
  plugin: string;
  /** The receiver's root policy over the body's `data`: the root the event gets. */
  policy: string;
}

export type Normalizer = (webhook: ValidWebhook) => DraftEvent;

/**
 * One NetBox webhook → one domain event without its sequence. Pure but for telling
 * `onRootDisagreement`: the same body always gives the same event, whatever the version of NetBox
 * that sent it.
 */
export function createNormalizer(deps: NormalizeDeps): Normalizer {
  return ({ shape, body }) => {
    const objectType = body.object_type;
    const objectId = body.data.id;
    const requestId = body.request?.id ?? body.request_id ?? null;
    const user = body.request?.user ?? body.username ?? null;
    const version = body.data.last_updated ?? null;
    const before = body.snapshots?.prechange ?? null;
    const after = body.snapshots?.postchange ?? null;

    const context = unicopContextOf(body.context);
    // The receiver's own policy decides the root even when the plugin's context names one: a recovered
    // (changelog) event of the same object can only be rooted by the receiver, and both must land on one
    // partition key. A different answer from the plugin means the two sides run different policies.
    const { root, related, subject } = keysOf(deps, objectType, objectId, body.data);
    // The plugin names the root without the source prefix: compare like with like.
    const unqualified = root.key.slice((deps.keyPrefix ?? '').length);
    if (context?.root && context.root !== unqualified) {
      deps.onRootDisagreement?.({ objectType, subject, plugin: context.root, policy: unqualified });
    }
    const scope = mergeScope(scopeOf(objectType, body.data), context?.scope);

    return markUnmanaged(deps, {
      versionKey: versionKey(version),
      envelope: {
        specversion: '1.0',
        id: eventId({
          source: deps.source,
          requestId,
          objectType,
          objectId,
          action: body.event,
          version: version ?? body.timestamp,
        }),
        source: deps.source,
        type: EVENT_TYPES[body.event],
        subject,
        time: body.timestamp,
        datacontenttype: 'application/json',
        dataschema: EVENT_DATASCHEMA,
        partitionkey: root.key,
        data: {
          action: body.event,
          object: { type: objectType, id: objectId, display: body.data.display ?? null },
          root,
          related,
          scope,
          actor: { user, requestId },
          version,
          superseded: false,
          changes: changesBetween(before, after),
          snapshots: { before, after },
          current: body.data,
          netbox: { version: shape, changelogId: context?.changelog_id ?? null, via: 'webhook' },
          ...placementOf(deps, scope),
        },
      },
    });
  };
}

/**
 * Adds `managed: false` to an object event outside the managed set (webhook and changelog alike);
 * a managed event stays as it was (absent means managed), so without a policy nothing changes.
 */
export function markUnmanaged(deps: Pick<NormalizeDeps, 'managed'>, draft: DraftEvent): DraftEvent {
  const { data } = draft.envelope;
  if (!deps.managed || data.action === 'reconcile' || deps.managed(data)) return draft;
  return { ...draft, envelope: { ...draft.envelope, data: { ...data, managed: false } } };
}
