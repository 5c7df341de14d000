import threading
import time
from unittest import mock

from django.test import override_settings
from utilities.testing import TestCase

from unicop_netbox.receiver import PANEL_BUDGET, PANEL_MAX_FETCHES, root_overview

from .objects import create_roots
from .receiver_stub import ReceiverStub, closed_port, root_state, timeline, timeline_entry

__all__ = ('RootPanelTests',)

# Page rendering on a 2-core test machine adds to the panel's 2 s budget; the budget itself is checked separately.
PAGE_SLACK = 1.5
XSS = '<script>alert("x")</script>'


BUSY = 'UNICOP panel busy: too many pending requests to the receiver'


def wait_for(condition, timeout=10.0):
    """Poll `condition` until it is true or `timeout` passes (bounded; no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f'condition not met within {timeout} s')
        time.sleep(0.01)


def closed_config():
    return {'unicop_netbox': {'receiver_url': f'http://127.0.0.1:{closed_port()}', 'webhook_secret': 's'}}


class RootPanelTests(TestCase):
    user_permissions = (
        'dcim.view_device',
        'dcim.view_site',
        'virtualization.view_virtualmachine',
        'ipam.view_prefix',
        'ipam.view_vlan',
    )

    @classmethod
    def setUpTestData(cls):
        cls.objects = create_roots()
        cls.root = f'dcim.device:{cls.objects.device.pk}'

    def get_device_page(self):
        started = time.monotonic()
        response = self.client.get(self.objects.device.get_absolute_url())
        return response, time.monotonic() - started

    def test_panel_says_unreachable_when_receiver_port_closed(self):
        with override_settings(PLUGINS_CONFIG=closed_config()):
            response, elapsed = self.get_device_page()
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'unicop-panel')
        self.assertContains(response, 'UNICOP receiver unreachable: connection refused')
        self.assertLess(elapsed, PANEL_BUDGET + PAGE_SLACK)

    def test_panel_renders_within_budget_when_receiver_slower_than_timeout(self):
        with ReceiverStub(delay=4) as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            started = time.monotonic()
            overview = root_overview(self.root)
            budget_used = time.monotonic() - started
            response, elapsed = self.get_device_page()
        self.assertLess(budget_used, PANEL_BUDGET + 0.3)
        self.assertIn('UNICOP receiver unreachable: no answer within 2 s', overview.problem)
        self.assertContains(response, 'UNICOP receiver unreachable: no answer within 2 s')
        self.assertLess(elapsed, PANEL_BUDGET + PAGE_SLACK)

    def test_panel_shows_state_and_events_when_receiver_answers(self):
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            stub.routes[('GET', f'/v1/roots/{self.root}')] = (200, root_state(self.root))
            stub.routes[('GET', f'/v1/roots/{self.root}/timeline')] = (
                200,
                timeline(
                    self.root,
                    [
                        timeline_entry(2, 'updated', f'dcim.interface:7 {XSS}', user='alice', superseded=True),
                        timeline_entry(1, 'created', 'dcim.device:1', user=None),
                    ],
                ),
            )
            response, _ = self.get_device_page()
        self.assertEqual(response.status_code, 200)
        for text in ('failed', 'unreachable', 'host 192.0.2.1 unreachable', 'updated', 'created', 'alice'):
            self.assertContains(response, text)
        self.assertContains(response, '<td>2</td>', html=False)  # attempt
        self.assertContains(response, '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;')
        self.assertNotContains(response, XSS)
        self.assertNotContains(response, 'unreachable:')
        paths = sorted(r['path'] for r in stub.requests)
        self.assertEqual(paths, [f'/v1/roots/{self.root}/timeline?limit=10', f'/v1/roots/{self.root}?known=any'])
        self.assertTrue(all(r['headers']['Authorization'] == 'Bearer test-token' for r in stub.requests))

    def test_panel_says_no_events_when_receiver_answers_404(self):
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response, _ = self.get_device_page()
        self.assertContains(response, f'UNICOP: no events recorded yet for {self.root}.')
        self.assertNotContains(response, 'unreachable:')

    def test_panel_shows_error_code_when_receiver_rejects_token(self):
        with ReceiverStub(token='right') as stub, override_settings(PLUGINS_CONFIG=stub.config(receiver_token='wrong')):
            response, _ = self.get_device_page()
        self.assertContains(response, 'UNICOP receiver answered 401 UNICOP_API_TOKEN_INVALID')

    def test_panel_appears_on_every_default_root_page_when_defaults_used(self):
        objs = self.objects
        with override_settings(PLUGINS_CONFIG=closed_config()):
            for obj in (objs.device, objs.vm, objs.site, objs.prefix, objs.vlan):
                with self.subTest(model=obj._meta.label_lower):
                    response = self.client.get(obj.get_absolute_url())
                    self.assertEqual(response.status_code, 200)
                    key = f'{obj._meta.app_label}.{obj._meta.model_name}:{obj.pk}'
                    self.assertContains(response, f'UNICOP <small class="text-secondary">{key}</small>')

    def test_button_shown_when_user_may_change_root(self):
        self.add_permissions('dcim.change_device')
        with override_settings(PLUGINS_CONFIG=closed_config()):
            response, _ = self.get_device_page()
        url = f'/plugins/unicop/reconcile/dcim/device/{self.objects.device.pk}/'
        self.assertContains(response, f'<form method="post" action="{url}"')
        self.assertContains(response, 'csrfmiddlewaretoken')

    def test_button_shown_when_user_may_reconcile_root_without_change(self):
        self.add_permissions('dcim.reconcile_device')
        with override_settings(PLUGINS_CONFIG=closed_config()):
            response, _ = self.get_device_page()
        self.assertContains(response, f'action="/plugins/unicop/reconcile/dcim/device/{self.objects.device.pk}/"')

    def test_button_hidden_when_user_lacks_change_permission(self):
        with override_settings(PLUGINS_CONFIG=closed_config()):
            response, _ = self.get_device_page()
        self.assertNotContains(response, '/plugins/unicop/reconcile/')

    def test_panel_says_busy_at_once_when_fetches_to_slow_receiver_fill_every_slot(self):
        hold = threading.Event()
        # Requests that would wait far longer than the page does: only the bound on in-flight fetches can help.
        with (
            ReceiverStub(hold=hold) as stub,
            override_settings(PLUGINS_CONFIG=stub.config()),
            mock.patch('unicop_netbox.receiver.READ_TIMEOUT', (0.5, 30)),
        ):
            pages = [
                threading.Thread(target=root_overview, args=(self.root,), kwargs={'budget': 30})
                for _ in range(PANEL_MAX_FETCHES // 2)  # two fetches per panel
            ]
            try:
                for page in pages:
                    page.start()
                wait_for(lambda: len(stub.requests) == PANEL_MAX_FETCHES)
                started = time.monotonic()
                overview = root_overview(self.root)
                busy_used = time.monotonic() - started
                response, elapsed = self.get_device_page()
                sent_while_full = len(stub.requests)
            finally:
                hold.set()
                for page in pages:
                    page.join(timeout=30)
            after = root_overview(self.root)
        self.assertEqual(overview.problem, BUSY)
        self.assertLess(busy_used, 0.5)
        self.assertContains(response, BUSY)
        self.assertLess(elapsed, PAGE_SLACK)
        self.assertEqual(sent_while_full, PANEL_MAX_FETCHES)  # nothing queued behind the slow ones
        self.assertIsNone(after.problem)  # the slots came back when the slow fetches ended
        self.assertTrue(after.not_found)
