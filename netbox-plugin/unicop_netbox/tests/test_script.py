from django.test import override_settings
from utilities.testing import TestCase

from unicop_netbox.scripts import RequestReconcile

from .objects import create_roots
from .receiver_stub import ReceiverStub

__all__ = ('RequestReconcileScriptTests',)


class FakeRequest:
    def __init__(self, user):
        self.user = user


class RequestReconcileScriptTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.objects = create_roots()
        cls.root = f'dcim.device:{cls.objects.device.pk}'

    def run_script(self, data):
        script = RequestReconcile()
        script.request = FakeRequest(self.user)
        result = script.run(data, commit=False)
        return script, result

    def test_script_requests_reconcile_of_device_when_given_its_interface(self):
        self.add_permissions('dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            script, result = self.run_script({'object_type': 'dcim.interface', 'object_id': self.objects.interface.pk})
        self.assertFalse(script.failed)
        self.assertEqual(len(stub.requests), 1)
        self.assertEqual(stub.requests[0]['path'], f'/v1/roots/{self.root}/reconcile')
        self.assertEqual(stub.requests[0]['headers']['Authorization'], 'Bearer test-token')
        self.assertIn('Idempotency-Key', stub.requests[0]['headers'])
        self.assertIn(f'reconcile of {self.root} requested: reconcile id', script.messages[-1]['message'])
        self.assertTrue(result.startswith(f'{self.root}: '))

    def test_script_logs_failure_when_receiver_rejects_token(self):
        self.add_permissions('dcim.change_device')
        with ReceiverStub(token='right') as stub, override_settings(PLUGINS_CONFIG=stub.config(receiver_token='bad')):
            script, _ = self.run_script({'root': self.root})
        self.assertTrue(script.failed)
        self.assertIn('401 UNICOP_API_TOKEN_INVALID', script.messages[-1]['message'])

    def test_script_refuses_when_user_lacks_change_permission(self):
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            script, _ = self.run_script({'object_type': 'dcim.device', 'object_id': self.objects.device.pk})
        self.assertTrue(script.failed)
        self.assertEqual(stub.requests, [])
        self.assertIn('lacks dcim.change_device', script.messages[-1]['message'])

    def test_script_logs_failure_when_neither_root_nor_object_given(self):
        script, _ = self.run_script({})
        self.assertTrue(script.failed)
        self.assertIn('give either a root key or an object type and ID', script.messages[-1]['message'])
