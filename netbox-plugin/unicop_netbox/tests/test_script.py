import importlib.util
from pathlib import Path

from core.models import ObjectType
from dcim.models import Device
from django.test import override_settings
from users.models import ObjectPermission
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

    def run_script(self, data, script_class=RequestReconcile, user=True):
        script = script_class()
        script.request = FakeRequest(self.user if user else None)
        result = script.run(data, commit=False)
        return script, result

    def constrain_change_to(self, device, action='change'):
        """An ObjectPermission like an operator would write: change devices, but only this one."""
        permission = ObjectPermission.objects.create(
            name=f'{action} one device', actions=[action], constraints={'pk': device.pk}
        )
        permission.object_types.add(ObjectType.objects.get_for_model(Device))
        permission.users.add(self.user)

    def second_device(self):
        a = self.objects.device
        return Device.objects.create(name='ui-dev-b', site=a.site, device_type=a.device_type, role=a.role)

    def test_script_requests_reconcile_of_device_when_given_its_interface(self):
        self.add_permissions('dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            script, result = self.run_script({'object_type': 'dcim.interface', 'object_id': self.objects.interface.pk})
        self.assertFalse(script.failed)
        self.assertEqual(len(stub.requests), 1)
        self.assertEqual(stub.requests[0]['path'], f'/v1/roots/{self.root}/reconcile')
        self.assertEqual(stub.requests[0]['headers']['Authorization'], 'Bearer test-token')
        self.assertIn('Idempotency-Key', stub.requests[0]['headers'])
        self.assertEqual(stub.requests[0]['headers']['X-Unicop-On-Behalf-Of'], self.user.get_username())
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
        self.assertIn('lacks dcim.reconcile_device or dcim.change_device', script.messages[-1]['message'])

    def test_script_logs_failure_when_neither_root_nor_object_given(self):
        script, _ = self.run_script({})
        self.assertTrue(script.failed)
        self.assertIn('give either a root key or an object type and ID', script.messages[-1]['message'])

    def test_script_refuses_typed_root_when_user_lacks_change_permission(self):
        self.add_permissions('extras.run_script', 'extras.view_script', 'dcim.view_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            script, result = self.run_script({'root': self.root})
        self.assertTrue(script.failed)
        self.assertEqual(stub.requests, [])
        self.assertIn(
            f'lacks dcim.reconcile_device or dcim.change_device on {self.root}', script.messages[-1]['message']
        )
        self.assertEqual(result, 'not requested: permission denied')

    def test_script_accepts_a_and_refuses_b_when_object_permission_constrained_to_a(self):
        self.add_permissions('extras.run_script', 'dcim.view_device')
        device_b = self.second_device()
        self.constrain_change_to(self.objects.device)
        root_b = f'dcim.device:{device_b.pk}'
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            accepted, _ = self.run_script({'root': self.root})
            refused_by_key, _ = self.run_script({'root': root_b})
            refused_by_id, _ = self.run_script({'object_type': 'dcim.device', 'object_id': device_b.pk})
        self.assertFalse(accepted.failed)
        self.assertEqual([r['path'] for r in stub.requests], [f'/v1/roots/{self.root}/reconcile'])
        for script in (refused_by_key, refused_by_id):
            self.assertTrue(script.failed)
            self.assertIn(
                f'lacks dcim.reconcile_device or dcim.change_device on {root_b}', script.messages[-1]['message']
            )

    def test_script_accepts_a_and_refuses_b_when_reconcile_action_constrained_to_a(self):
        # the custom action UNICOP's IAM mapping grants, without NetBox's change permission
        self.add_permissions('extras.run_script', 'dcim.view_device')
        device_b = self.second_device()
        self.constrain_change_to(self.objects.device, action='reconcile')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            accepted, _ = self.run_script({'root': self.root})
            refused, _ = self.run_script({'root': f'dcim.device:{device_b.pk}'})
        self.assertFalse(accepted.failed)
        self.assertTrue(refused.failed)
        self.assertEqual([r['path'] for r in stub.requests], [f'/v1/roots/{self.root}/reconcile'])

    def test_script_refuses_unknown_root_when_object_does_not_exist(self):
        self.add_permissions('extras.run_script', 'dcim.view_device', 'dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            script, result = self.run_script({'root': 'dcim.device:987654321'})
        self.assertTrue(script.failed)
        self.assertEqual(stub.requests, [])
        self.assertIn('dcim.device 987654321 does not exist', script.messages[-1]['message'])
        self.assertTrue(result.startswith('not requested: '))

    def test_script_refuses_unknown_root_when_model_unknown(self):
        self.add_permissions('extras.run_script', 'dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            unknown, _ = self.run_script({'root': 'dcim.nosuchmodel:1'})
            not_unicop, _ = self.run_script({'root': f'users.user:{self.user.pk}'})
        self.assertEqual(stub.requests, [])
        self.assertTrue(unknown.failed)
        self.assertIn('dcim.nosuchmodel is not an installed model', unknown.messages[-1]['message'])
        self.assertTrue(not_unicop.failed)
        self.assertIn('users.user is not one of the object types UNICOP follows', not_unicop.messages[-1]['message'])

    def test_script_requests_reconcile_when_typed_root_permitted(self):
        self.add_permissions('extras.run_script', 'dcim.view_device', 'dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            script, result = self.run_script({'root': self.root, 'reason': 'test'})
        self.assertFalse(script.failed)
        self.assertEqual([r['path'] for r in stub.requests], [f'/v1/roots/{self.root}/reconcile'])
        self.assertTrue(result.startswith(f'{self.root}: '))

    def test_script_reconciles_the_root_when_typed_key_names_a_component(self):
        self.add_permissions('dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            script, _ = self.run_script({'root': f'dcim.interface:{self.objects.interface.pk}'})
        self.assertFalse(script.failed)
        self.assertEqual([r['path'] for r in stub.requests], [f'/v1/roots/{self.root}/reconcile'])

    def test_script_refuses_when_run_without_a_user(self):
        self.add_permissions('dcim.change_device')
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            script, _ = self.run_script({'root': self.root}, user=False)
        self.assertTrue(script.failed)
        self.assertEqual(stub.requests, [])
        self.assertIn('no NetBox user', script.messages[-1]['message'])

    def test_script_module_stub_refuses_when_user_lacks_change_permission(self):
        path = Path(__file__).resolve().parent.parent / 'script_module' / 'unicop_reconcile.py'
        spec = importlib.util.spec_from_file_location('unicop_reconcile_stub_under_test', path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with ReceiverStub() as stub, override_settings(PLUGINS_CONFIG=stub.config()):
            script, _ = self.run_script({'root': self.root}, script_class=module.RequestReconcile)
        self.assertTrue(script.failed)
        self.assertEqual(stub.requests, [])
