from io import StringIO

from core.models import ObjectType
from dcim.models import Device, DeviceRole, DeviceType, Manufacturer, Region, Site
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import TestCase
from users.models import Group, ObjectPermission

from unicop_netbox.iam_sync import MANAGED

from .test_iam import EXAMPLE, policy_file

__all__ = ('IamSyncTests',)

POLICY = {
    **EXAMPLE,
    'bindings': [
        *EXAMPLE['bindings'],
        {'subjects': {'users': ['bob', 'carol']}, 'role': 'viewer', 'scope': {'sites': ['ber'], 'tenants': ['blue']}},
    ],
}


def sync(*args, policy=POLICY):
    out = StringIO()
    call_command('unicop_iam_sync', '--policy', policy_file(policy), *args, stdout=out)
    return out.getvalue().splitlines()


def snapshot():
    """Everything the command may touch, comparable."""
    perms = [
        (p.name, p.description, sorted(p.actions), p.constraints, p.enabled,
         sorted(p.object_types.values_list('pk', flat=True)),
         sorted(p.users.values_list('username', flat=True)), sorted(p.groups.values_list('name', flat=True)))
        for p in ObjectPermission.objects.order_by('name', 'pk')
    ]  # fmt: skip
    return perms, sorted(Group.objects.values_list('name', 'description'))


class IamSyncTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        emea = Region.objects.create(name='EMEA', slug='emea')
        berlin = Region.objects.create(name='Berlin', slug='berlin', parent=emea)
        cls.site = Site.objects.create(name='BER', slug='ber', region=berlin)
        cls.other = Site.objects.create(name='NYC', slug='nyc')
        dt = DeviceType.objects.create(
            manufacturer=Manufacturer.objects.create(name='M', slug='m'), model='T', slug='t'
        )
        role = DeviceRole.objects.create(name='R', slug='r')
        cls.device = Device.objects.create(name='ber1', site=cls.site, device_type=dt, role=role)
        cls.far = Device.objects.create(name='nyc1', site=cls.other, device_type=dt, role=role)
        users = get_user_model().objects
        cls.alice, cls.bob = users.create_user(username='alice'), users.create_user(username='bob')
        cls.operator = users.create_user(username='olga')
        # objects the command does not manage: a hand-made permission (even with the prefix) and a group
        cls.foreign = ObjectPermission.objects.create(name='unicop:iam:by-hand', actions=['change'], description='mine')
        cls.foreign.object_types.add(ObjectType.objects.get_for_model(Device))
        Group.objects.create(name='netops-emea-old', description='by hand')

    def test_second_run_changes_nothing_when_policy_unchanged(self):
        first = sync()
        self.assertIn('group netops-emea: create', first)
        self.assertIn('user carol: not in NetBox yet (created at first sign-in; run again then)', first)
        self.assertIn('1 binding(s) for tokens only: skipped (machines, no NetBox user)', first)
        after_first = snapshot()
        second = sync()
        self.assertEqual(second[-1], '0 change(s)')
        self.assertEqual(snapshot(), after_first)

    def test_permissions_grant_reconcile_in_scope_when_applied(self):
        sync()
        group = Group.objects.get(name='netops-emea')
        self.assertEqual(group.description, MANAGED)
        self.operator.groups.add(group)
        olga = get_user_model().objects.get(pk=self.operator.pk)
        self.assertTrue(olga.has_perm('dcim.reconcile_device', self.device))
        self.assertFalse(olga.has_perm('dcim.reconcile_device', self.far))
        self.assertFalse(olga.has_perm('dcim.change_device', self.device))
        alice = get_user_model().objects.get(pk=self.alice.pk)
        self.assertTrue(alice.has_perm('dcim.reconcile_device', self.far))
        bob = get_user_model().objects.get(pk=self.bob.pk)
        self.assertTrue(bob.has_perm('dcim.view_device', self.device))
        self.assertFalse(bob.has_perm('dcim.view_device', self.far))
        self.assertFalse(bob.has_perm('dcim.reconcile_device', self.device))

    def test_dry_run_prints_diff_and_changes_nothing_when_policy_differs(self):
        before = snapshot()
        lines = sync('--dry-run')
        self.assertIn('group netops-emea: would create', lines)
        self.assertTrue(
            any(line.startswith('permission unicop:iam:operator:') and 'would create' in line for line in lines)
        )
        self.assertTrue(lines[-1].endswith('planned, none made (dry run)'))
        self.assertEqual(snapshot(), before)

    def test_unneeded_permissions_deleted_and_foreign_ones_kept_when_binding_removed(self):
        sync()
        self.assertTrue(ObjectPermission.objects.filter(name__startswith='unicop:iam:viewer:').exists())
        lines = sync(policy={**POLICY, 'bindings': POLICY['bindings'][:3]})
        self.assertTrue(any('viewer' in line and line.endswith(': delete') for line in lines), lines)
        self.assertFalse(ObjectPermission.objects.filter(name__startswith='unicop:iam:viewer:').exists())
        self.assertTrue(ObjectPermission.objects.filter(pk=self.foreign.pk, actions=['change']).exists())
        self.assertTrue(Group.objects.filter(name='netops-emea-old').exists())
        self.assertTrue(Group.objects.filter(name='netops-emea').exists())  # groups are never deleted

    def test_hand_edit_is_undone_when_managed_permission_changed(self):
        sync()
        permission = ObjectPermission.objects.filter(name__startswith='unicop:iam:admin:').get()
        permission.actions = ['view', 'reconcile', 'delete']
        permission.save()
        lines = sync()
        self.assertIn(f'permission {permission.name}: update (actions)', lines)
        permission.refresh_from_db()
        self.assertEqual(sorted(permission.actions), ['reconcile', 'view'])

    def test_every_problem_listed_and_nothing_changed_when_policy_invalid(self):
        before = snapshot()
        bad = {**POLICY, 'bindings': [{'subjects': {'users': ['x']}, 'role': 'ghost', 'scope': '*'}], 'roles': {}}
        with self.assertRaises(CommandError) as caught:
            sync(policy=bad)
        self.assertIn("unknown role 'ghost'", str(caught.exception))
        self.assertIn('nothing changed', str(caught.exception))
        with self.assertRaises(CommandError) as caught:
            sync(policy={'version': 2, 'roles': [], 'bindings': {}})
        self.assertIn('3 problem(s)', str(caught.exception))
        self.assertEqual(snapshot(), before)
