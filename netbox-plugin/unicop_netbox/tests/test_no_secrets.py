"""The receiver token and the webhook secret never reach a log record, the terminal or a message shown to a user,
whatever the receiver does: port closed, 500, 401 (both with an answer that repeats the request's headers)."""

import contextlib
import io
import logging
import traceback
from unittest import mock

from django.contrib.messages import get_messages
from django.core.management import call_command
from django.test import override_settings
from utilities.testing import TestCase

from unicop_netbox.scripts import RequestReconcile
from unicop_netbox.views import reconcile_url

from .objects import create_roots
from .receiver_stub import ReceiverStub, closed_port, error_body

__all__ = ('NoSecretsTests',)

TOKEN = 'tok-MARKER-3b8e61d0c2'
SECRET = 'whs-MARKER-9f04a7e2d5'
MARKERS = (TOKEN, SECRET, 'MARKER')
FORMAT = logging.Formatter('%(asctime)s %(name)s %(levelname)s %(pathname)s:%(lineno)d %(message)s')


class FakeRequest:
    def __init__(self, user):
        self.user = user


def _record_text(record):
    """Everything a handler could write of a record: the formatted line (with traceback and stack), its raw
    arguments and extra attributes, and the traceback's local variables (what Django's error reports show)."""
    parts = [FORMAT.format(record), repr(record.msg), repr(record.args), repr(vars(record))]
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        parts.append(''.join(traceback.TracebackException.from_exception(exc, capture_locals=True).format()))
    return '\n'.join(parts)


@contextlib.contextmanager
def everything_logged():
    """Every record of every logger (root, urllib3, django, the plugin's...) at every level, whatever NetBox's
    LOGGING says, plus whatever is printed to stdout/stderr. Yields a list of texts."""
    texts = []

    def handle(logger, record):
        texts.append(_record_text(record))

    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(logging.Logger, 'isEnabledFor', lambda logger, level: True),
        mock.patch.object(logging.Logger, 'handle', handle),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        yield texts
    texts.extend((out.getvalue(), err.getvalue()))


class NoSecretsTests(TestCase):
    user_permissions = ('dcim.view_device', 'dcim.change_device', 'extras.run_script')

    @classmethod
    def setUpTestData(cls):
        cls.objects = create_roots()
        cls.root = f'dcim.device:{cls.objects.device.pk}'

    def exercise(self, receiver_url):
        """Panel, Reconcile button, script and bootstrap against `receiver_url`; returns what users saw + logs."""
        config = {'unicop_netbox': {'receiver_url': receiver_url, 'receiver_token': TOKEN, 'webhook_secret': SECRET}}
        shown = []
        with override_settings(PLUGINS_CONFIG=config), everything_logged() as logged:
            page = self.client.get(self.objects.device.get_absolute_url())
            self.assertEqual(page.status_code, 200)
            shown.append(page.content.decode())
            button = self.client.post(reconcile_url(self.objects.device))
            self.assertEqual(button.status_code, 302)
            shown.extend(str(m) for m in get_messages(button.wsgi_request))
            script = RequestReconcile()
            script.request = FakeRequest(self.user)
            shown.append(str(script.run({'root': self.root}, commit=False)))
            shown.extend(str(m) for m in script.messages)
            self.assertTrue(script.failed)
            bootstrap_out = io.StringIO()
            call_command('unicop_bootstrap', stdout=bootstrap_out, stderr=bootstrap_out)
            shown.append(bootstrap_out.getvalue())
        return shown, logged

    def assert_no_marker(self, texts):
        self.assertTrue(texts)
        for text in texts:
            for marker in MARKERS:
                self.assertNotIn(marker, text)

    def test_no_secret_in_logs_or_messages_when_receiver_port_closed(self):
        shown, logged = self.exercise(f'http://127.0.0.1:{closed_port()}')
        self.assertTrue(any('connection refused' in text for text in shown))
        self.assert_no_marker(shown)
        self.assert_no_marker(logged)

    def test_no_secret_in_logs_or_messages_when_receiver_answers_500_echoing_headers(self):
        answer = (500, error_body('INTERNAL', 'boom'))
        with ReceiverStub(always=answer, echo_headers=True) as stub:
            shown, logged = self.exercise(stub.url)
        self.assertEqual(len(stub.requests), 4)  # panel (2), button, script: the token was sent every time
        self.assertTrue(all(r['headers']['Authorization'] == f'Bearer {TOKEN}' for r in stub.requests))
        self.assertTrue(any('answered 500 INTERNAL' in text for text in shown))
        self.assertTrue(any('urllib3' in text for text in logged))  # the HTTP client's own debug lines were seen
        self.assert_no_marker(shown)
        self.assert_no_marker(logged)

    def test_no_secret_in_logs_or_messages_when_receiver_answers_401_echoing_headers(self):
        with ReceiverStub(token='another-token', echo_headers=True) as stub:
            shown, logged = self.exercise(stub.url)
        self.assertEqual(len(stub.requests), 4)
        self.assertTrue(any('answered 401 UNICOP_API_TOKEN_INVALID' in text for text in shown))
        self.assert_no_marker(shown)
        self.assert_no_marker(logged)
