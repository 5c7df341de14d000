"""The full timeline page: the root's events, newest first, paged with the receiver's `before` cursor."""

from django.test import Client, override_settings
from utilities.testing import TestCase

from unicop_netbox.panel import timeline_url

from .objects import create_roots
from .receiver_stub import ReceiverStub, error_body, timeline, timeline_entry

__all__ = ('TimelineViewTests',)


class TimelineViewTests(TestCase):
    user_permissions = ('dcim.view_device', 'dcim.view_interface')

    @classmethod
    def setUpTestData(cls):
        cls.objects = create_roots()
        cls.root = f'dcim.device:{cls.objects.device.pk}'

    def route_pages(self, stub, total=60, page_size=50):
        """The receiver's timeline over `total` events: newest first, `next` = the last sequence of a full page."""

        def answer(query):
            limit = int(query['limit'][0])
            before = int(query['before'][0]) if 'before' in query else total + 1
            sequences = list(range(before - 1, 0, -1))[:limit]
            items = [timeline_entry(n, 'updated', f'dcim.interface:{self.objects.interface.pk}') for n in sequences]
            cursor = sequences[-1] if len(sequences) == limit and sequences[-1] > 1 else None
            return 200, timeline(self.root, items, next=cursor)

        stub.routes[('GET', f'/v1/roots/{self.root}/timeline')] = answer

    def test_timeline_view_pages_with_the_receivers_before_cursor(self):
        url = timeline_url(self.objects.device)
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            self.route_pages(stub)
            first = self.client.get(url)
            second = self.client.get(f'{url}?before=11')
        self.assertEqual(first.status_code, 200)
        self.assertEqual(first.content.decode().count('class="unicop-event"'), 50)
        self.assertContains(first, 'data-sequence="60"')
        self.assertContains(first, f'href="{url}?before=11" id="unicop-timeline-older"')
        self.assertEqual(second.content.decode().count('class="unicop-event"'), 10)
        self.assertContains(second, 'data-sequence="10"')
        self.assertNotContains(second, 'unicop-timeline-older')
        self.assertContains(second, 'id="unicop-timeline-newest"')
        self.assertEqual(
            [r['path'] for r in stub.requests],
            [f'/v1/roots/{self.root}/timeline?limit=50', f'/v1/roots/{self.root}/timeline?limit=50&before=11'],
        )

    def test_timeline_view_of_a_component_shows_its_roots_timeline(self):
        url = timeline_url(self.objects.interface)
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            self.route_pages(stub, total=3)
            response = self.client.get(url)
        self.assertContains(response, self.root)
        self.assertEqual(response.content.decode().count('class="unicop-event"'), 3)

    def test_timeline_view_says_no_events_or_the_receivers_error(self):
        url = timeline_url(self.objects.device)
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            empty = self.client.get(url)
            stub.routes[('GET', f'/v1/roots/{self.root}/timeline')] = (500, error_body('UNICOP_HTTP_INTERNAL', 'boom'))
            failing = self.client.get(url)
        self.assertContains(empty, f'UNICOP: no events recorded yet for {self.root}.')
        self.assertContains(failing, 'UNICOP receiver answered 500 UNICOP_HTTP_INTERNAL: boom')

    def test_timeline_view_needs_login_view_permission_and_a_sane_cursor(self):
        url = timeline_url(self.objects.device)
        self.assertEqual(Client().get(url).status_code, 302)
        self.assertEqual(self.client.get(timeline_url(self.objects.vm)).status_code, 404)
        self.assertEqual(self.client.get(f'{url}?before=-1').status_code, 404)
