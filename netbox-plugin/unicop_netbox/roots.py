"""Root and scope of a NetBox object. The root comes from the root policy document (root_policy.py; the default is
schemas/root-policy.default.json, the same document the receiver evaluates): over the ORM for a live object, over
the webhook's REST data for a deleted one."""

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model

from .conf import PLUGIN_NAME
from .root_policy import as_id, root_key_from_data, rule_for

__all__ = (
    'active_root_policy',
    'label_of',
    'object_key',
    'orm_values_at',
    'region_ancestry',
    'regions_for_slug',
    'resolve_root',
    'root_from_data',
    'scope_from_data',
    'scope_of',
)

_MISSING = object()

# schemas/unicop-context.schema.json: `scope.regions` holds at most 32 slugs (NetBox puts no bound on nesting; a
# deeper tree loses its topmost regions, which a scope binding on them then does not cover).
MAX_ANCESTRY = 32


def active_root_policy():
    """The policy document ready() loaded (PLUGINS_CONFIG['unicop_netbox']['root_policy'], else the default)."""
    return apps.get_app_config(PLUGIN_NAME).settings['root_policy_document']


def label_of(model_or_obj):
    meta = model_or_obj._meta
    return f'{meta.app_label}.{meta.model_name}'


def object_key(obj):
    return f'{label_of(obj)}:{obj.pk}'


def _attribute(obj, name):
    """A model instance's field or property `name` (a generic foreign key too), _MISSING for anything else."""
    try:
        value = getattr(obj, name)
    except (AttributeError, ObjectDoesNotExist):
        return _MISSING
    if callable(value) and not hasattr(value, 'all'):  # a method, not a field (related managers are callable)
        return _MISSING
    return value


def _plain(value):
    """An ORM value as the REST data shows it where the two differ for policy paths: a content type as app_label.model
    (e.g. `assigned_object_type`)."""
    if isinstance(value, ContentType):
        return f'{value.app_label}.{value.model}'
    return value


def orm_values_at(obj, path):
    """Every value a policy path reaches from a live object, following the model attributes of the same names as the
    REST fields (`device`, `virtual_machine`, `assigned_object`, ...); `id` is the primary key; `[]` walks a list or a
    related manager. A path the ORM does not have reaches nothing, as a missing REST field does."""
    current = [obj]
    for segment in path.split('.'):
        walk = segment.endswith('[]')
        name = segment[:-2] if walk else segment
        reached = []
        for value in current:
            if isinstance(value, Model):
                inner = value.pk if name == 'id' and not walk else _attribute(value, name)
            elif isinstance(value, dict):
                inner = value.get(name, _MISSING)
            else:
                continue
            if inner is _MISSING:
                continue
            if not walk:
                reached.append(_plain(inner))
            elif hasattr(inner, 'all') and not isinstance(inner, dict):
                reached.extend(map(_plain, inner.all()))
            elif isinstance(inner, list | tuple):
                reached.extend(map(_plain, inner))
        current = reached
    return current


def resolve_root(obj, policy=None):
    """The root object of a live `obj` under the root policy (the active one unless given): the first matching rule's
    root when its path leads to one, else `obj` itself."""
    if policy is None:
        policy = active_root_policy()
    rule = rule_for(policy, label_of(obj), lambda path: orm_values_at(obj, path))
    if rule is None or 'root' not in rule:
        return obj
    ref = rule['root']
    parent_path, _, last = ref['idPath'].rpartition('.')
    if last == 'id' and parent_path:
        # `device.id`: the device the path walks through is the root; no second query
        for parent in orm_values_at(obj, parent_path):
            if isinstance(parent, Model) and label_of(parent) == ref['type'] and as_id(parent.pk) is not None:
                return parent
    root_id = next((i for i in map(as_id, orm_values_at(obj, ref['idPath'])) if i is not None), None)
    if root_id is None:
        return obj
    try:
        model = apps.get_model(*ref['type'].split('.'))
    except LookupError:
        return obj
    return model.objects.filter(pk=root_id).first() or obj


def root_from_data(object_type, data, policy=None):
    """Root key from the webhook's REST representation, for objects the ORM no longer has (deleted)."""
    return root_key_from_data(active_root_policy() if policy is None else policy, object_type, data)


def _fk(obj, name):
    """The object a forward foreign key `name` points to, or None (no such FK; a reverse or generic relation
    of the same name does not count)."""
    try:
        field = obj._meta.get_field(name)
    except Exception:
        return None
    if not (field.many_to_one and field.concrete):
        return None
    return getattr(obj, name)


def _site(obj):
    if label_of(obj) == 'dcim.site':
        return obj
    # devices, VMs, VLANs, racks...: site; prefixes, VLAN groups, clusters... (4.2+): scope cached as _site
    return _fk(obj, 'site') or _fk(obj, '_site')


def _region(obj, site):
    if label_of(obj) == 'dcim.region':
        return obj
    if site is not None and site.region_id:
        return site.region
    return _fk(obj, '_region')


def _tenant(obj):
    if label_of(obj) == 'tenancy.tenant':
        return obj
    return _fk(obj, 'tenant')


def region_ancestry(region):
    """Slugs of `region`, then its parent, ... up to a top-level region (at most MAX_ANCESTRY); [] for None. One
    query: NetBox's Region is a tree (MPTT through 4.6, ltree from 4.7; both have get_ancestors)."""
    if region is None:
        return []
    parents = region.get_ancestors(ascending=True).values_list('slug', flat=True)[: MAX_ANCESTRY - 1]
    return [region.slug, *parents]


def regions_for_slug(slug):
    """The ancestry of the live region with this slug. A region's slug is unique only among its siblings, so a slug
    two regions share (or one NetBox no longer has) gives just [slug]: the event then names no parent rather than a
    wrong one."""
    if not slug:
        return []
    matches = list(apps.get_model('dcim', 'region').objects.filter(slug=slug)[:2])
    return region_ancestry(matches[0]) if len(matches) == 1 else [slug]


def root_parts(root):
    """What scope_of takes from the root alone: its tenant and site. The same for every object of the root, so a batch
    reads them once per root."""
    return _tenant(root), _site(root)


def scope_of(obj, root, parts=None, ancestry=region_ancestry):
    """{tenant, site, region, regions} slugs: the object's own tenant, else its root's; site and region of the root,
    else of the object; `regions` = the region's ancestry (the region first, then each parent up to the top).
    `parts` (root_parts(root)) and `ancestry` let a batch share these reads between the objects of one root."""
    root_tenant, root_site = parts if parts is not None else root_parts(root)
    tenant = _tenant(obj) or (root_tenant if root is not obj else None)
    site = root_site or (_site(obj) if root is not obj else None)
    region = _region(root, site) or (_region(obj, site) if root is not obj else None)
    return {
        'tenant': tenant.slug if tenant is not None else None,
        'site': site.slug if site is not None else None,
        'region': region.slug if region is not None else None,
        'regions': ancestry(region),
    }


def _nested_slug(data, field):
    value = data.get(field)
    if isinstance(value, dict) and isinstance(value.get('slug'), str):
        return value['slug']
    return None


def scope_from_data(object_type, data):
    """Best-effort scope from the REST representation (brief nested objects carry slugs)."""
    return {
        'tenant': data.get('slug') if object_type == 'tenancy.tenant' else _nested_slug(data, 'tenant'),
        'site': data.get('slug') if object_type == 'dcim.site' else _nested_slug(data, 'site'),
        'region': data.get('slug') if object_type == 'dcim.region' else _nested_slug(data, 'region'),
    }
