"""Root and scope of a NetBox object (ARCHITECTURE.md "Roots"), from the ORM or, for deleted objects, from
the webhook's REST data."""

__all__ = ('DEVICE_COMPONENTS', 'object_key', 'resolve_root', 'root_from_data', 'scope_from_data', 'scope_of')

# Device components: their root is their device.
DEVICE_COMPONENTS = frozenset(
    {
        'dcim.interface',
        'dcim.consoleport',
        'dcim.consoleserverport',
        'dcim.powerport',
        'dcim.poweroutlet',
        'dcim.frontport',
        'dcim.rearport',
        'dcim.modulebay',
        'dcim.module',
        'dcim.inventoryitem',
        'dcim.devicebay',
    }
)


def label_of(model_or_obj):
    meta = model_or_obj._meta
    return f'{meta.app_label}.{meta.model_name}'


def object_key(obj):
    return f'{label_of(obj)}:{obj.pk}'


def resolve_root(obj):
    """The root object of `obj`: device components -> device, IP on an interface -> its device or VM,
    VM interface -> VM, anything else -> itself."""
    label = label_of(obj)
    if label in DEVICE_COMPONENTS and getattr(obj, 'device_id', None):
        return obj.device
    if label == 'virtualization.vminterface' and getattr(obj, 'virtual_machine_id', None):
        return obj.virtual_machine
    if label == 'ipam.ipaddress':
        assigned = obj.assigned_object
        if assigned is not None:
            assigned_label = label_of(assigned)
            if assigned_label == 'dcim.interface' and assigned.device_id:
                return assigned.device
            if assigned_label == 'virtualization.vminterface' and assigned.virtual_machine_id:
                return assigned.virtual_machine
    return obj


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


def scope_of(obj, root):
    """{tenant, site, region} slugs: the object's own tenant, else its root's; site and region of the root,
    else of the object."""
    tenant = _tenant(obj) or (_tenant(root) if root is not obj else None)
    site = _site(root) or (_site(obj) if root is not obj else None)
    region = _region(root, site) or (_region(obj, site) if root is not obj else None)
    return {
        'tenant': tenant.slug if tenant is not None else None,
        'site': site.slug if site is not None else None,
        'region': region.slug if region is not None else None,
    }


def _nested_id(data, field):
    value = data.get(field)
    if isinstance(value, dict) and isinstance(value.get('id'), int):
        return value['id']
    return None


def root_from_data(object_type, data):
    """Root key from the webhook's REST representation, for objects the ORM no longer has (deleted)."""
    if object_type in DEVICE_COMPONENTS and (device_id := _nested_id(data, 'device')):
        return f'dcim.device:{device_id}'
    if object_type == 'virtualization.vminterface' and (vm_id := _nested_id(data, 'virtual_machine')):
        return f'virtualization.virtualmachine:{vm_id}'
    if object_type == 'ipam.ipaddress' and isinstance(data.get('assigned_object'), dict):
        assigned = data['assigned_object']
        if data.get('assigned_object_type') == 'dcim.interface' and (device_id := _nested_id(assigned, 'device')):
            return f'dcim.device:{device_id}'
        if data.get('assigned_object_type') == 'virtualization.vminterface' and (
            vm_id := _nested_id(assigned, 'virtual_machine')
        ):
            return f'virtualization.virtualmachine:{vm_id}'
    return f'{object_type}:{data["id"]}'


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
