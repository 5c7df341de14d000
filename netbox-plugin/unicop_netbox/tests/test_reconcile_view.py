import json
from unittest import mock

from core.models import Job, ObjectChange
from django.contrib import messages as message_levels
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from utilities.testing import TestCase

from unicop_netbox.receiver import on_behalf_of
from unicop_netbox.views import reconcile_url

from .objects import create_roots
from .receiver_stub import ReceiverStub, closed_port, error_body

__all__ = ('ReconcileViewTests',)


class ReconcileViewTests(TestCase):
    user_permissions = ('dcim.view_device',)

    @classmethod
    def setUpTestData(cls):
        cls.objects = create_roots()
        cls.device = cls.objects.device
        cls.root = f'dcim.device:{cls.device.pk}'
        cls.url = reconcile_url(cls.device)

    def post(self, client=None):
        response = (client or self.client).post(self.url)
        return response, [str(m) for m in get_messages(response.wsgi_request)]

    def post_levels(self):
        """POST from a fresh session (messages of earlier posts would still be queued in it): [(level, text)]."""
        client = Client()
        client.force_login(self.user)
        response = client.post(self.url)
        return response, [(m.level, str(m)) for m in get_messages(response.wsgi_request)]

    def test_view_answers_405_when_method_is_get(self):
        self.add_permissions('dcim.change_device')
        self.assertEqual(self.client.get(self.url).status_code, 405)

    def test_view_answers_403_and_calls_nothing_when_user_lacks_change_permission(self):
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response, _ = self.post()
        self.assertEqual(response.status_code, 403)
        self.assertEqual(stub.requests, [])

    def test_view_answers_403_when_csrf_token_missing(self):
        self.add_permissions('dcim.change_device')
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.user)
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response, _ = self.post(client)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(stub.requests, [])

    def test_view_redirects_to_login_when_anonymous(self):
        response = Client().post(self.url)
        self.assertEqual(response.status_code, 302)
        self.assertIn('/login/', response['Location'])

    def test_view_calls_receiver_when_user_has_reconcile_action_without_change(self):
        self.add_permissions('dcim.reconcile_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response, _ = self.post()
        self.assertRedirects(response, self.device.get_absolute_url(), fetch_redirect_response=False)
        self.assertEqual([r['path'] for r in stub.requests], [f'/v1/roots/{self.root}/reconcile'])

    def test_view_answers_404_when_model_not_in_panel_models(self):
        self.add_permissions('dcim.change_interface')
        response = self.client.post(f'/plugins/unicop/reconcile/dcim/interface/{self.objects.interface.pk}/')
        self.assertEqual(response.status_code, 404)

    def test_view_calls_receiver_and_redirects_with_reconcile_id_when_permitted(self):
        self.add_permissions('dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response, messages = self.post()
        self.assertRedirects(response, self.device.get_absolute_url(), fetch_redirect_response=False)
        self.assertEqual(len(stub.requests), 1)
        sent = stub.requests[0]
        self.assertEqual((sent['method'], sent['path']), ('POST', f'/v1/roots/{self.root}/reconcile'))
        self.assertEqual(sent['headers']['Authorization'], 'Bearer test-token')
        self.assertRegex(sent['headers']['Idempotency-Key'], r'^netbox-[0-9a-f]{40}$')
        self.assertEqual(json.loads(sent['body']), {'reason': 'NetBox UI: Reconcile button by testuser'})
        reconcile_id = next(iter(stub.reconcile_ids.values()))
        self.assertEqual(messages, [f'Reconcile of {self.root} requested: reconcile id {reconcile_id}'])

    def test_view_asks_for_the_source_qualified_root_when_source_name_set(self):
        # a federation file with several sources keys this NetBox's roots `<source_name>/<key>` (docs/federation.md)
        self.add_permissions('dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config(source_name='nb-eu')):
            self.post()
        self.assertEqual([r['path'] for r in stub.requests], [f'/v1/roots/nb-eu%2F{self.root}/reconcile'])

    def test_double_click_is_one_request_when_within_time_bucket(self):
        self.add_permissions('dcim.change_device')
        with (
            ReceiverStub() as stub,
            override_settings(PLUGINS_CONFIG=stub.config()),
            mock.patch('unicop_netbox.receiver._now', return_value=1_700_000_001.0),
        ):
            self.post()
            _, messages = self.post()
        keys = {r['headers']['Idempotency-Key'] for r in stub.requests}
        self.assertEqual(len(keys), 1)
        self.assertEqual(len(stub.reconcile_ids), 1)
        self.assertIn('was already requested', messages[-1])

    def test_view_shows_error_code_and_creates_nothing_when_token_rejected(self):
        self.add_permissions('dcim.change_device')
        changes, jobs = ObjectChange.objects.count(), Job.objects.count()
        with ReceiverStub(token='right') as stub, override_settings(PLUGINS_CONFIG=stub.config(receiver_token='bad')):
            response, messages = self.post()
        self.assertRedirects(response, self.device.get_absolute_url(), fetch_redirect_response=False)
        self.assertEqual(len(stub.requests), 1)  # no retry
        self.assertEqual(stub.reconcile_ids, {})
        self.assertEqual(len(messages), 1)
        self.assertIn('401 UNICOP_API_TOKEN_INVALID', messages[0])
        self.assertIn(f'Reconcile of {self.root} not requested', messages[0])
        self.assertEqual((ObjectChange.objects.count(), Job.objects.count()), (changes, jobs))

    def test_view_says_unreachable_when_receiver_down(self):
        self.add_permissions('dcim.change_device')
        config = {'unicop_netbox': {'receiver_url': f'http://127.0.0.1:{closed_port()}', 'webhook_secret': 's'}}
        with override_settings(PLUGINS_CONFIG=config):
            response, messages = self.post()
        self.assertEqual(response.status_code, 302)
        self.assertIn('UNICOP receiver unreachable: connection refused', messages[0])

    def test_view_sends_the_netbox_user_as_on_behalf_of(self):
        self.add_permissions('dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            self.post()
        self.assertEqual(stub.requests[0]['headers']['X-Unicop-On-Behalf-Of'], 'testuser')

    def test_on_behalf_of_percent_encodes_what_is_not_visible_ascii(self):
        self.assertEqual(on_behalf_of('a.b@c+d_e-f'), 'a.b@c+d_e-f')
        self.assertEqual(on_behalf_of('Jürgen M 100%'), 'J%C3%BCrgen%20M%20100%25')

    def test_view_shows_error_message_with_receiver_code_when_request_cannot_start(self):
        self.add_permissions('dcim.change_device')
        path = f'/v1/roots/{self.root}/reconcile'
        cases = {
            'unreachable': (None, 'UNICOP receiver unreachable: connection refused'),
            '401': ((401, error_body('UNICOP_API_TOKEN_INVALID', 'bad token')), '401 UNICOP_API_TOKEN_INVALID'),
            '403': ((403, error_body('UNICOP_API_FORBIDDEN', 'not yours')), '403 UNICOP_API_FORBIDDEN'),
            '404': ((404, error_body('UNICOP_API_ROOT_NOT_FOUND', 'unknown')), '404 UNICOP_API_ROOT_NOT_FOUND'),
            '500': ((500, error_body('UNICOP_HTTP_INTERNAL', 'boom')), '500 UNICOP_HTTP_INTERNAL: boom'),
        }
        for name, (answer, expected) in cases.items():
            with self.subTest(name), ReceiverStub() as stub:
                config = stub.config()
                if answer is None:
                    config['unicop_netbox']['receiver_url'] = f'http://127.0.0.1:{closed_port()}'
                else:
                    stub.routes[('POST', path)] = answer
                with override_settings(PLUGINS_CONFIG=config):
                    response, messages = self.post_levels()
                self.assertRedirects(response, self.device.get_absolute_url(), fetch_redirect_response=False)
                self.assertEqual(len(messages), 1)
                level, text = messages[0]
                self.assertEqual(level, message_levels.ERROR)
                self.assertIn(f'Reconcile of {self.root} not requested', text)
                self.assertIn(expected, text)

    def test_view_shows_success_message_when_receiver_accepts(self):
        self.add_permissions('dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            _, messages = self.post_levels()
        self.assertEqual([level for level, _ in messages], [message_levels.SUCCESS])

    def test_error_message_shown_on_the_object_page_after_redirect(self):
        self.add_permissions('dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            stub.routes[('POST', f'/v1/roots/{self.root}/reconcile')] = (
                404,
                error_body('UNICOP_API_ROOT_NOT_FOUND', 'unknown'),
            )
            response = self.client.post(self.url, follow=True)
        self.assertContains(response, 'id="django-messages"')
        self.assertContains(response, 'text-bg-danger')
        self.assertContains(response, '404 UNICOP_API_ROOT_NOT_FOUND')
