"""Print NetBox's configuration.py for the local instance of scripts/netbox (values from UNICOP_CONF_* env).

With UNICOP_CONF_OIDC_ISSUER (+ client id and secret) it also configures single sign-on through that OpenID
provider (NetBox docs "Authentication / Generic OIDC"; social-auth's OpenIdConnectAuth), with the plugin's
group sync in the pipeline; without it, nothing about logins changes.
"""

import os
import sys

__all__ = ('render', 'render_sso')

TEMPLATE = '''\
# Written by scripts/netbox (scripts/lib/netbox/write_configuration.py) on every `up`; edits are overwritten.
# Local development instance: everything on 127.0.0.1, secrets kept in ../../secrets/.

ALLOWED_HOSTS = ['127.0.0.1', 'localhost']

DATABASES = {{
    'default': {{
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': 'netbox',
        'USER': 'netbox',
        'PASSWORD': {pg_password!r},
        'HOST': '127.0.0.1',
        'PORT': {pg_port!r},
        'CONN_MAX_AGE': 300,
    }},
}}

REDIS = {{
    'tasks': {{'HOST': '127.0.0.1', 'PORT': {redis_port}, 'PASSWORD': '', 'DATABASE': 0, 'SSL': False}},
    'caching': {{'HOST': '127.0.0.1', 'PORT': {redis_port}, 'PASSWORD': '', 'DATABASE': 1, 'SSL': False}},
}}

SECRET_KEY = {secret_key!r}
API_TOKEN_PEPPERS = {{1: {pepper!r}}}

# NetBox does not retry failed webhooks by default (RQ_RETRY_MAX = 0); the receiver answers 503 when it
# cannot take an event, so give the worker a few tries.
RQ_RETRY_MAX = 3
RQ_RETRY_INTERVAL = [2, 5, 10]

TIME_ZONE = 'UTC'

PLUGINS = ['unicop_netbox']
PLUGINS_CONFIG = {{
    'unicop_netbox': {{
        'receiver_url': {receiver_url!r},
        'receiver_token': {receiver_token!r},
        # UNICOP_RECEIVER_CA_FILE: the CA of an https receiver (None = requests' default bundle)
        'receiver_ca_file': {receiver_ca_file!r},
        'webhook_secret': {webhook_secret!r},
        # batch delivery (the default): like RQ_RETRY_* above, a few quick retries, then the changelog catch-up
        'batch_retry_intervals': [2, 5, 10],
        # the receiver's UNICOP_ROOT_POLICY when set: both sides must evaluate the same root policy
        'root_policy': {root_policy!r},
        # the receiver's UNICOP_IAM_POLICY when set: `netbox unicop_iam_sync` applies it, AccessGrant roles come from it
        'iam_policy': {iam_policy!r},
    }},
}}

# `scripts/netbox test` runs the plugin's tests against the same PostgreSQL (Django creates and keeps the
# test_netbox database; the netbox role has CREATEDB) and Redis.
'''


SSO_TEMPLATE = '''
# Single sign-on through the OpenID provider {issuer} (scripts/idp locally). The login page offers it next to
# the local password login, which keeps working (ObjectPermissionBackend is still a backend).
REMOTE_AUTH_BACKEND = 'social_core.backends.open_id_connect.OpenIdConnectAuth'
SOCIAL_AUTH_OIDC_OIDC_ENDPOINT = {issuer!r}
SOCIAL_AUTH_OIDC_KEY = {client_id!r}
SOCIAL_AUTH_OIDC_SECRET = {client_secret!r}
SOCIAL_AUTH_OIDC_SCOPE = ['groups']
SOCIAL_AUTH_OIDC_USE_PKCE = True
SOCIAL_AUTH_OIDC_TOKEN_ENDPOINT_AUTH_METHOD = 'client_secret_basic'
# NetBox's default pipeline (netbox/settings.py) with the plugin's step: the user's NetBox groups follow the token's
# groups claim (unicop_netbox/sso.py), then REMOTE_AUTH_DEFAULT_GROUPS are added on top.
SOCIAL_AUTH_PIPELINE = (
    'social_core.pipeline.social_auth.social_details',
    'social_core.pipeline.social_auth.social_uid',
    'social_core.pipeline.social_auth.social_user',
    'social_core.pipeline.user.get_username',
    'social_core.pipeline.user.create_user',
    'social_core.pipeline.social_auth.associate_user',
    'unicop_netbox.sso.sync_groups',
    'netbox.authentication.user_default_groups_handler',
    'social_core.pipeline.social_auth.load_extra_data',
    'social_core.pipeline.user.user_details',
)
'''


def render_sso(env):
    """The SSO block, or '' when no provider is given."""
    issuer = env.get('UNICOP_CONF_OIDC_ISSUER', '').rstrip('/')
    if not issuer:
        return ''
    client_id = env.get('UNICOP_CONF_OIDC_CLIENT_ID', '')
    client_secret = env.get('UNICOP_CONF_OIDC_CLIENT_SECRET', '')
    if not client_id or not client_secret:
        raise SystemExit('write_configuration: an OIDC issuer needs the NetBox client id and secret too')
    return SSO_TEMPLATE.format(issuer=issuer, client_id=client_id, client_secret=client_secret)


def render(env):
    return TEMPLATE.format(
        pg_password=env['UNICOP_CONF_PG_PASSWORD'],
        pg_port=env['UNICOP_CONF_PG_PORT'],
        redis_port=int(env['UNICOP_CONF_REDIS_PORT']),
        secret_key=env['UNICOP_CONF_SECRET_KEY'],
        pepper=env['UNICOP_CONF_PEPPER'],
        receiver_url=env['UNICOP_CONF_RECEIVER_URL'].rstrip('/'),
        receiver_token=env.get('UNICOP_CONF_RECEIVER_TOKEN', ''),
        receiver_ca_file=(
            os.path.abspath(env['UNICOP_CONF_RECEIVER_CA_FILE']) if env.get('UNICOP_CONF_RECEIVER_CA_FILE') else None
        ),
        webhook_secret=env['UNICOP_CONF_WEBHOOK_SECRET'],
        root_policy=os.path.abspath(env['UNICOP_CONF_ROOT_POLICY']) if env.get('UNICOP_CONF_ROOT_POLICY') else None,
        iam_policy=os.path.abspath(env['UNICOP_CONF_IAM_POLICY']) if env.get('UNICOP_CONF_IAM_POLICY') else None,
    ) + render_sso(env)


if __name__ == '__main__':
    sys.stdout.write(render(os.environ))
