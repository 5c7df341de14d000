"""The plugin's settings (PLUGINS_CONFIG['unicop_netbox']): defaults and the start-up check."""

import os
import re
from urllib.parse import urlsplit

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from .root_policy import DEFAULT_ROOT_POLICY, DEFAULT_ROOT_POLICY_PATH, RootPolicyError, load_root_policy

__all__ = (
    'ALWAYS_COVERED',
    'COVERED_EVENT_TYPES',
    'DEFAULT_OBJECT_TYPES',
    'DEFAULT_PANEL_MODELS',
    'DEFAULT_SETTINGS',
    'PLUGIN_NAME',
    'check_settings',
    'panel_models',
    'plugin_settings',
    'tls_verify',
)

PLUGIN_NAME = 'unicop_netbox'

# The NetBox event types that become UNICOP events, whichever way they are delivered (EventRule or batches).
COVERED_EVENT_TYPES = ('object_created', 'object_updated', 'object_deleted')
# Always covered, whatever object_types says: the receiver builds unicop.access.granted|revoked from these events.
ALWAYS_COVERED = ('unicop_netbox.accessgrant',)

# Object types whose changes become UNICOP events: every type the default root policy names (device components, IP
# addresses, VM interfaces, cables: schemas/root-policy.default.json) plus the common root objects themselves.
DEFAULT_OBJECT_TYPES = tuple(
    dict.fromkeys(
        (
            'dcim.site',
            'dcim.device',
            *(rule['objectType'] for rule in DEFAULT_ROOT_POLICY['rules']),
            'ipam.prefix',
            'ipam.vlan',
            'virtualization.virtualmachine',
        )
    )
)

# Pages that get the UNICOP panel and the Reconcile button: the common root objects.
DEFAULT_PANEL_MODELS = (
    'dcim.device',
    'virtualization.virtualmachine',
    'dcim.site',
    'ipam.prefix',
    'ipam.vlan',
)

DEFAULT_SETTINGS = {
    # Base URL of the UNICOP receiver; the webhook goes to <receiver_url>/v1/netbox/webhooks.
    'receiver_url': 'http://127.0.0.1:8080',
    # Service token for the receiver's /v1/roots API (panels, reconcile button); optional until they exist.
    'receiver_token': '',
    # Path of a PEM CA bundle that signs an https receiver_url's certificate (a private CA). Every call of the plugin
    # to the receiver verifies with it (batches, panel, Reconcile) and the bootstrap sets it on the Webhook
    # (ca_file_path) for webhook delivery. None = requests' default bundle (certifi, or REQUESTS_CA_BUNDLE).
    'receiver_ca_file': None,
    # The HMAC secret NetBox signs webhooks with; one of the receiver's UNICOP_WEBHOOK_SECRETS. Required.
    'webhook_secret': None,
    # How changes leave NetBox: 'batch' = the plugin's events pipeline sends all events of one request as signed
    # batches to <receiver_url>/v1/netbox/batches from its own RQ queue `unicop_netbox.batches` (the worker must serve
    # it: `netbox rqworker high unicop_netbox.batches default low`); the bootstrap then keeps its EventRule disabled.
    # 'webhook' = NetBox's own per-object webhook through the EventRule (one RQ job and one HTTP request per object).
    'delivery': 'batch',
    # Largest batch body in bytes: at most the receiver's UNICOP_MAX_BODY_BYTES (default 1 MiB).
    'batch_max_bytes': 1048576,
    # Seconds RQ waits before each new attempt of a batch job the receiver did not take (its length = the retries);
    # after the last one the job stays in RQ's failed registry and the receiver's changelog catch-up recovers it.
    'batch_retry_intervals': [5, 15, 60, 300, 900, 1800],
    # app_label.model of every object type the EventRule covers.
    'object_types': list(DEFAULT_OBJECT_TYPES),
    # app_label.model of every page with the UNICOP panel and Reconcile button (read once at start-up).
    'panel_models': list(DEFAULT_PANEL_MODELS),
    # Path of the root policy JSON (schemas/root-policy.schema.json); None = the default shipped in the package, a
    # copy of schemas/root-policy.default.json. Give the receiver the same file (UNICOP_ROOT_POLICY). Read once.
    'root_policy': None,
    # Path of the IAM policy JSON (schemas/iam-policy.schema.json), the receiver's UNICOP_IAM_POLICY: what
    # `unicop_iam_sync` applies and the roles an AccessGrant may name. None = no policy (any role name is taken).
    # Read when used, not at start-up: a broken file then fails the sync (listing every problem), not NetBox.
    'iam_policy': None,
    # Longest an AccessGrant may last, in seconds (8 h).
    'grant_max_seconds': 28800,
    # Single sign-on (unicop_netbox.sso.sync_groups in SOCIAL_AUTH_PIPELINE): the token claim that lists the user's
    # groups, and the NetBox groups that claim manages (None = every group; a list of names = only those).
    'sso_groups_claim': 'groups',
    'sso_managed_groups': None,
    # This NetBox's source name in the receiver's federation file (UNICOP_FEDERATION) when that file has several
    # sources: the receiver then keys roots `<source_name>/<key>`, and the panels and buttons must ask for those.
    # None = the receiver has one source (keys unprefixed).
    'source_name': None,
}

_WHERE = f"PLUGINS_CONFIG['{PLUGIN_NAME}']"
# schemas/federation.schema.json, $defs/name
_SOURCE_NAME = re.compile(r'[a-z0-9][a-z0-9-]{0,62}')


def _check_object_type(value):
    if not isinstance(value, str) or value.count('.') != 1:
        return f'{value!r} is not "app_label.model"'
    app_label, model = value.split('.')
    try:
        apps.get_model(app_label, model)
    except LookupError:
        return f'{value!r} is not an installed model'
    return None


def check_settings(config):
    """Return the plugin settings (defaults filled in), or raise ImproperlyConfigured listing every problem."""
    if not isinstance(config, dict):
        raise ImproperlyConfigured(f'unicop_netbox: {_WHERE} must be a dict, got {type(config).__name__}')
    merged = {**DEFAULT_SETTINGS, **config}
    errors = []

    url = merged['receiver_url']
    if not isinstance(url, str) or not url.strip():
        errors.append(f"{_WHERE}['receiver_url'] is missing: set the receiver's base URL, e.g. http://127.0.0.1:8080")
    else:
        parts = urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            errors.append(f"{_WHERE}['receiver_url'] = {url!r} is not an http(s) URL with a host")

    secret = merged['webhook_secret']
    if secret is None or (isinstance(secret, str) and not secret.strip()):
        errors.append(
            f"{_WHERE}['webhook_secret'] is missing: set it to one of the receiver's UNICOP_WEBHOOK_SECRETS "
            '(NetBox signs every webhook with it; the receiver rejects unsigned ones)'
        )
    elif not isinstance(secret, str):
        errors.append(f"{_WHERE}['webhook_secret'] must be a string, got {type(secret).__name__}")
    elif len(secret) > 255:
        errors.append(f"{_WHERE}['webhook_secret'] is {len(secret)} characters; NetBox keeps at most 255")

    if merged['delivery'] not in ('batch', 'webhook'):
        errors.append(f"{_WHERE}['delivery'] must be 'batch' or 'webhook', got {merged['delivery']!r}")
    max_bytes = merged['batch_max_bytes']
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or not 4096 <= max_bytes <= 64 * 1048576:
        errors.append(f"{_WHERE}['batch_max_bytes'] must be a whole number of bytes from 4096 to 67108864")
    intervals = merged['batch_retry_intervals']
    if not isinstance(intervals, (list, tuple)) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 < i <= 86400 for i in intervals
    ):
        errors.append(f"{_WHERE}['batch_retry_intervals'] must be a list of seconds (1 to 86400 each; [] = no retry)")

    if not isinstance(merged['receiver_token'], str):
        errors.append(f"{_WHERE}['receiver_token'] must be a string")
    ca_problem = _check_ca_file(merged['receiver_ca_file'])
    if ca_problem:
        errors.append(f"{_WHERE}['receiver_ca_file'] {ca_problem}")

    types = merged['object_types']
    if not isinstance(types, (list, tuple)) or not types:
        errors.append(f'{_WHERE}[\'object_types\'] must be a non-empty list of "app_label.model" strings')
    else:
        errors.extend(f"{_WHERE}['object_types']: {e}" for e in map(_check_object_type, types) if e)

    panel_models = merged['panel_models']
    if not isinstance(panel_models, (list, tuple)):
        errors.append(f'{_WHERE}[\'panel_models\'] must be a list of "app_label.model" strings (may be empty)')
    else:
        errors.extend(f"{_WHERE}['panel_models']: {e}" for e in map(_check_object_type, panel_models) if e)

    claim = merged['sso_groups_claim']
    if not isinstance(claim, str) or not claim.strip():
        errors.append(f"{_WHERE}['sso_groups_claim'] must be a claim name, e.g. 'groups'")
    managed = merged['sso_managed_groups']
    if managed is not None and (not isinstance(managed, (list, tuple)) or not all(isinstance(g, str) for g in managed)):
        errors.append(f"{_WHERE}['sso_managed_groups'] must be None (every group) or a list of group names")

    policy_path, policy = _check_root_policy(merged['root_policy'], errors)

    iam_policy = merged['iam_policy']
    if iam_policy is not None and (not isinstance(iam_policy, str | os.PathLike) or not str(iam_policy).strip()):
        errors.append(f"{_WHERE}['iam_policy'] must be the path of an IAM policy JSON file (or None)")

    max_seconds = merged['grant_max_seconds']
    if not isinstance(max_seconds, int) or isinstance(max_seconds, bool) or not 60 <= max_seconds <= 31 * 86400:
        errors.append(f"{_WHERE}['grant_max_seconds'] must be a whole number of seconds from 60 to 2678400 (31 days)")

    source_name = merged['source_name']
    if source_name is not None and (
        not isinstance(source_name, str) or not re.fullmatch(r'[a-z0-9][a-z0-9-]{0,62}', source_name)
    ):
        errors.append(f"{_WHERE}['source_name'] must be None or a source name of the federation file (a-z, 0-9, -)")

    if errors:
        raise ImproperlyConfigured('unicop_netbox is not configured correctly:\n  - ' + '\n  - '.join(errors))
    merged['receiver_url'] = url.rstrip('/')
    merged['object_types'] = list(dict.fromkeys(types))
    merged['panel_models'] = [m.lower() for m in dict.fromkeys(panel_models)]
    merged['root_policy'] = policy_path
    merged['root_policy_document'] = policy
    return merged


def _check_ca_file(path):
    """None when `path` is None or a readable PEM file with at least one certificate, else the problem. Checked at
    start-up so that a wrong path stops NetBox instead of failing every delivery later with a TLS error."""
    if path is None:
        return None
    if not isinstance(path, str | os.PathLike) or not str(path).strip():
        return 'must be the path of a PEM CA bundle (or None for the default bundle)'
    try:
        with open(path, 'rb') as f:
            pem = f.read()
    except OSError as e:
        return f'= {str(path)!r} cannot be read: {e.strerror}'
    if b'-----BEGIN CERTIFICATE-----' not in pem:
        return f'= {str(path)!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)'
    return None


def tls_verify(settings):
    """`requests`' verify= for calls to the receiver: the configured CA bundle, else True (the default bundle).
    Never False: the plugin sends signed events and a bearer token, which must not reach an unverified peer."""
    ca_file = settings.get('receiver_ca_file')
    return str(ca_file) if ca_file else True


def _check_root_policy(path, errors):
    """(path, loaded document) of the configured root policy, or (None, None) with the problem added to `errors`."""
    if path is None:
        path = str(DEFAULT_ROOT_POLICY_PATH)
    elif not isinstance(path, str | os.PathLike) or not str(path).strip():
        errors.append(f"{_WHERE}['root_policy'] must be the path of a root policy JSON file (or None for the default)")
        return None, None
    try:
        return str(path), load_root_policy(path)
    except RootPolicyError as e:
        errors.append(f"{_WHERE}['root_policy']: {e}")
        return None, None


def plugin_settings():
    """The current settings, defaults filled in, without the start-up check (it already ran in ready()); read at
    call time so a test's override_settings(PLUGINS_CONFIG=...) applies."""
    from django.conf import settings

    merged = {**DEFAULT_SETTINGS, **settings.PLUGINS_CONFIG.get(PLUGIN_NAME, {})}
    merged['receiver_url'] = str(merged['receiver_url'] or '').rstrip('/')
    merged['receiver_token'] = merged['receiver_token'] or ''
    return merged


def panel_models():
    """The checked `panel_models` of the running plugin (fixed at start-up: template extensions register once)."""
    return list(apps.get_app_config(PLUGIN_NAME).settings['panel_models'])
