"""Run by `scripts/netbox package-test` inside the fresh NetBox (`netbox shell --no-imports -c "exec(...)"`), in one
process because each NetBox start-up costs seconds: the plugin's migrations reversed to zero and applied again from
the installed wheel (what `migrate` does for an existing NetBox), then `unicop_bootstrap`, then what
docs/install-plugin.md promises of it. Environment: UNICOP_PKG_VENV (the fresh venv), UNICOP_PKG_CA (the CA file the
configuration names). Exits non-zero (AssertionError, CommandError) on any difference."""

import importlib.util
import io
import os
import time

from django.core.management import call_command
from extras.models import EventRule, Webhook

import unicop_netbox

venv, ca = os.environ['UNICOP_PKG_VENV'], os.environ['UNICOP_PKG_CA']
started = time.monotonic()
call_command('migrate', 'unicop_netbox', 'zero', interactive=False, verbosity=0)
call_command('migrate', interactive=False, verbosity=0)
print(f'== package-test: plugin migrations reversed and applied from the wheel ({time.monotonic() - started:.0f} s)')

out = io.StringIO()
call_command('unicop_bootstrap', stdout=out)
print(out.getvalue(), end='')
lines = out.getvalue().splitlines()
assert lines[0] == 'webhook "unicop" -> POST https://receiver.example.invalid:8443/v1/netbox/webhooks: created', lines
assert lines[1].startswith('event rule "unicop"') and lines[1].endswith(': created'), lines
hook = Webhook.objects.get(name='unicop')
rule = EventRule.objects.get(name='unicop')
assert (hook.ca_file_path, hook.ssl_verification) == (ca, True), (hook.ca_file_path, hook.ssl_verification)
assert rule.action_object == hook and rule.object_types.filter(app_label='unicop_netbox').exists()
assert unicop_netbox.__file__.startswith(f'{venv}/'), f'unicop_netbox imported from {unicop_netbox.__file__}'
assert importlib.util.find_spec('unicop_netbox.tests') is None, 'the tests package is installed'
print(f'package-test: unicop_netbox {unicop_netbox.__version__} from {unicop_netbox.__file__}')
