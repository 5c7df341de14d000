import json
import tempfile
from pathlib import Path

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

    def test_check_raises_when_source_name_is_not_a_source_name(self):
        for bad in ('NB EU', 'nb/eu', '', 7):
            with self.subTest(bad=bad), self.assertRaises(ImproperlyConfigured) as caught:
                check_settings({'webhook_secret': 's' * 20, 'source_name': bad})
            self.assertIn("['source_name'] must be None or a source name of the federation file", str(caught.exception))
        self.assertEqual(check_settings({'webhook_secret': 's' * 20, 'source_name': 'nb-eu'})['source_name'], 'nb-eu')

    def test_check_lists_every_batch_setting_problem(self):
        bad = {**GOOD, 'delivery': 'kafka', 'batch_max_bytes': 100, 'batch_retry_intervals': [5, 0, 'x']}
        with self.assertRaises(ImproperlyConfigured) as caught:
            check_settings(bad)
        message = str(caught.exception)
        self.assertIn("['delivery'] must be 'batch' or 'webhook', got 'kafka'", message)
        self.assertIn("['batch_max_bytes'] must be a whole number of bytes from 4096", message)
        self.assertIn("['batch_retry_intervals'] must be a list of seconds", message)

    def test_check_defaults_to_batch_delivery(self):
        checked = check_settings(GOOD)
        self.assertEqual(checked['delivery'], 'batch')
        self.assertEqual(checked['batch_max_bytes'], 1048576)

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

    def test_check_lists_root_policy_problem_when_file_unusable(self):
        with tempfile.TemporaryDirectory() as directory:
            not_json = Path(directory) / 'not-json.json'
            not_json.write_text('{nope')
            wrong_version = Path(directory) / 'v2.json'
            wrong_version.write_text(json.dumps({'version': 2, 'rules': []}))
            no_root = Path(directory) / 'no-root.json'
            no_root.write_text(json.dumps({'version': 1, 'rules': [{'objectType': 'dcim.rack'}]}))
            for path, expected in (
                (str(Path(directory) / 'missing.json'), 'is not readable JSON'),
                (str(not_json), 'is not readable JSON'),
                (str(wrong_version), 'does not match root-policy.schema.json: /version:'),
                (str(no_root), 'does not match root-policy.schema.json: /rules/0:'),
                (42, "['root_policy'] must be the path of a root policy JSON file"),
            ):
                with self.subTest(path=path), self.assertRaisesMessage(ImproperlyConfigured, expected) as caught:
                    check_settings({**GOOD, 'root_policy': path})
                self.assertIn("PLUGINS_CONFIG['unicop_netbox']['root_policy']", str(caught.exception))
