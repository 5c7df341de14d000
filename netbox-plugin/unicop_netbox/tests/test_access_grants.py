from datetime import timedelta
from unittest import mock

from core.models import ObjectType
from dcim.models import Device, DeviceRole, DeviceType, Manufacturer, Region, Site
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from extras.models import EventRule
from rest_framework import status
from users.models import Group, ObjectPermission
from utilities.testing import APITestCase, TestCase

from unicop_netbox.grants import expire_grants, expiry_run_at
from unicop_netbox.jobs import GrantExpiryJob, GrantExpirySweep
from unicop_netbox.management.commands.unicop_bootstrap import bootstrap
from unicop_netbox.models import AccessGrant

from .test_iam import EXAMPLE, policy_file

__all__ = ('AccessGrantApiTests', 'AccessGrantModelTests', 'AccessGrantViewTests')

CONFIG = {'unicop_netbox': {'webhook_secret': 's' * 16, 'grant_max_seconds': 3600}}


def in_seconds(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def world():
    emea = Region.objects.create(name='EMEA', slug='emea')
    site = Site.objects.create(name='BER', slug='ber', region=Region.objects.create(name='B', slug='b', parent=emea))
    far = Site.objects.create(name='NYC', slug='nyc')
    dt = DeviceType.objects.create(manufacturer=Manufacturer.objects.create(name='M', slug='m'), model='T', slug='t')
    role = DeviceRole.objects.create(name='R', slug='r')
    near = Device.objects.create(name='ber1', site=site, device_type=dt, role=role)
    return near, Device.objects.create(name='nyc1', site=far, device_type=dt, role=role)


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)  # NetBox caches a user's permissions on the instance


@override_settings(PLUGINS_CONFIG=CONFIG)
class AccessGrantModelTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.near, cls.far = world()
        cls.alice = get_user_model().objects.create_user(username='alice')
        cls.boss = get_user_model().objects.create_user(username='boss')

    def grant(self, **fields):
        values = {'user': self.alice, 'role': 'operator', 'scope': {'regions': ['emea']}, 'reason': 'incident 42'}
        grant = AccessGrant(**{**values, 'expires_at': in_seconds(600), 'granted_by': self.boss, **fields})
        grant.full_clean()
        grant.save()
        return grant

    def test_grant_refused_when_expiry_in_past_or_beyond_maximum(self):
        with self.assertRaises(ValidationError) as past:
            self.grant(expires_at=in_seconds(-1))
        self.assertIn('Must be in the future', str(past.exception.message_dict['expires_at']))
        with self.assertRaises(ValidationError) as far:
            self.grant(expires_at=in_seconds(3700))
        self.assertIn('At most 3600 s (1 h) ahead', str(far.exception.message_dict['expires_at']))
        self.assertFalse(AccessGrant.objects.exists())

    def test_grant_refused_unless_exactly_one_of_user_and_group(self):
        group = Group.objects.create(name='netops')
        for fields in ({'user': None}, {'group': group}):
            with self.subTest(fields=fields), self.assertRaises(ValidationError) as caught:
                self.grant(**fields)
            self.assertIn('exactly one of user and group', str(caught.exception))
        with self.assertRaises(IntegrityError), transaction.atomic():  # the database refuses it too
            AccessGrant.objects.bulk_create(
                [AccessGrant(role='x', scope='*', reason='r', expires_at=in_seconds(60), user=self.alice, group=group)]
            )

    def test_grant_refused_when_scope_malformed_or_reason_empty(self):
        for fields, field in (
            ({'scope': {'regions': []}}, 'scope'),
            ({'scope': 'all'}, 'scope'),
            ({'reason': ' '}, 'reason'),
        ):
            with self.subTest(fields=fields), self.assertRaises(ValidationError) as caught:
                self.grant(**fields)
            self.assertIn(field, caught.exception.message_dict)

    def test_role_checked_against_policy_when_one_is_configured(self):
        config = {'unicop_netbox': {**CONFIG['unicop_netbox'], 'iam_policy': policy_file(EXAMPLE)}}
        with override_settings(PLUGINS_CONFIG=config), self.assertRaises(ValidationError) as caught:
            self.grant(role='superhero')
        self.assertIn("'superhero' is not a role of the IAM policy (admin, operator, viewer)", str(caught.exception))

    def test_grant_is_immutable_when_saved(self):
        grant = self.grant()
        grant.reason = 'changed my mind'
        with self.assertRaises(ValidationError):
            grant.save()
        self.assertEqual(AccessGrant.objects.get(pk=grant.pk).reason, 'incident 42')

    def test_permission_created_in_scope_and_deleted_with_grant(self):
        grant = self.grant()
        self.assertEqual(grant.permission.name, f'unicop:grant:{grant.pk}:dcim.device')
        self.assertTrue(fresh(self.alice).has_perm('dcim.reconcile_device', self.near))
        self.assertFalse(fresh(self.alice).has_perm('dcim.reconcile_device', self.far))
        grant.delete()
        self.assertFalse(ObjectPermission.objects.filter(name__startswith=f'unicop:grant:{grant.pk}').exists())
        self.assertFalse(fresh(self.alice).has_perm('dcim.reconcile_device', self.near))

    def test_group_grant_everywhere_is_one_permission_when_scope_is_star(self):
        group = Group.objects.create(name='oncall')
        self.boss.groups.add(group)
        grant = self.grant(user=None, group=group, scope='*', role='viewer')
        self.assertEqual(list(ObjectPermission.objects.filter(name__startswith='unicop:grant:')), [grant.permission])
        self.assertTrue(fresh(self.boss).has_perm('dcim.view_device', self.far))
        self.assertFalse(fresh(self.boss).has_perm('dcim.reconcile_device', self.far))

    def test_job_removes_permission_when_grant_expired(self):
        grant = self.grant()
        later = grant.expires_at + timedelta(seconds=1)
        self.assertEqual(expire_grants(now=grant.expires_at - timedelta(seconds=1)), [])
        self.assertTrue(fresh(self.alice).has_perm('dcim.reconcile_device', self.near))
        self.assertEqual(expire_grants(now=later), [grant.pk])
        self.assertFalse(fresh(self.alice).has_perm('dcim.reconcile_device', self.near))
        self.assertEqual(expire_grants(now=later), [])  # idempotent
        grant.refresh_from_db()
        self.assertIsNone(grant.permission)
        self.assertEqual(AccessGrant.objects.get(pk=grant.pk).status, 'active')  # by the wall clock, not yet

    def test_sweep_removes_permission_when_grant_expired_while_worker_down(self):
        grant = self.grant()
        other = self.grant(expires_at=in_seconds(1200))
        AccessGrant.objects.filter(pk=grant.pk).update(expires_at=in_seconds(-30))  # expired, nobody ran the job
        job = mock.Mock()
        GrantExpirySweep(job).run()
        self.assertFalse(ObjectPermission.objects.filter(name__startswith=f'unicop:grant:{grant.pk}').exists())
        self.assertTrue(ObjectPermission.objects.filter(name__startswith=f'unicop:grant:{other.pk}').exists())
        self.assertEqual(AccessGrant.objects.get(pk=grant.pk).status, 'expired')

    def test_expiry_job_scheduled_after_expiry_when_grant_committed(self):
        with mock.patch.object(GrantExpiryJob, 'enqueue') as enqueue, self.captureOnCommitCallbacks(execute=True):
            grant = self.grant()
        enqueue.assert_called_once_with(schedule_at=expiry_run_at(grant.expires_at))

    def test_expiry_job_never_runs_before_the_expiry_at_whole_seconds(self):
        # RQ's scheduler keeps whole seconds: a job given 12:00:00.600 may start at 12:00:00.0, before the expiry
        expires_at = timezone.now().replace(microsecond=600_000)
        run_at = expiry_run_at(expires_at)
        self.assertEqual(run_at.microsecond, 0)
        self.assertGreater(run_at, expires_at)
        self.assertLessEqual(run_at - expires_at, timedelta(seconds=1))
        whole = expires_at.replace(microsecond=0)
        self.assertEqual(expiry_run_at(whole), whole + timedelta(seconds=1))

    def test_bootstrap_event_rule_covers_grants_when_object_types_omit_them(self):
        settings = {'receiver_url': 'http://127.0.0.1:9', 'webhook_secret': 's' * 16, 'object_types': ['dcim.device']}
        bootstrap(settings)
        types = EventRule.objects.get(name='unicop').object_types.all()
        self.assertIn(ObjectType.objects.get_by_natural_key('unicop_netbox', 'accessgrant').pk, {t.pk for t in types})


@override_settings(PLUGINS_CONFIG=CONFIG)
class AccessGrantApiTests(APITestCase):
    @classmethod
    def setUpTestData(cls):
        cls.near, cls.far = world()
        cls.alice = get_user_model().objects.create_user(username='alice')

    def setUp(self):
        super().setUp()
        self.add_permissions('unicop_netbox.view_accessgrant', 'unicop_netbox.add_accessgrant')
        self.url = reverse('plugins-api:unicop_netbox-api:accessgrant-list')

    def body(self, **fields):
        expires = in_seconds(600).isoformat()
        return {'user': self.alice.pk, 'role': 'operator', 'scope': '*', 'reason': 'r', 'expires_at': expires, **fields}

    def test_api_creates_grant_with_caller_as_granted_by_and_receiver_fields(self):
        response = self.client.post(self.url, self.body(granted_by=self.alice.pk), format='json', **self.header)
        self.assertEqual(response.status_code, status.HTTP_201_CREATED, response.data)
        data = response.json()
        self.assertEqual(data['user']['username'], 'alice')
        self.assertIsNone(data['group'])
        self.assertEqual(data['granted_by']['username'], self.user.username)
        self.assertEqual((data['role'], data['scope'], data['reason']), ('operator', '*', 'r'))
        self.assertRegex(data['expires_at'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d')
        self.assertEqual(data['status'], 'active')
        self.assertIsNotNone(data['permission'])

    def test_api_refuses_expiry_beyond_maximum_with_message(self):
        response = self.client.post(
            self.url, self.body(expires_at=in_seconds(7200).isoformat()), format='json', **self.header
        )
        self.assertEqual(response.status_code, status.HTTP_400_BAD_REQUEST)
        self.assertIn('At most 3600 s', str(response.data))

    def test_api_refuses_update_and_allows_delete_when_grant_exists(self):
        self.add_permissions('unicop_netbox.change_accessgrant', 'unicop_netbox.delete_accessgrant')
        created = self.client.post(self.url, self.body(), format='json', **self.header).json()
        detail = reverse('plugins-api:unicop_netbox-api:accessgrant-detail', args=[created['id']])
        patched = self.client.patch(detail, {'reason': 'other'}, format='json', **self.header)
        self.assertEqual(patched.status_code, status.HTTP_405_METHOD_NOT_ALLOWED)
        self.assertEqual(self.client.delete(detail, **self.header).status_code, status.HTTP_204_NO_CONTENT)
        self.assertFalse(ObjectPermission.objects.filter(name__startswith=f'unicop:grant:{created["id"]}').exists())


@override_settings(PLUGINS_CONFIG=CONFIG)
class AccessGrantViewTests(TestCase):
    # the form offers only users and groups the granting user may view (NetBox's restrict_form_fields)
    user_permissions = ('unicop_netbox.view_accessgrant', 'unicop_netbox.add_accessgrant', 'users.view_user')

    def test_list_detail_and_create_views_answer_when_permitted(self):
        alice = get_user_model().objects.create_user(username='alice')
        response = self.client.post(
            reverse('plugins:unicop_netbox:accessgrant_add'),
            {
                'user': alice.pk,
                'role': 'viewer',
                'scope': '"*"',
                'reason': 'audit',
                'expires_at': in_seconds(600).strftime('%Y-%m-%d %H:%M:%S'),
            },
        )
        self.assertEqual(response.status_code, 302, response.context and response.context['form'].errors)
        grant = AccessGrant.objects.get()
        self.assertEqual(grant.granted_by, self.user)
        listing = self.client.get(reverse('plugins:unicop_netbox:accessgrant_list'))
        self.assertContains(listing, 'audit')
        detail = self.client.get(grant.get_absolute_url())
        self.assertContains(detail, 'id="unicop-grant-status"')
        self.assertContains(detail, 'active')
        self.assertNotContains(detail, '/edit/')
