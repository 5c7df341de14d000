import json
import uuid
from unittest import mock

from core.models import ObjectChange, ObjectType
from dcim.models import Region, Site
from django.contrib.auth import get_user_model
from django.test import RequestFactory, TestCase, override_settings
from extras.models import EventRule, Tag, Webhook
from extras.webhooks import send_webhook
from netbox.context_managers import event_tracking

from unicop_netbox.batches import BATCH_PATH, QUEUE_NAME, BatchRefusedError, batch_items, send_batch, split

from .receiver_stub import ReceiverStub, closed_port, error_body

__all__ = ('BatchItemTests', 'QueueBatchTests', 'SendBatchTests', 'SplitTests')


def netbox_request(user):
    """A request as NetBox's middleware leaves it: an id (the changelog's request_id) and a user."""
    request = RequestFactory().post('/api/dcim/sites/')
    request.id = uuid.uuid4()
    request.user = user
    return request


class Recorder:
    """Stands for django_rq's queue: records what queue_batch enqueues (never Redis)."""

    def __init__(self):
        self.jobs = []
        self.names = []

    def __call__(self, name):
        self.names.append(name)
        return self

    def enqueue(self, func, **kwargs):
        self.jobs.append((func, kwargs))


def config(url='http://127.0.0.1:1', **extra):
    return {'unicop_netbox': {'receiver_url': url, 'webhook_secret': 's', **extra}}


class QueueBatchTests(TestCase):
    """The events pipeline entry: one job per request on the plugin's queue, the covered events in order."""

    @classmethod
    def setUpTestData(cls):
        cls.user = get_user_model().objects.create_user(username='batcher')
        cls.region = Region.objects.create(name='R', slug='r')

    def changes(self, **settings):
        recorder = Recorder()
        with (
            override_settings(PLUGINS_CONFIG=config(**settings)),
            mock.patch('unicop_netbox.batches.get_queue', recorder),
        ):
            request = netbox_request(self.user)
            with event_tracking(request):
                first = Site.objects.create(name='S1', slug='s1', region=self.region)
                Tag.objects.create(name='not-covered', slug='not-covered')
                second = Site.objects.create(name='S2', slug='s2')
                first.description = 'edited in the same request'
                first.save()
        return recorder, request, first, second

    def test_one_job_per_request_with_covered_events_in_order(self):
        recorder, request, first, second = self.changes()
        self.assertEqual(recorder.names, [QUEUE_NAME])
        self.assertEqual(len(recorder.jobs), 1)
        func, kwargs = recorder.jobs[0]
        self.assertEqual(func, 'unicop_netbox.batches.send_batch')
        items = kwargs['items']
        # region (created in setUpTestData, outside the request) is absent; the tag is not a covered type; the
        # site's create + edit coalesce into one event carrying the final state (NetBox's per-request queue)
        self.assertEqual(
            [(i['event_type'], i['data']['id']) for i in items],
            [
                ('object_created', first.pk),
                ('object_created', second.pk),
            ],
        )
        self.assertEqual(items[0]['data']['description'], 'edited in the same request')
        self.assertEqual(str(kwargs['request'].id), str(request.id))
        self.assertEqual(kwargs['retry'].max, 6)
        self.assertEqual(kwargs['retry'].intervals, [5, 15, 60, 300, 900, 1800])

    def test_no_job_with_webhook_delivery(self):
        recorder, *_ = self.changes(delivery='webhook')
        self.assertEqual(recorder.jobs, [])

    def test_no_retry_when_the_intervals_are_empty(self):
        recorder, *_ = self.changes(batch_retry_intervals=[])
        self.assertIsNone(recorder.jobs[0][1]['retry'])

    def test_no_job_when_nothing_covered_changed(self):
        recorder = Recorder()
        with (
            override_settings(PLUGINS_CONFIG=config()),
            mock.patch('unicop_netbox.batches.get_queue', recorder),
            event_tracking(netbox_request(self.user)),
        ):
            Tag.objects.create(name='only-a-tag', slug='only-a-tag')
        self.assertEqual(recorder.jobs, [])


class BatchItemTests(TestCase):
    """An item is the body NetBox's own webhook would send: same fields, same values, so the same event id."""

    @classmethod
    def setUpTestData(cls):
        cls.user = get_user_model().objects.create_user(username='itemizer')
        cls.region = Region.objects.create(name='R', slug='r')

    def test_item_equals_the_webhook_body(self):
        recorder = Recorder()
        with override_settings(PLUGINS_CONFIG=config()), mock.patch('unicop_netbox.batches.get_queue', recorder):
            request = netbox_request(self.user)
            with event_tracking(request):
                site = Site.objects.create(name='S', slug='s', region=self.region)
        item = recorder.jobs[0][1]['items'][0]
        safe_request = recorder.jobs[0][1]['request']
        webhook = Webhook.objects.create(name='w', payload_url='http://127.0.0.1:1/', secret='s')
        rule = EventRule.objects.create(name='r', action_object=webhook, event_types=['object_created'])
        sent = {}

        def capture(session, prepared, **kwargs):
            sent['body'] = prepared.body
            return mock.Mock(status_code=200, ok=True)

        with mock.patch('requests.Session.send', capture):
            send_webhook(
                event_rule=rule,
                object_type=ObjectType.objects.get_for_model(Site),
                event_type='object_created',
                data=item['data'],
                timestamp=item['timestamp'],
                request=safe_request,
                snapshots=item['snapshots'],
            )
        [ours] = batch_items([item], safe_request)
        self.assertEqual(json.loads(ours), json.loads(sent['body']))
        unicop = json.loads(ours)['context']['unicop']
        self.assertEqual(unicop['root'], f'dcim.site:{site.pk}')
        changelog = ObjectChange.objects.get(request_id=request.id, changed_object_id=site.pk)
        self.assertEqual(unicop['changelog_id'], changelog.pk)


class SplitTests(TestCase):
    def test_by_count(self):
        bodies = ['{}'] * 2500
        self.assertEqual([len(c) for c in split(bodies, 10**9)], [1000, 1000, 500])

    def test_by_size_keeps_order_and_bounds(self):
        bodies = [json.dumps({'n': i, 'pad': 'x' * 900}) for i in range(20)]
        chunks = list(split(bodies, 4096))
        self.assertGreater(len(chunks), 1)
        self.assertEqual([b for c in chunks for b in c], bodies)
        for chunk in chunks:
            self.assertLessEqual(100 + sum(len(b) + 1 for b in chunk), 4096)

    def test_a_body_over_the_limit_goes_alone(self):
        big = json.dumps({'pad': 'x' * 5000})
        self.assertEqual(list(split(['{}', big, '{}'], 4096)), [['{}'], [big], ['{}']])


class SendBatchTests(TestCase):
    """The RQ job against a stand-in receiver: signed, in order, split, and a refusal fails the job (RQ retries)."""

    @classmethod
    def setUpTestData(cls):
        cls.user = get_user_model().objects.create_user(username='sender')
        cls.region = Region.objects.create(name='R', slug='r')

    def queued(self, count):
        recorder = Recorder()
        with (
            override_settings(PLUGINS_CONFIG=config()),
            mock.patch('unicop_netbox.batches.get_queue', recorder),
            event_tracking(netbox_request(self.user)),
        ):
            for i in range(count):
                Site.objects.create(name=f'S{i}', slug=f's{i}', region=self.region, comments='c' * 300)
        return recorder.jobs[0][1]

    def test_posts_one_signed_batch_in_request_order(self):
        job = self.queued(5)
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            counts = send_batch(**{k: job[k] for k in ('items', 'request')})
            [batch] = stub.batches()
        self.assertEqual(counts, {'accepted': 5, 'duplicate': 0, 'rejected': 0})
        self.assertEqual(batch['request_id'], str(job['request'].id))
        self.assertEqual([e['data']['name'] for e in batch['events']], [f'S{i}' for i in range(5)])
        self.assertEqual(stub.requests[0]['path'], BATCH_PATH)

    def test_splits_by_size_and_keeps_order(self):
        job = self.queued(8)
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config(batch_max_bytes=4096)):
            counts = send_batch(items=job['items'], request=job['request'])
            batches = stub.batches()
        self.assertGreater(len(batches), 1)
        self.assertEqual(counts['accepted'], 8)
        self.assertEqual([e['data']['name'] for b in batches for e in b['events']], [f'S{i}' for i in range(8)])
        self.assertTrue(all(len(r['body'].encode()) <= 4096 for r in stub.requests))

    def test_a_second_run_is_answered_duplicate(self):
        job = self.queued(3)
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            send_batch(items=job['items'], request=job['request'])
            again = send_batch(items=job['items'], request=job['request'])
        self.assertEqual(again, {'accepted': 0, 'duplicate': 3, 'rejected': 0})

    def test_a_rejected_item_is_counted_not_raised(self):
        job = self.queued(3)
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            stub.reject_ids.add(job['items'][1]['data']['id'])
            with self.assertLogs('unicop_netbox.batches', 'WARNING') as logs:
                counts = send_batch(items=job['items'], request=job['request'])
        self.assertEqual(counts, {'accepted': 2, 'duplicate': 0, 'rejected': 1})
        self.assertIn('UNICOP_VALIDATE_SCHEMA', logs.output[0])

    def test_a_refused_batch_fails_the_job(self):
        job = self.queued(2)
        answer = (503, error_body('UNICOP_OUTBOX_FULL', 'full'))
        with (
            ReceiverStub(always=answer) as stub,
            override_settings(PLUGINS_CONFIG=stub.config()),
            self.assertRaisesRegex(BatchRefusedError, 'receiver answered 503 to a batch of 2'),
        ):
            send_batch(items=job['items'], request=job['request'])

    def test_a_wrong_secret_fails_the_job(self):
        job = self.queued(1)
        with (
            ReceiverStub(secret='other') as stub,
            override_settings(PLUGINS_CONFIG=stub.config()),
            self.assertRaisesRegex(BatchRefusedError, 'answered 401'),
        ):
            send_batch(items=job['items'], request=job['request'])

    def test_an_unreachable_receiver_fails_the_job(self):
        job = self.queued(1)
        with (
            override_settings(PLUGINS_CONFIG=config(url=f'http://127.0.0.1:{closed_port()}')),
            self.assertRaisesRegex(BatchRefusedError, 'receiver unreachable'),
        ):
            send_batch(items=job['items'], request=job['request'])
