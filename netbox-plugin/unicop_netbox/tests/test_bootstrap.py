from io import StringIO

from core.models import ObjectType
from django.core.management import call_command
from django.test import TestCase, override_settings
from extras.models import EventRule, Webhook

from unicop_netbox.conf import DEFAULT_OBJECT_TYPES

__all__ = ('BootstrapTests',)

CONFIG = {'unicop_netbox': {'receiver_url': 'http://127.0.0.1:18080', 'webhook_secret': 'first-secret'}}


def run():
    out = StringIO()
    call_command('unicop_bootstrap', stdout=out)
    return out.getvalue()


@override_settings(PLUGINS_CONFIG=CONFIG)
class BootstrapTests(TestCase):
    def test_creates_webhook_and_rule_when_none_exist(self):
        out = run()
        self.assertIn('webhook "unicop" -> POST http://127.0.0.1:18080/v1/netbox/webhooks: created', out)
        self.assertIn(': created', out.splitlines()[1])
        webhook = Webhook.objects.get(name='unicop')
        self.assertEqual(webhook.payload_url, 'http://127.0.0.1:18080/v1/netbox/webhooks')
        self.assertEqual((webhook.http_method, webhook.http_content_type), ('POST', 'application/json'))
        self.assertEqual(webhook.secret, 'first-secret')
        rule = EventRule.objects.get(name='unicop')
        # batch delivery (the default): the plugin's events pipeline sends these changes; the rule is kept, disabled
        self.assertFalse(rule.enabled)
        self.assertIn('delivery: batch -> POST http://127.0.0.1:18080/v1/netbox/batches', out)
        self.assertIn('unicop_netbox.batches', out)
        self.assertEqual(rule.action_type, 'webhook')
        self.assertEqual(rule.action_object, webhook)
        self.assertEqual(sorted(rule.event_types), ['object_created', 'object_deleted', 'object_updated'])
        labels = {f'{ct.app_label}.{ct.model}' for ct in rule.object_types.all()}
        self.assertEqual(labels, {*DEFAULT_OBJECT_TYPES, 'unicop_netbox.accessgrant'})

    def test_webhook_delivery_enables_the_rule_and_back(self):
        run()
        with override_settings(PLUGINS_CONFIG={'unicop_netbox': {**CONFIG['unicop_netbox'], 'delivery': 'webhook'}}):
            out = run()
        self.assertIn('updated (enabled, description)', out)
        self.assertIn('delivery: webhook', out)
        self.assertTrue(EventRule.objects.get(name='unicop').enabled)
        run()
        self.assertFalse(EventRule.objects.get(name='unicop').enabled)

    def test_second_run_is_unchanged_when_nothing_changed(self):
        run()
        out = run()
        self.assertEqual(out.count(': unchanged'), 2, out)
        self.assertEqual(Webhook.objects.filter(name='unicop').count(), 1)
        self.assertEqual(EventRule.objects.filter(name='unicop').count(), 1)

    def test_updates_only_what_differs_when_settings_changed(self):
        run()
        changed = {
            'unicop_netbox': {
                **CONFIG['unicop_netbox'],
                'webhook_secret': 'second-secret',
                'object_types': ['dcim.device', 'dcim.interface'],
            }
        }
        with override_settings(PLUGINS_CONFIG=changed):
            out = run()
        self.assertIn('webhook "unicop" -> POST http://127.0.0.1:18080/v1/netbox/webhooks: updated (secret)', out)
        self.assertIn('updated (object_types)', out)
        self.assertEqual(Webhook.objects.get(name='unicop').secret, 'second-secret')
        rule = EventRule.objects.get(name='unicop')
        keys = (('dcim', 'device'), ('dcim', 'interface'), ('unicop_netbox', 'accessgrant'))
        wanted = {ObjectType.objects.get_by_natural_key(*key).pk for key in keys}
        self.assertEqual({ct.pk for ct in rule.object_types.all()}, wanted)

    def test_repairs_rule_when_edited_by_hand(self):
        run()
        rule = EventRule.objects.get(name='unicop')
        rule.enabled = True  # batch delivery keeps it disabled: enabled by hand, both paths would send every change
        rule.event_types = ['object_created']
        rule.save()
        out = run()
        self.assertIn('updated (event_types, enabled)', out)
        self.assertFalse(EventRule.objects.get(name='unicop').enabled)
