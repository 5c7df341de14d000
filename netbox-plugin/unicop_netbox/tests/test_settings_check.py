from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, override_settings

from unicop_netbox.conf import DEFAULT_OBJECT_TYPES, DEFAULT_PANEL_MODELS, check_settings

__all__ = ('SettingsCheckTests',)

GOOD = {'receiver_url': 'http://127.0.0.1:8080/', 'webhook_secret': 's3cret', 'object_types': ['dcim.device']}


class SettingsCheckTests(SimpleTestCase):
    def test_ready_raises_readable_error_when_webhook_secret_missing(self):
        config = apps.get_app_config('unicop_netbox')
        with (
            override_settings(PLUGINS_CONFIG={'unicop_netbox': {'receiver_url': 'http://127.0.0.1:8080'}}),
            self.assertRaises(ImproperlyConfigured) as caught,
        ):
            config.ready()
        message = str(caught.exception)
        self.assertIn("PLUGINS_CONFIG['unicop_netbox']['webhook_secret'] is missing", message)
        self.assertIn('UNICOP_WEBHOOK_SECRETS', message)

    def test_ready_lists_every_problem_when_several_settings_invalid(self):
        config = apps.get_app_config('unicop_netbox')
        bad = {'receiver_url': 'ftp://x', 'webhook_secret': '', 'object_types': ['dcim.nosuchmodel', 'nodot']}
        with (
            override_settings(PLUGINS_CONFIG={'unicop_netbox': bad}),
            self.assertRaises(ImproperlyConfigured) as caught,
        ):
            config.ready()
        message = str(caught.exception)
        self.assertIn("['receiver_url'] = 'ftp://x' is not an http(s) URL with a host", message)
        self.assertIn("'webhook_secret'] is missing", message)
        self.assertIn("'dcim.nosuchmodel' is not an installed model", message)
        self.assertIn('\'nodot\' is not "app_label.model"', message)

    def test_check_raises_when_object_types_empty(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "['object_types'] must be a non-empty list"):
            check_settings({**GOOD, 'object_types': []})

    def test_check_fills_defaults_when_only_secret_given(self):
        result = check_settings({'webhook_secret': 'x'})
        self.assertEqual(result['receiver_url'], 'http://127.0.0.1:8080')
        self.assertEqual(result['object_types'], list(DEFAULT_OBJECT_TYPES))
        self.assertEqual(result['receiver_token'], '')

    def test_check_strips_trailing_slash_when_url_has_one(self):
        self.assertEqual(check_settings(GOOD)['receiver_url'], 'http://127.0.0.1:8080')

    def test_default_object_types_all_resolve_when_netbox_loaded(self):
        check_settings({'webhook_secret': 'x', 'object_types': list(DEFAULT_OBJECT_TYPES)})

    def test_check_lists_panel_model_problem_when_model_unknown(self):
        with self.assertRaisesMessage(
            ImproperlyConfigured, "['panel_models']: 'dcim.nosuch' is not an installed model"
        ):
            check_settings({**GOOD, 'panel_models': ['dcim.device', 'dcim.nosuch']})

    def test_check_defaults_panel_models_to_five_roots_when_not_given(self):
        self.assertEqual(check_settings(GOOD)['panel_models'], list(DEFAULT_PANEL_MODELS))
        self.assertEqual(len(DEFAULT_PANEL_MODELS), 5)
