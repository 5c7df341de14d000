"""The plugin verifies TLS to an https receiver with the CA of `receiver_ca_file`: batches, the Reconcile/panel API
client and (through the Webhook the bootstrap manages) NetBox's own webhook delivery. The receiver stand-in is the
https ReceiverStub with certificates this test makes with openssl (tls_material.py)."""

import os
import tempfile
from io import StringIO
from pathlib import Path
from unittest import mock

import requests
from core.models import ObjectType
from dcim.models import Region, Site
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import SimpleTestCase, TestCase, override_settings
from extras.models import EventRule, Webhook
from extras.webhooks import send_webhook
from netbox.context_managers import event_tracking

from unicop_netbox.batches import BatchRefusedError, send_batch
from unicop_netbox.conf import check_settings
from unicop_netbox.receiver import ReceiverError, request_reconcile

from .receiver_stub import ReceiverStub
from .test_batches import Recorder, config, netbox_request
from .tls_material import make_tls_material

__all__ = ('ReceiverCaSettingTests', 'ReceiverTlsTests')

ROOT = 'dcim.device:7'
# requests reads these before its own default bundle: a caller's value must not decide what the tests see
_BUNDLE_VARIABLES = ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE')


class ReceiverTlsTests(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tls = make_tls_material()

    @classmethod
    def tearDownClass(cls):
        cls.tls.remove()
        super().tearDownClass()

    @classmethod
    def setUpTestData(cls):
        cls.user = get_user_model().objects.create_user(username='tls-sender')
        cls.region = Region.objects.create(name='R', slug='r')

    def setUp(self):
        patcher = mock.patch.dict(os.environ)  # restores the whole environment afterwards
        patcher.start()
        self.addCleanup(patcher.stop)
        for name in _BUNDLE_VARIABLES:
            os.environ.pop(name, None)

    def queued(self, count):
        recorder = Recorder()
        with (
            override_settings(PLUGINS_CONFIG=config()),
            mock.patch('unicop_netbox.batches.get_queue', recorder),
            event_tracking(netbox_request(self.user)),
        ):
            for i in range(count):
                Site.objects.create(name=f'T{i}', slug=f't{i}', region=self.region)
        return recorder.jobs[0][1]

    def https_stub(self, **kwargs):
        return ReceiverStub(tls=(self.tls.cert, self.tls.key), **kwargs)

    def test_batch_job_fails_and_nothing_is_sent_when_ca_does_not_sign_receiver_certificate(self):
        job = self.queued(2)
        with (
            self.https_stub() as stub,
            override_settings(PLUGINS_CONFIG=stub.config(receiver_ca_file=str(self.tls.other_ca))),
            self.assertRaisesRegex(BatchRefusedError, 'failed TLS verification'),
        ):
            send_batch(items=job['items'], request=job['request'])
        self.assertEqual(stub.requests, [])  # the handshake failed: no byte of the batch reached the receiver

    def test_batch_job_fails_when_receiver_has_private_ca_and_no_ca_file_is_set(self):
        job = self.queued(1)
        with (
            self.https_stub() as stub,
            override_settings(PLUGINS_CONFIG=stub.config()),
            self.assertRaisesRegex(BatchRefusedError, 'failed TLS verification'),
        ):
            send_batch(items=job['items'], request=job['request'])
        self.assertEqual(stub.requests, [])

    def test_batch_is_accepted_when_ca_signs_receiver_certificate(self):
        job = self.queued(3)
        with (
            self.https_stub() as stub,
            override_settings(PLUGINS_CONFIG=stub.config(receiver_ca_file=str(self.tls.ca))),
        ):
            counts = send_batch(items=job['items'], request=job['request'])
            [batch] = stub.batches()
        self.assertEqual(counts, {'accepted': 3, 'duplicate': 0, 'rejected': 0})
        self.assertEqual([e['data']['name'] for e in batch['events']], ['T0', 'T1', 'T2'])

    def test_reconcile_request_verifies_receiver_certificate_with_ca_file(self):
        with self.https_stub() as stub:
            with (
                override_settings(PLUGINS_CONFIG=stub.config(receiver_ca_file=str(self.tls.other_ca))),
                self.assertRaisesRegex(ReceiverError, 'TLS verification failed'),
            ):
                request_reconcile(ROOT, user_key='u1', reason='tls test')
            self.assertEqual(stub.requests, [])
            with override_settings(PLUGINS_CONFIG=stub.config(receiver_ca_file=str(self.tls.ca))):
                answer = request_reconcile(ROOT, user_key='u1', reason='tls test')
        self.assertEqual(answer['result'], 'accepted')
        self.assertEqual(stub.requests[0]['path'], f'/v1/roots/{ROOT}/reconcile')

    def bootstrap_and_send(self, stub, ca_file, job):
        """Bootstrap the Webhook for `stub` with `ca_file`, then deliver the job's change through NetBox's own
        send_webhook (what the worker runs for the EventRule)."""
        settings = stub.config(receiver_ca_file=str(ca_file), delivery='webhook')
        with override_settings(PLUGINS_CONFIG=settings):
            call_command('unicop_bootstrap', stdout=StringIO())
            item = job['items'][0]
            return send_webhook(
                event_rule=EventRule.objects.get(name='unicop'),
                object_type=ObjectType.objects.get_for_model(Site),
                event_type='object_created',
                data=item['data'],
                timestamp=item['timestamp'],
                request=job['request'],
                snapshots=item['snapshots'],
            )

    def test_bootstrap_sets_ca_file_on_webhook_so_delivery_verifies_with_it(self):
        job = self.queued(1)
        with self.https_stub(always=(202, {'result': 'accepted'})) as stub:
            with self.assertRaises(requests.exceptions.SSLError):
                self.bootstrap_and_send(stub, self.tls.other_ca, job)
            self.assertEqual(stub.requests, [])
            outcome = self.bootstrap_and_send(stub, self.tls.ca, job)
        webhook = Webhook.objects.get(name='unicop')
        self.assertEqual((webhook.ssl_verification, webhook.ca_file_path), (True, str(self.tls.ca)))
        self.assertIn('Status 202', outcome)
        self.assertEqual([r['path'] for r in stub.requests], ['/v1/netbox/webhooks'])


class ReceiverCaSettingTests(SimpleTestCase):
    GOOD = {'receiver_url': 'https://receiver.example:8443', 'webhook_secret': 's3cret', 'object_types': ['dcim.site']}

    def test_settings_refuse_ca_file_when_missing_or_without_certificate(self):
        with tempfile.TemporaryDirectory() as directory:
            not_pem = Path(directory, 'not.pem')
            not_pem.write_text('not a certificate\n')
            for value, problem in (
                (str(Path(directory, 'missing.pem')), 'cannot be read: No such file or directory'),
                (str(not_pem), 'holds no PEM certificate'),
                ('', 'must be the path of a PEM CA bundle'),
            ):
                with self.subTest(value=value), self.assertRaisesRegex(ImproperlyConfigured, problem):
                    check_settings({**self.GOOD, 'receiver_ca_file': value})

    def test_settings_take_ca_file_when_it_holds_a_certificate(self):
        tls = make_tls_material()
        self.addCleanup(tls.remove)
        checked = check_settings({**self.GOOD, 'receiver_ca_file': str(tls.ca)})
        self.assertEqual(checked['receiver_ca_file'], str(tls.ca))
        self.assertIsNone(check_settings(self.GOOD)['receiver_ca_file'])
