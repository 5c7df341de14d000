"""The panel says why nothing would happen, refreshes itself only while an attempt is in flight, and is readable:
badges, cut subjects with the full key on hover, times in NetBox's format and time zone, links to the objects."""

import re

from django.test import Client, override_settings
from utilities.testing import TestCase

from unicop_netbox.panel import object_urls, panel_url

from .objects import create_roots
from .receiver_stub import ReceiverStub, error_body, root_state, timeline, timeline_entry, unmatched

__all__ = ('PanelReadableTests',)

NO_RULE = 'no rule matches dcim.site'
NO_POLICY = 'no reconcile policy configured (UNICOP_RECONCILE_POLICY is not set)'
# NetBox's isodatetime: <span title="natural time"><span title="natural day">date</span> time</span>.
TIME_CELL = r'<td class="unicop-event-time"><span title="[^"]+"><span title="[^"]+">{date}</span> {time}</span></td>'
NOT_FOUND = (404, error_body('UNICOP_API_ROOT_NOT_FOUND', 'no event has been recorded'))


def button_of(response):
    """The Reconcile button's <button> tag (the page has exactly one)."""
    tags = re.findall(r'<button[^>]*id="unicop-reconcile-button"[^>]*>', response.content.decode())
    assert len(tags) == 1, tags
    return tags[0]


def panel_of(response):
    """The panel's opening tag."""
    tags = re.findall(r'<div class="card unicop-panel"[^>]*>', response.content.decode())
    assert len(tags) == 1, tags
    return tags[0]


class PanelReadableTests(TestCase):
    user_permissions = ('dcim.view_device', 'dcim.view_site', 'dcim.change_device', 'dcim.change_site')

    @classmethod
    def setUpTestData(cls):
        cls.objects = create_roots()
        cls.device_root = f'dcim.device:{cls.objects.device.pk}'
        cls.site_root = f'dcim.site:{cls.objects.site.pk}'

    def page(self, stub, obj, state, items=None):
        root = f'{obj._meta.app_label}.{obj._meta.model_name}:{obj.pk}'
        stub.routes[('GET', f'/v1/roots/{root}')] = (200, state)
        stub.routes[('GET', f'/v1/roots/{root}/timeline')] = (
            NOT_FOUND if items is None else (200, timeline(root, items))
        )
        return self.client.get(obj.get_absolute_url())

    # -- item 3: no silent clicks ---------------------------------------------------------------------------------

    def test_panel_says_not_reconciled_and_button_disabled_when_no_rule_matches(self):
        state = root_state(self.site_root, state='idle', attempt=0, lastOutcome=None, policy=unmatched(NO_RULE))
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response = self.page(stub, self.objects.site, state, [timeline_entry(1, 'created', self.site_root)])
        self.assertContains(response, f'not reconciled: {NO_RULE}')
        self.assertIn('id="unicop-not-reconciled"', response.content.decode())
        button = button_of(response)
        self.assertIn(' disabled', button)
        self.assertIn(f'title="not reconciled: {NO_RULE}"', button)

    def test_panel_says_no_policy_and_no_events_when_receiver_never_saw_the_root(self):
        state = root_state(
            self.site_root,
            state='idle',
            attempt=0,
            lastOutcome=None,
            lastSequence=0,
            known=False,
            policy=unmatched(NO_POLICY),
        )
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response = self.page(stub, self.objects.site, state)
        self.assertContains(response, f'UNICOP: no events recorded yet for {self.site_root}.')
        self.assertContains(response, f'not reconciled: {NO_POLICY}')
        self.assertIn(' disabled', button_of(response))
        self.assertIn(
            ('GET', f'/v1/roots/{self.site_root}?known=any'), [(r['method'], r['path']) for r in stub.requests]
        )

    def test_button_enabled_and_job_template_shown_when_a_rule_matches(self):
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response = self.page(stub, self.objects.device, root_state(self.device_root), [])
        self.assertNotIn('disabled', button_of(response))
        self.assertContains(response, 'reconcile-device')
        self.assertNotContains(response, 'not reconciled')
        self.assertEqual(len(stub.requests), 2, 'the button and the panel share one read of each')

    # -- item 3: htmx refresh only while in flight ----------------------------------------------------------------

    def test_panel_polls_with_htmx_only_while_an_attempt_is_in_flight(self):
        device = self.objects.device
        url = panel_url(device)
        in_flight = {
            'reconcileId': '0b6c3c55-5d5e-4c1a-8f0e-0a4f3b0e7c11',
            'attempt': 3,
            'requestedAt': '2026-01-02T03:04:05Z',
            'deadline': '2026-01-02T03:14:05Z',
            'awxJobId': None,
        }
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            for state in ('pending', 'requested', 'running'):
                with self.subTest(state=state):
                    response = self.page(
                        stub, device, root_state(self.device_root, state=state, inFlight=in_flight), []
                    )
                    tag = panel_of(response)
                    self.assertIn(f'hx-get="{url}"', tag)
                    self.assertIn('hx-trigger="every 2s"', tag)
                    self.assertIn('hx-swap="outerHTML"', tag)
                    fragment = self.client.get(url)
                    self.assertEqual(fragment.status_code, 200)
                    self.assertIn('hx-trigger="every 2s"', panel_of(fragment))
                    self.assertNotContains(fragment, '<html')
            for state in ('idle', 'succeeded', 'failed', 'timed_out'):
                with self.subTest(state=state):
                    response = self.page(stub, device, root_state(self.device_root, state=state), [])
                    self.assertNotIn('hx-', panel_of(response))
                    fragment = self.client.get(url)
                    self.assertNotIn('hx-', panel_of(fragment), 'the fragment after the end stops the polling')
                    self.assertIn(f'data-unicop-state="{state}"', panel_of(fragment))

    def test_panel_fragment_needs_login_and_view_permission(self):
        url = panel_url(self.objects.vm)
        self.assertEqual(Client().get(url).status_code, 302)
        self.assertEqual(self.client.get(url).status_code, 404)  # no virtualization.view_virtualmachine

    # -- item 5: readable -----------------------------------------------------------------------------------------

    def test_long_subject_cut_with_full_value_in_title(self):
        subject = 'dcim.interface:1234567890123'
        long_subject = 'dcim.frontport:' + '9' * 17
        items = [timeline_entry(2, 'updated', long_subject), timeline_entry(1, 'updated', subject)]
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response = self.page(stub, self.objects.device, root_state(self.device_root), items)
        html = response.content.decode()
        self.assertIn(f'title="{long_subject}"', html)
        self.assertNotIn(f'>{long_subject}<', html)
        self.assertIn(f'>{long_subject[:27]}…<', html)
        self.assertIn('style="table-layout: fixed; width: 100%"', html)
        self.assertIn('id="unicop-timeline"', html)

    @override_settings(TIME_ZONE='Asia/Tokyo')
    def test_times_rendered_in_netbox_format_and_time_zone_from_both_iso_forms(self):
        items = [
            timeline_entry(2, 'updated', 'dcim.interface:1', time='2026-01-02T03:04:05.123456+00:00'),
            timeline_entry(1, 'created', 'dcim.interface:1', time='2026-01-02T23:59:58.5Z'),
        ]
        state = root_state(self.device_root)
        state['lastOutcome']['at'] = '2026-01-02T03:00:00Z'
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response = self.page(stub, self.objects.device, state, items)
        html = response.content.decode()
        # Asia/Tokyo is UTC+9. NetBox's isodatetime: <span title="natural time"><span …>date</span> time</span>.
        self.assertRegex(
            html,
            TIME_CELL.format(date='2026-01-02', time='12:04:05'),
        )
        self.assertRegex(
            html,
            TIME_CELL.format(date='2026-01-03', time='08:59:58'),
        )
        self.assertRegex(html, r'<span title="[^"]+">2026-01-02</span> 12:00:00</span>')
        self.assertNotIn('2026-01-02T03:04:05', html)
        self.assertNotIn('+00:00', html)

    def test_outcome_and_state_shown_as_netbox_badges(self):
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response = self.page(stub, self.objects.device, root_state(self.device_root), [])
        html = response.content.decode()
        self.assertRegex(html, r'<span class="badge text-bg-danger">\s*failed\s*</span>')
        self.assertRegex(html, r'<span class="badge text-bg-danger">\s*unreachable\s*</span>')

    def test_event_links_to_its_object_when_it_exists_and_may_be_viewed(self):
        self.add_permissions('dcim.view_interface')
        interface = self.objects.interface
        items = [
            timeline_entry(3, 'deleted', 'dcim.interface:999999'),
            timeline_entry(2, 'updated', f'dcim.interface:{interface.pk}'),
            timeline_entry(1, 'created', self.device_root),
        ]
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            response = self.page(stub, self.objects.device, root_state(self.device_root), items)
        html = response.content.decode()
        self.assertIn(f'<a href="{interface.get_absolute_url()}">dcim.interface:{interface.pk}</a>', html)
        self.assertIn(f'<a href="{self.objects.device.get_absolute_url()}">{self.device_root}</a>', html)
        self.assertNotIn('dcim.interface:999999</a>', html)
        self.assertIn('View all events', html)

    def test_object_links_cost_one_query_per_object_type_not_per_event(self):
        self.add_permissions('dcim.view_interface')
        interface = self.objects.interface
        keys = [
            f'dcim.interface:{interface.pk}',
            'dcim.interface:999998',
            'dcim.interface:999999',
            self.device_root,
            self.device_root,
            'nosuch.model:1',
            'not a key',
        ]
        self.user.refresh_from_db()  # permissions cached on the user object are loaded outside the count
        self.user.get_all_permissions()
        with self.assertNumQueries(2):
            urls = object_urls(keys, self.user)
        self.assertEqual(
            urls,
            {keys[0]: interface.get_absolute_url(), self.device_root: self.objects.device.get_absolute_url()},
        )

    def test_object_link_left_out_when_user_may_not_view_the_object(self):
        urls = object_urls([f'dcim.interface:{self.objects.interface.pk}'], self.user)
        self.assertEqual(urls, {})
