"""Webhook callback: adds `context.unicop = {root, scope, changelog_id}` to every object webhook
(schemas/unicop-context.schema.json). Runs in the RQ worker when the webhook is sent, after the change committed."""

import logging

from core.models import ObjectChange
from django.apps import apps
from extras.webhooks import register_webhook_callback
from netbox.registry import registry

from .roots import (
    MAX_ANCESTRY,
    object_key,
    region_ancestry,
    regions_for_slug,
    resolve_root,
    root_from_data,
    scope_from_data,
    scope_of,
)

__all__ = ('Lookups', 'changelog_ids', 'register', 'unicop_context')

logger = logging.getLogger('unicop_netbox.webhooks')

MAX_ID = 10**18 - 1  # the schema's root id pattern allows at most 18 digits
SLUG_MAX = 100


def _slug_or_none(value):
    return value if isinstance(value, str) and 0 < len(value) <= SLUG_MAX else None


def _clean_scope(scope):
    """The scope as the schema allows it: slugs or None, and `regions` starting with the region (the receiver ignores
    an ancestry that does not) or empty when there is no region."""
    clean = {k: _slug_or_none(scope.get(k)) for k in ('tenant', 'site', 'region')}
    regions = [r for r in scope.get('regions') or [] if _slug_or_none(r)][:MAX_ANCESTRY]
    if clean['region'] is None:
        regions = []
    elif not regions or regions[0] != clean['region']:
        regions = [clean['region']]
    clean['regions'] = regions
    return clean


def _changelog_id(object_type, object_id, request):
    request_id = getattr(request, 'id', None) if request is not None else None
    if request_id is None:
        return None
    return (
        ObjectChange.objects.filter(
            request_id=request_id, changed_object_type_id=object_type.pk, changed_object_id=object_id
        )
        .order_by('-time', '-pk')
        .values_list('pk', flat=True)
        .first()
    )


def changelog_ids(request_id):
    """{(object type id, object id): newest changelog id} of one request, in one query; {} without a request."""
    if request_id is None:
        return {}
    newest = {}
    rows = ObjectChange.objects.filter(request_id=request_id).order_by('time', 'pk')
    for type_id, object_id, pk in rows.values_list('changed_object_type_id', 'changed_object_id', 'pk'):
        newest[(type_id, object_id)] = pk
    return newest


class Lookups:
    """How unicop_context reads NetBox: each read on its own, for the one object a webhook carries. The batch path
    (batches.BatchLookups) shares them between the items of a batch."""

    def live(self, model, pk):
        return model.objects.filter(pk=pk).first()

    def scope(self, obj, root):
        return scope_of(obj, root)

    def changelog_id(self, object_type, object_id, request):
        return _changelog_id(object_type, object_id, request)


ONE_BY_ONE = Lookups()


def _live_root(root_key):
    """The root object when it still exists (a deleted interface's device usually does), else None."""
    label, _, pk = root_key.partition(':')
    try:
        model = apps.get_model(*label.split('.'))
    except (LookupError, ValueError):
        return None
    return model.objects.filter(pk=int(pk)).first()


def _site_named_by(data):
    """The live Site a deleted object's REST data points at (`site`, or `scope` when scoped to a site)."""
    nested = data.get('site')
    if not isinstance(nested, dict) and data.get('scope_type') == 'dcim.site':
        nested = data.get('scope')
    if not isinstance(nested, dict) or not isinstance(nested.get('id'), int):
        return None
    return apps.get_model('dcim', 'site').objects.filter(pk=nested['id']).select_related('region').first()


def _deleted_region_ancestry(data):
    """A deleted region's ancestry: its own slug, then its live parent's (the REST data names the parent's id)."""
    parent = data.get('parent')
    live = None
    if isinstance(parent, dict) and isinstance(parent.get('id'), int):
        live = apps.get_model('dcim', 'region').objects.filter(pk=parent['id']).first()
    return [data.get('slug'), *region_ancestry(live)]


def _scope_after_delete(label, data, root_key):
    """Scope of a deleted object: its REST data names only brief parents (a deleted IP's interface has no
    site, a deleted VLAN's site has no region), so what still lives supplies the rest, as scope_of() would:
    the root first, else the site the data names."""
    scope = scope_from_data(label, data)
    root = _live_root(root_key)
    if root is not None:
        of_root = scope_of(root, root)
        if of_root['region']:
            return {
                'tenant': scope['tenant'] or of_root['tenant'],
                'site': of_root['site'] or scope['site'],
                'region': of_root['region'],
                'regions': of_root['regions'],
            }
        scope = {**scope, 'tenant': scope['tenant'] or of_root['tenant'], 'site': of_root['site'] or scope['site']}
    site = _site_named_by(data)
    if site is not None:
        scope['site'] = scope['site'] or site.slug
        if scope['region'] is None and site.region is not None:
            scope['region'], scope['regions'] = site.region.slug, region_ancestry(site.region)
    if label == 'dcim.region':
        scope['regions'] = _deleted_region_ancestry(data)
    elif 'regions' not in scope:
        scope['regions'] = regions_for_slug(scope['region'])
    return scope


def unicop_context(object_type, event_type, data, request, lookups=ONE_BY_ONE):
    """NetBox's webhook callback signature: (object_type, event_type, data, request) -> dict | None. The batch path
    passes its `lookups` (reads shared by the batch's items)."""
    if not isinstance(data, dict) or not isinstance(data.get('id'), int) or not 1 <= data['id'] <= MAX_ID:
        return None  # job events and anything without an object id
    label = f'{object_type.app_label}.{object_type.model}'
    root_key = scope = None
    try:
        model = object_type.model_class()
        obj = lookups.live(model, data['id']) if model is not None else None
        if obj is not None:
            root = resolve_root(obj)
            root_key, scope = object_key(root), lookups.scope(obj, root)
    except Exception:  # never lose the whole context over one odd model: fall back to the REST data
        logger.exception('unicop: root/scope from the ORM failed for %s:%s', label, data['id'])
    if root_key is None:  # deleted (or not visible): the REST data still names the parents
        root_key = root_from_data(label, data)
        try:
            scope = _scope_after_delete(label, data, root_key)
        except Exception:
            logger.exception('unicop: scope of the root of deleted %s:%s failed', label, data['id'])
            scope = scope_from_data(label, data)
    try:
        changelog_id = lookups.changelog_id(object_type, data['id'], request)
    except Exception:  # the context must not cost the webhook
        logger.exception('unicop: changelog lookup failed for %s:%s', label, data['id'])
        changelog_id = None
    return {'unicop': {'root': root_key, 'scope': _clean_scope(scope), 'changelog_id': changelog_id}}


def register():
    """Register the callback once (ready() may run more than once, e.g. in tests)."""
    if unicop_context not in registry['webhook_callbacks']:
        register_webhook_callback(unicop_context)
