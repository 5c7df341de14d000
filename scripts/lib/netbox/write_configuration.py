"""Print NetBox's configuration.py for the local instance of scripts/netbox (values from UNICOP_CONF_* env)."""

import os
import sys

__all__ = ('render',)

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
        'webhook_secret': {webhook_secret!r},
        # the receiver's UNICOP_ROOT_POLICY when set: both sides must evaluate the same root policy
        'root_policy': {root_policy!r},
        # the receiver's UNICOP_IAM_POLICY when set: `netbox unicop_iam_sync` applies it, AccessGrant roles come from it
        'iam_policy': {iam_policy!r},
    }},
}}

# `scripts/netbox test` runs the plugin's tests against the same PostgreSQL (Django creates and keeps the
# test_netbox database; the netbox role has CREATEDB) and Redis.
'''


def render(env):
    return TEMPLATE.format(
        pg_password=env['UNICOP_CONF_PG_PASSWORD'],
        pg_port=env['UNICOP_CONF_PG_PORT'],
        redis_port=int(env['UNICOP_CONF_REDIS_PORT']),
        secret_key=env['UNICOP_CONF_SECRET_KEY'],
        pepper=env['UNICOP_CONF_PEPPER'],
        receiver_url=env['UNICOP_CONF_RECEIVER_URL'].rstrip('/'),
        receiver_token=env.get('UNICOP_CONF_RECEIVER_TOKEN', ''),
        webhook_secret=env['UNICOP_CONF_WEBHOOK_SECRET'],
        root_policy=os.path.abspath(env['UNICOP_CONF_ROOT_POLICY']) if env.get('UNICOP_CONF_ROOT_POLICY') else None,
        iam_policy=os.path.abspath(env['UNICOP_CONF_IAM_POLICY']) if env.get('UNICOP_CONF_IAM_POLICY') else None,
    )


if __name__ == '__main__':
    sys.stdout.write(render(os.environ))
