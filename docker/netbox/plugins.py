# The unicop_netbox plugin's settings in a netbox-docker style image (/etc/netbox/config/plugins.py: netbox-docker
# loads every *.py of /etc/netbox/config after its configuration.py). Values come from the environment; secrets
# from files (compose secrets), never from the image.
import os


def _secret(name, default=''):
    path = os.environ.get(f'{name}_FILE')
    if path:
        with open(path) as f:
            return f.read().strip()
    return os.environ.get(name, default)


PLUGINS = ['unicop_netbox']
PLUGINS_CONFIG = {
    'unicop_netbox': {
        'receiver_url': os.environ.get('UNICOP_RECEIVER_URL', 'http://receiver:8080'),
        'receiver_token': _secret('UNICOP_RECEIVER_TOKEN'),
        # one of the receiver's UNICOP_WEBHOOK_SECRETS
        'webhook_secret': _secret('UNICOP_WEBHOOK_SECRET'),
    },
}

# NetBox does not retry a failed webhook job by default (RQ_RETRY_MAX = 0); the receiver answers 503 while it cannot
# take an event, so a few quick retries, then the receiver's changelog catch-up recovers what is still missing.
RQ_RETRY_MAX = int(os.environ.get('RQ_RETRY_MAX', '3'))
RQ_RETRY_INTERVAL = [2, 5, 10]
