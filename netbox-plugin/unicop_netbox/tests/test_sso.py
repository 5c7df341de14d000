from types import SimpleNamespace

from django.core.exceptions import ImproperlyConfigured
from django.test import TestCase, override_settings
from users.models import Group, User

from unicop_netbox.conf import check_settings
from unicop_netbox.sso import sync_groups

__all__ = ('SyncGroupsTests',)

BASE = {'webhook_secret': 'x'}


def groups_of(user):
    return sorted(user.groups.values_list('name', flat=True))


@override_settings(PLUGINS_CONFIG={'unicop_netbox': BASE})
class SyncGroupsTests(TestCase):
    def setUp(self):
        self.user = User.objects.create_user(username='alice')
        for name in ('netops-emea', 'netops-amer', 'auditors', 'local-team'):
            Group.objects.create(name=name)
        self.backend = SimpleNamespace(id_token=None)

    def test_user_joins_claimed_groups_when_first_logging_in(self):
        sync_groups(self.backend, user=self.user, response={'groups': ['netops-emea', 'auditors']})
        self.assertEqual(groups_of(self.user), ['auditors', 'netops-emea'])

    def test_user_leaves_group_when_claim_no_longer_names_it(self):
        self.user.groups.add(Group.objects.get(name='netops-amer'), Group.objects.get(name='netops-emea'))
        sync_groups(self.backend, user=self.user, response={'groups': ['netops-emea']})
        self.assertEqual(groups_of(self.user), ['netops-emea'])

    def test_unknown_group_is_not_created_when_claim_names_it(self):
        sync_groups(self.backend, user=self.user, response={'groups': ['no-such-group']})
        self.assertEqual(groups_of(self.user), [])
        self.assertFalse(Group.objects.filter(name='no-such-group').exists())

    def test_groups_unchanged_when_claim_missing(self):
        self.user.groups.add(Group.objects.get(name='local-team'))
        sync_groups(self.backend, user=self.user, response={'sub': 'alice'})
        self.assertEqual(groups_of(self.user), ['local-team'])

    def test_claim_read_from_id_token_when_userinfo_lacks_it(self):
        backend = SimpleNamespace(id_token={'groups': ['auditors']})
        sync_groups(backend, user=self.user, response={'sub': 'alice'})
        self.assertEqual(groups_of(self.user), ['auditors'])

    @override_settings(PLUGINS_CONFIG={'unicop_netbox': {**BASE, 'sso_managed_groups': ['netops-emea', 'netops-amer']}})
    def test_unmanaged_group_kept_when_managed_list_set(self):
        self.user.groups.add(Group.objects.get(name='local-team'), Group.objects.get(name='netops-amer'))
        sync_groups(self.backend, user=self.user, response={'groups': ['netops-emea', 'auditors']})
        self.assertEqual(groups_of(self.user), ['local-team', 'netops-emea'])

    @override_settings(PLUGINS_CONFIG={'unicop_netbox': {**BASE, 'sso_groups_claim': 'roles'}})
    def test_configured_claim_used_when_set(self):
        sync_groups(self.backend, user=self.user, response={'groups': ['auditors'], 'roles': ['netops-amer']})
        self.assertEqual(groups_of(self.user), ['netops-amer'])

    def test_check_refuses_settings_when_managed_groups_not_a_list(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "['sso_managed_groups'] must be None"):
            check_settings({**BASE, 'sso_managed_groups': 'netops-emea'})
