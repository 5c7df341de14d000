import json
import tempfile
from pathlib import Path
from unittest import mock

from core.models import ObjectType
from dcim.models import (
    Cable,
    ConsolePort,
    ConsoleServerPort,
    Device,
    DeviceBay,
    DeviceRole,
    DeviceType,
    FrontPort,
    Interface,
    InventoryItem,
    Manufacturer,
    Module,
    ModuleBay,
    ModuleType,
    PowerOutlet,
    PowerPort,
    RearPort,
    Site,
)
from django.apps import apps
from django.test import TestCase
from extras.events import serialize_for_event
from ipam.models import VLAN, IPAddress, Prefix
from virtualization.models import Cluster, ClusterType, VirtualMachine, VMInterface

from unicop_netbox.conf import check_settings
from unicop_netbox.root_policy import DEFAULT_ROOT_POLICY, DEFAULT_ROOT_POLICY_PATH, root_key_from_data
from unicop_netbox.roots import label_of, object_key, resolve_root, root_from_data
from unicop_netbox.webhook_callbacks import unicop_context

__all__ = ('RootPolicyTests',)

SCHEMAS = Path(__file__).resolve().parents[3] / 'schemas'
# The receiver's mocha suite runs the same table (receiver/test/unit/normalize/root-policy-cases.test.ts).
CASES = json.loads((SCHEMAS / 'root-policy.cases.json').read_text())['cases']
# A site that orders interface changes per cable instead of per device: the receiver's custom-policy test uses it too.
PER_CABLE = {
    'version': 1,
    'rules': [{'objectType': 'dcim.interface', 'root': {'type': 'dcim.cable', 'idPath': 'cable.id'}}],
}


def rest_data(obj):
    """The object's REST data exactly as its webhook carries it (NetBox's own event serializer, through JSON)."""
    return json.loads(json.dumps(serialize_for_event(obj), default=str))


def policy_file(directory, content):
    path = Path(directory) / 'root-policy.json'
    path.write_text(json.dumps(content))
    return str(path)


class RootPolicyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        site = Site.objects.create(name='RP Site', slug='rp-site')
        manufacturer = Manufacturer.objects.create(name='RP M', slug='rp-m')
        device_type = DeviceType.objects.create(manufacturer=manufacturer, model='RP T', slug='rp-t')
        role = DeviceRole.objects.create(name='RP R', slug='rp-r')
        cls.device = Device.objects.create(name='rp-dev', site=site, device_type=device_type, role=role)
        peer = Device.objects.create(name='rp-peer', site=site, device_type=device_type, role=role)
        cls.interface = Interface.objects.create(device=cls.device, name='eth0', type='1000base-t')
        cls.peer_interface = Interface.objects.create(device=peer, name='eth0', type='1000base-t')
        cls.cable = Cable(a_terminations=[cls.interface], b_terminations=[cls.peer_interface])
        cls.cable.save()
        cls.interface.refresh_from_db()  # the cable set its terminations' `cable` in the database, not on these objects
        rear = RearPort.objects.create(device=cls.device, name='rear0', type='8p8c', positions=1)
        front_fields = {f.name for f in FrontPort._meta.get_fields()}
        front_extra = {'rear_port': rear, 'rear_port_position': 1} if 'rear_port' in front_fields else {}
        module_bay = ModuleBay.objects.create(device=cls.device, name='bay0')
        module_type = ModuleType.objects.create(manufacturer=manufacturer, model='RP MT')
        cls.components = [
            cls.interface,
            ConsolePort.objects.create(device=cls.device, name='con0'),
            ConsoleServerPort.objects.create(device=cls.device, name='cs0'),
            PowerPort.objects.create(device=cls.device, name='psu0'),
            PowerOutlet.objects.create(device=cls.device, name='out0'),
            FrontPort.objects.create(device=cls.device, name='front0', type='8p8c', **front_extra),
            rear,
            module_bay,
            Module.objects.create(device=cls.device, module_bay=module_bay, module_type=module_type),
            InventoryItem.objects.create(device=cls.device, name='item0'),
            DeviceBay.objects.create(device=cls.device, name='dbay0'),
        ]
        cluster = Cluster.objects.create(name='RP C', type=ClusterType.objects.create(name='RP CT', slug='rp-ct'))
        cls.vm = VirtualMachine.objects.create(name='rp-vm', cluster=cluster, site=site)
        cls.vm_interface = VMInterface.objects.create(virtual_machine=cls.vm, name='vnic0')
        cls.device_ip = IPAddress.objects.create(address='192.0.2.11/24', assigned_object=cls.interface)
        cls.vm_ip = IPAddress.objects.create(address='192.0.2.12/24', assigned_object=cls.vm_interface)
        cls.own_roots = [
            cls.device,
            site,
            cls.vm,
            cls.cable,
            IPAddress.objects.create(address='198.51.100.11/24'),
            Prefix.objects.create(prefix='198.51.100.0/24', scope=site),
            VLAN.objects.create(vid=11, name='rp-v11', site=site),
        ]

    def expected_roots(self):
        """(live object, its root object) for every rule of the default policy, and objects that are their own."""
        return [
            *((component, self.device) for component in self.components),
            (self.device_ip, self.device),
            (self.vm_ip, self.vm),
            (self.vm_interface, self.vm),
            *((obj, obj) for obj in self.own_roots),
        ]

    def test_root_from_data_matches_every_shared_case_when_default_policy(self):
        self.assertGreaterEqual(len(CASES), 20)
        for case in CASES:
            with self.subTest(case=case['name']):
                self.assertEqual(
                    root_key_from_data(DEFAULT_ROOT_POLICY, case['objectType'], case['data']), case['root']
                )

    def test_policy_is_shipped_default_when_setting_not_given(self):
        settings = check_settings({'webhook_secret': 'x'})
        self.assertEqual(settings['root_policy'], str(DEFAULT_ROOT_POLICY_PATH))
        shipped = json.loads((SCHEMAS / 'root-policy.default.json').read_text())
        self.assertEqual(settings['root_policy_document'], shipped)
        self.assertEqual(DEFAULT_ROOT_POLICY, shipped)

    def test_world_covers_every_rule_when_default_policy(self):
        covered = {label_of(obj) for obj, _ in self.expected_roots()}
        for rule in DEFAULT_ROOT_POLICY['rules']:
            self.assertIn(rule['objectType'], covered)

    def test_orm_root_is_policy_root_when_object_live(self):
        for obj, root in self.expected_roots():
            with self.subTest(obj=object_key(obj)):
                self.assertEqual(object_key(resolve_root(obj)), object_key(root))

    def test_orm_root_equals_rest_root_when_object_serialized_for_webhook(self):
        # What the plugin puts in context.unicop (ORM) is what the receiver computes from the body (REST data).
        for obj, root in self.expected_roots():
            with self.subTest(obj=object_key(obj)):
                self.assertEqual(root_from_data(label_of(obj), rest_data(obj)), object_key(root))

    def test_custom_policy_changes_root_when_setting_names_file(self):
        with tempfile.TemporaryDirectory() as directory:
            path = policy_file(directory, PER_CABLE)
            settings = check_settings({'webhook_secret': 'x', 'root_policy': path})
        policy = settings['root_policy_document']
        self.assertEqual(settings['root_policy'], path)
        cable_key = object_key(self.cable)
        self.assertEqual(object_key(resolve_root(self.interface, policy)), cable_key)
        self.assertEqual(root_from_data('dcim.interface', rest_data(self.interface), policy), cable_key)
        # the rules it does not have are gone: an IP address is its own root again
        self.assertEqual(resolve_root(self.device_ip, policy), self.device_ip)

        # the webhook callback evaluates the active policy: the one ready() loaded from the setting
        config = apps.get_app_config('unicop_netbox')
        interface_type = ObjectType.objects.get_for_model(Interface)
        with mock.patch.dict(config.settings, {'root_policy_document': policy}):
            live = unicop_context(interface_type, 'object_updated', {'id': self.interface.pk}, None)
            deleted = unicop_context(interface_type, 'object_deleted', {'id': 10**9, 'cable': {'id': 77}}, None)
        self.assertEqual(live['unicop']['root'], cable_key)
        self.assertEqual(deleted['unicop']['root'], 'dcim.cable:77')
        self.assertEqual(
            unicop_context(interface_type, 'object_updated', {'id': self.interface.pk}, None)['unicop']['root'],
            object_key(self.device),
        )
