import json
import re
import uuid
from pathlib import Path
from types import SimpleNamespace

from core.models import ObjectChange, ObjectType
from dcim.models import Device, DeviceRole, DeviceType, Interface, Manufacturer, Region, Site
from django.test import TestCase
from ipam.models import VLAN, IPAddress, Prefix
from jsonschema.validators import Draft202012Validator
from netbox.registry import registry
from tenancy.models import Tenant
from virtualization.models import Cluster, ClusterType, VirtualMachine, VMInterface

from unicop_netbox.batches import BatchLookups
from unicop_netbox.webhook_callbacks import unicop_context

__all__ = ('WebhookCallbackTests',)

# The receiver validates context.unicop against this schema; check the same constraints here.
SCHEMA_PATH = Path(__file__).resolve().parents[3] / 'schemas' / 'unicop-context.schema.json'
ROOT_PATTERN = r'^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*:[1-9][0-9]{0,17}$'
# the test region's ancestry: the region first, then each parent up to the top
ANCESTRY = ['region-1', 'emea', 'world']
MAX_GONE_ID = 10**12  # an id no test object has


def call(obj, data=None, request=None, event='object_updated'):
    object_type = ObjectType.objects.get_for_model(type(obj))
    return unicop_context(object_type, event, data or {'id': obj.pk}, request)['unicop']


class WebhookCallbackTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.world = Region.objects.create(name='World', slug='world')
        cls.emea = Region.objects.create(name='EMEA', slug='emea', parent=cls.world)
        cls.region = Region.objects.create(name='Region 1', slug='region-1', parent=cls.emea)
        cls.tenant = Tenant.objects.create(name='Tenant 1', slug='tenant-1')
        cls.site = Site.objects.create(name='Site 1', slug='site-1', region=cls.region)
        manufacturer = Manufacturer.objects.create(name='M', slug='m')
        device_type = DeviceType.objects.create(manufacturer=manufacturer, model='T', slug='t')
        role = DeviceRole.objects.create(name='R', slug='r')
        cls.device = Device.objects.create(
            name='dev1', site=cls.site, device_type=device_type, role=role, tenant=cls.tenant
        )
        cls.interface = Interface.objects.create(device=cls.device, name='eth0', type='1000base-t')
        cls.device_ip = IPAddress.objects.create(address='192.0.2.1/24', assigned_object=cls.interface)
        cluster = Cluster.objects.create(name='C', type=ClusterType.objects.create(name='CT', slug='ct'))
        cls.vm = VirtualMachine.objects.create(name='vm1', cluster=cluster, site=cls.site)
        cls.vm_interface = VMInterface.objects.create(virtual_machine=cls.vm, name='vnic0')
        cls.vm_ip = IPAddress.objects.create(address='192.0.2.2/24', assigned_object=cls.vm_interface)

    def test_batch_lookups_give_each_object_the_webhook_context(self):
        # the batch path shares reads between items (objects in bulk, one scope per root); the answer must not change
        tenant_ip = IPAddress.objects.create(address='198.51.100.9/24', tenant=self.tenant)
        second = Interface.objects.create(device=self.device, name='eth1', type='1000base-t')
        objects = [
            self.interface,
            second,
            self.device_ip,
            self.vm_interface,
            self.vm_ip,
            self.device,
            self.site,
            self.region,
            self.vm,
            tenant_ip,
        ]
        items = [{'object_type': ObjectType.objects.get_for_model(type(o)), 'data': {'id': o.pk}} for o in objects]
        gone = {'object_type': ObjectType.objects.get_for_model(Interface), 'data': {'id': MAX_GONE_ID}}
        lookups = BatchLookups([*items, gone], None)
        for item, obj in zip(items, objects, strict=True):
            with self.subTest(obj=obj):
                one = unicop_context(item['object_type'], 'object_updated', item['data'], None)
                shared = unicop_context(item['object_type'], 'object_updated', item['data'], None, lookups=lookups)
                self.assertEqual(shared, one)
        self.assertIsNone(lookups.live(Interface, MAX_GONE_ID))

    def test_callback_is_registered_when_plugin_ready(self):
        self.assertIn(unicop_context, registry['webhook_callbacks'])

    def test_root_is_device_when_object_is_interface(self):
        ctx = call(self.interface)
        self.assertEqual(ctx['root'], f'dcim.device:{self.device.pk}')
        self.assertEqual(
            ctx['scope'], {'tenant': 'tenant-1', 'site': 'site-1', 'region': 'region-1', 'regions': ANCESTRY}
        )

    def test_root_is_device_when_ip_on_device_interface(self):
        self.assertEqual(call(self.device_ip)['root'], f'dcim.device:{self.device.pk}')

    def test_root_is_vm_when_object_is_vminterface(self):
        ctx = call(self.vm_interface)
        self.assertEqual(ctx['root'], f'virtualization.virtualmachine:{self.vm.pk}')
        self.assertEqual(ctx['scope']['site'], 'site-1')

    def test_root_is_vm_when_ip_on_vminterface(self):
        self.assertEqual(call(self.vm_ip)['root'], f'virtualization.virtualmachine:{self.vm.pk}')

    def test_root_is_itself_when_object_is_root_or_unassigned(self):
        ip = IPAddress.objects.create(address='198.51.100.1/24')
        prefix = Prefix.objects.create(prefix='198.51.100.0/24', scope=self.site)
        vlan = VLAN.objects.create(vid=10, name='v10', site=self.site)
        for obj in (self.device, self.site, ip, prefix, vlan, self.vm):
            with self.subTest(obj=obj):
                self.assertEqual(call(obj)['root'], f'{obj._meta.app_label}.{obj._meta.model_name}:{obj.pk}')
        self.assertEqual(
            call(prefix)['scope'], {'tenant': None, 'site': 'site-1', 'region': 'region-1', 'regions': ANCESTRY}
        )
        self.assertEqual(
            call(self.site)['scope'], {'tenant': None, 'site': 'site-1', 'region': 'region-1', 'regions': ANCESTRY}
        )

    def test_root_comes_from_data_when_object_deleted(self):
        data = {'id': 999999, 'device': {'id': self.device.pk, 'name': 'dev1'}, 'name': 'gone'}
        ctx = call(self.interface, data=data, event='object_deleted')
        self.assertEqual(ctx['root'], f'dcim.device:{self.device.pk}')
        data = {
            'id': 999998,
            'assigned_object_type': 'virtualization.vminterface',
            'assigned_object': {'id': 5, 'virtual_machine': {'id': self.vm.pk}},
        }
        ctx = call(self.vm_ip, data=data, event='object_deleted')
        self.assertEqual(ctx['root'], f'virtualization.virtualmachine:{self.vm.pk}')

    def test_scope_comes_from_live_root_when_component_deleted(self):
        # a deleted IP's REST data names its interface and device briefly: no site, no region, no tenant
        data = {
            'id': 999997,
            'assigned_object_type': 'dcim.interface',
            'assigned_object': {'id': 5, 'device': {'id': self.device.pk, 'name': 'dev1'}},
        }
        ctx = call(self.device_ip, data=data, event='object_deleted')
        self.assertEqual(
            ctx['scope'], {'tenant': 'tenant-1', 'site': 'site-1', 'region': 'region-1', 'regions': ANCESTRY}
        )

    def test_scope_region_comes_from_live_site_when_root_deleted(self):
        vlan = {'id': 999994, 'vid': 10, 'site': {'id': self.site.pk, 'slug': 'site-1'}}
        prefix = {'id': 999993, 'scope_type': 'dcim.site', 'scope': {'id': self.site.pk, 'slug': 'site-1'}}
        for obj, data in ((VLAN(vid=10, name='v'), vlan), (Prefix(prefix='10.0.0.0/8'), prefix)):
            with self.subTest(data=data):
                ctx = call(obj, data=data, event='object_deleted')
                self.assertEqual(
                    ctx['scope'], {'tenant': None, 'site': 'site-1', 'region': 'region-1', 'regions': ANCESTRY}
                )

    def test_scope_comes_from_data_when_root_also_deleted(self):
        data = {'id': 999996, 'device': {'id': 999995}, 'tenant': {'id': 1, 'slug': 'gone-tenant'}}
        ctx = call(self.interface, data=data, event='object_deleted')
        self.assertEqual(ctx['root'], 'dcim.device:999995')
        self.assertEqual(ctx['scope'], {'tenant': 'gone-tenant', 'site': None, 'region': None, 'regions': []})

    def test_regions_is_ancestry_when_object_is_region_or_top_level(self):
        self.assertEqual(call(self.region)['scope']['regions'], ANCESTRY)
        self.assertEqual(
            call(self.world)['scope'], {'tenant': None, 'site': None, 'region': 'world', 'regions': ['world']}
        )
        lone = Site.objects.create(name='Lone', slug='lone')
        self.assertEqual(call(lone)['scope'], {'tenant': None, 'site': 'lone', 'region': None, 'regions': []})

    def test_regions_follow_live_parent_when_region_deleted(self):
        data = {'id': 999990, 'slug': 'gone-region', 'parent': {'id': self.emea.pk, 'slug': 'emea'}}
        ctx = call(self.region, data=data, event='object_deleted')
        self.assertEqual(ctx['scope']['region'], 'gone-region')
        self.assertEqual(ctx['scope']['regions'], ['gone-region', 'emea', 'world'])

    def test_regions_from_live_region_when_deleted_data_names_region_slug(self):
        data = {'id': 999989, 'region': {'id': self.region.pk, 'slug': 'region-1'}}
        ctx = call(Site(name='gone', slug='gone'), data=data, event='object_deleted')
        self.assertEqual(ctx['scope']['regions'], ANCESTRY)

    def test_regions_is_only_region_when_slug_is_ambiguous(self):
        # slugs are unique among siblings only: a second 'region-1' elsewhere makes the parent unknowable by slug
        Region.objects.create(name='Region 1', slug='region-1', parent=self.world)
        data = {'id': 999988, 'region': {'id': 999987, 'slug': 'region-1'}}
        ctx = call(Site(name='gone', slug='gone'), data=data, event='object_deleted')
        self.assertEqual(ctx['scope']['regions'], ['region-1'])

    def test_regions_capped_at_schema_maximum_when_tree_is_deep(self):
        parent = None
        for depth in range(40):
            parent = Region.objects.create(name=f'D{depth}', slug=f'd{depth}', parent=parent)
        regions = call(parent)['scope']['regions']
        self.assertEqual(len(regions), 32)
        self.assertEqual(regions[:2], ['d39', 'd38'])

    def test_changelog_id_is_newest_match_when_request_has_changes(self):
        request_id = uuid.uuid4()
        ids = []
        for action in ('create', 'update'):
            change = self.interface.to_objectchange(action)
            change.request_id = request_id
            change.user_name = 'test'
            change.save()
            ids.append(change.pk)
        other = self.device.to_objectchange('update')
        other.request_id = request_id
        other.user_name = 'test'
        other.save()
        ctx = call(self.interface, request=SimpleNamespace(id=request_id))
        self.assertEqual(ctx['changelog_id'], max(ids))
        self.assertTrue(
            ObjectChange.objects.filter(pk=ctx['changelog_id'], changed_object_id=self.interface.pk).exists()
        )

    def test_changelog_id_is_null_when_no_request_or_no_change(self):
        self.assertIsNone(call(self.interface)['changelog_id'])
        self.assertIsNone(call(self.interface, request=SimpleNamespace(id=uuid.uuid4()))['changelog_id'])

    def test_context_matches_receiver_schema_when_serialized(self):
        schema = json.loads(SCHEMA_PATH.read_text())
        self.assertEqual(schema['properties']['root']['pattern'], ROOT_PATTERN)
        for obj in (self.interface, self.device_ip, self.vm_interface, self.site):
            ctx = json.loads(json.dumps(call(obj)))
            self.assertEqual(set(ctx) - set(schema['properties']), set())
            self.assertRegex(ctx['root'], ROOT_PATTERN)
            self.assertEqual(set(ctx['scope']), {'tenant', 'site', 'region', 'regions'})
            self.assertEqual(list(Draft202012Validator(schema).iter_errors(ctx)), [])
            self.assertTrue(ctx['changelog_id'] is None or isinstance(ctx['changelog_id'], int))

    def test_returns_nothing_when_data_has_no_object_id(self):
        object_type = ObjectType.objects.get_for_model(Site)
        self.assertIsNone(unicop_context(object_type, 'job_completed', {'result': 'x'}, None))
        self.assertIsNone(unicop_context(object_type, 'object_updated', None, None))

    def test_root_key_fits_pattern_when_id_large(self):
        ctx = call(self.interface, data={'id': 10**17, 'device': {'id': 10**17 + 1}}, event='object_deleted')
        self.assertTrue(re.match(ROOT_PATTERN, ctx['root']))
