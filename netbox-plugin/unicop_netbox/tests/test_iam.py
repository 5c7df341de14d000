import json
import tempfile
from pathlib import Path

from core.models import ObjectType
from dcim.models import Device, DeviceRole, DeviceType, Manufacturer, Region, Site
from django.contrib.auth import get_user_model
from django.test import TestCase
from ipam.models import Prefix
from tenancy.models import Tenant
from users.models import ObjectPermission
from virtualization.models import VirtualMachine

from unicop_netbox.iam import (
    IAM_POLICY_SCHEMA_PATH,
    IamPolicyError,
    actions_for_role,
    constraints_for,
    load_iam_policy,
    root_models,
    scope_fields,
)

__all__ = ('IamMappingTests', 'IamPolicyFileTests', 'policy_file')

REPO_SCHEMA = Path(__file__).resolve().parents[3] / 'schemas' / 'iam-policy.schema.json'

# ARCHITECTURE.md's example policy
EXAMPLE = {
    'version': 1,
    'roles': {'viewer': ['roots:read'], 'operator': ['roots:read', 'roots:reconcile'], 'admin': ['*']},
    'tokens': [{'name': 'netbox-plugin', 'sha256': '0' * 64}],
    'bindings': [
        {'subjects': {'groups': ['netops-emea']}, 'role': 'operator', 'scope': {'regions': ['emea']}},
        {'subjects': {'tokens': ['netbox-plugin']}, 'role': 'operator', 'scope': '*'},
        {'subjects': {'users': ['alice']}, 'role': 'admin', 'scope': '*'},
    ],
}


def policy_file(document):
    """A temporary policy file (deleted when the test process ends)."""
    f = tempfile.NamedTemporaryFile('w', suffix='.json', delete=False)  # noqa: SIM115 - the path outlives the block
    f.write(document if isinstance(document, str) else json.dumps(document))
    f.close()
    return f.name


class IamPolicyFileTests(TestCase):
    def test_schema_copy_is_identical_when_repository_has_schemas(self):
        self.assertEqual(IAM_POLICY_SCHEMA_PATH.read_bytes(), REPO_SCHEMA.read_bytes())

    def test_policy_loads_when_example_is_valid(self):
        self.assertEqual(load_iam_policy(policy_file(EXAMPLE)), EXAMPLE)

    def test_every_problem_listed_when_schema_broken(self):
        broken = {
            **EXAMPLE,
            'roles': {'viewer': ['roots:fly']},
            'bindings': [{'subjects': {}, 'role': 'x', 'scope': 7}],
        }
        with self.assertRaises(IamPolicyError) as caught:
            load_iam_policy(policy_file(broken))
        problems = caught.exception.problems
        self.assertTrue(any(p.startswith('/roles/viewer/0') for p in problems), problems)
        self.assertTrue(any(p.startswith('/bindings/0/subjects') for p in problems), problems)
        self.assertTrue(any(p.startswith('/bindings/0/scope') for p in problems), problems)

    def test_unknown_role_and_token_listed_when_shape_is_right(self):
        bad = {
            **EXAMPLE,
            'bindings': [
                {'subjects': {'users': ['bob']}, 'role': 'ghost', 'scope': '*'},
                {'subjects': {'tokens': ['nobody']}, 'role': 'viewer', 'scope': '*'},
            ],
        }
        with self.assertRaises(IamPolicyError) as caught:
            load_iam_policy(policy_file(bad))
        self.assertEqual(len(caught.exception.problems), 2)
        self.assertIn("unknown role 'ghost'", caught.exception.problems[0])
        self.assertIn("unknown token 'nobody'", caught.exception.problems[1])

    def test_error_names_file_when_json_unreadable(self):
        path = policy_file('{"version": 1,')
        with self.assertRaises(IamPolicyError) as caught:
            load_iam_policy(path)
        self.assertIn(path, str(caught.exception))
        self.assertIn('not readable JSON', str(caught.exception))


class IamMappingTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.emea = Region.objects.create(name='EMEA', slug='emea')
        cls.de = Region.objects.create(name='DE', slug='de', parent=cls.emea)
        cls.berlin = Region.objects.create(name='Berlin', slug='berlin', parent=cls.de)
        cls.us = Region.objects.create(name='US', slug='us')
        cls.tenant = Tenant.objects.create(name='Blue', slug='blue')
        cls.site_ber = Site.objects.create(name='BER', slug='ber', region=cls.berlin)
        cls.site_nyc = Site.objects.create(name='NYC', slug='nyc', region=cls.us)
        dt = DeviceType.objects.create(
            manufacturer=Manufacturer.objects.create(name='M', slug='m'), model='T', slug='t'
        )
        role = DeviceRole.objects.create(name='R', slug='r')
        cls.dev_ber = Device.objects.create(name='ber1', site=cls.site_ber, device_type=dt, role=role)
        cls.dev_nyc = Device.objects.create(name='nyc1', site=cls.site_nyc, device_type=dt, role=role)
        cls.dev_blue = Device.objects.create(
            name='blue1', site=cls.site_nyc, device_type=dt, role=role, tenant=cls.tenant
        )
        cls.user = get_user_model().objects.create_user(username='iam-user')

    def grant(self, model, actions, constraints):
        permission = ObjectPermission.objects.create(name='t', actions=list(actions), constraints=constraints)
        permission.object_types.add(ObjectType.objects.get_for_model(model))
        permission.users.add(self.user)
        return get_user_model().objects.get(pk=self.user.pk)  # a fresh user: NetBox caches permissions on it

    def test_actions_never_include_add_change_delete_when_role_is_admin(self):
        self.assertEqual(actions_for_role(['roots:read']), ('view',))
        self.assertEqual(actions_for_role(['roots:read', 'roots:reconcile']), ('reconcile', 'view'))
        self.assertEqual(actions_for_role(['*']), ('reconcile', 'view'))
        self.assertEqual(actions_for_role(['snapshots:run', 'rejects:read']), ())

    def test_root_models_are_policy_roots_and_panel_models_when_defaults_used(self):
        labels = {m._meta.label_lower for m in root_models()}
        self.assertEqual(
            labels,
            {'dcim.device', 'virtualization.virtualmachine', 'dcim.site', 'ipam.prefix', 'ipam.vlan'},
        )

    def test_scope_fields_follow_each_model_when_root_types_differ(self):
        self.assertEqual(scope_fields(Site), {'tenant': 'tenant__slug__in', 'site': 'slug__in', 'region': 'region__in'})
        self.assertEqual(scope_fields(Device)['region'], 'site__region__in')
        self.assertEqual(scope_fields(VirtualMachine)['site'], 'site__slug__in')
        self.assertEqual(
            scope_fields(Prefix), {'tenant': 'tenant__slug__in', 'site': '_site__slug__in', 'region': '_region__in'}
        )

    def test_constraints_are_none_when_scope_is_everything(self):
        self.assertIsNone(constraints_for(Device, '*'))

    def test_region_covers_descendants_when_permission_applied(self):
        user = self.grant(Device, ['view', 'reconcile'], constraints_for(Device, {'regions': ['emea']}))
        self.assertEqual(set(Device.objects.restrict(user, 'view')), {self.dev_ber})
        self.assertTrue(user.has_perm('dcim.reconcile_device', self.dev_ber))
        self.assertFalse(user.has_perm('dcim.reconcile_device', self.dev_nyc))
        self.assertFalse(user.has_perm('dcim.change_device', self.dev_ber))

    def test_scope_parts_are_ored_when_tenant_and_site_given(self):
        constraints = constraints_for(Device, {'tenants': ['blue'], 'sites': ['ber']})
        self.assertEqual(constraints, [{'tenant__slug__in': ['blue']}, {'site__slug__in': ['ber']}])
        user = self.grant(Device, ['view'], constraints)
        self.assertEqual(set(Device.objects.restrict(user, 'view')), {self.dev_ber, self.dev_blue})

    def test_nothing_matches_when_region_unknown(self):
        user = self.grant(Device, ['view'], constraints_for(Device, {'regions': ['atlantis']}))
        self.assertEqual(list(Device.objects.restrict(user, 'view')), [])
