# NetBox configuration of the air-gapped NetBox base, read from the environment with netbox-docker's variable
# names (DB_*, REDIS_*, SECRET_KEY, ALLOWED_HOSTS; secrets also as <NAME>_FILE), then every *.py file of
# /etc/netbox/config in name order, as netbox-docker does (that is where the plugin image puts plugins.py).
import os
import runpy
from pathlib import Path


def _env(name, default=''):
    path = os.environ.get(f'{name}_FILE')
    if path:
        with open(path) as f:
            return f.read().strip()
    return os.environ.get(name, default)


def _secret(secret_name, name, default=''):
    """netbox-docker's rule: the file /run/secrets/<secret_name> (a compose secret) wins over the variable."""
    path = Path('/run/secrets') / secret_name
    return path.read_text().strip() if path.is_file() else _env(name, default)


ALLOWED_HOSTS = _env('ALLOWED_HOSTS', '*').split()

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': _env('DB_NAME', 'netbox'),
        'USER': _env('DB_USER', 'netbox'),
        'PASSWORD': _secret('db_password', 'DB_PASSWORD'),
        'HOST': _env('DB_HOST', 'postgres'),
        'PORT': _env('DB_PORT', '5432'),
        'CONN_MAX_AGE': 300,
    },
}


def _redis(database):
    return {
        'HOST': _env('REDIS_HOST', 'redis'),
        'PORT': int(_env('REDIS_PORT', '6379')),
        'PASSWORD': _secret('redis_password', 'REDIS_PASSWORD'),
        'DATABASE': database,
        'SSL': _env('REDIS_SSL', 'false') == 'true',
    }


REDIS = {'tasks': _redis(0), 'caching': _redis(1)}

SECRET_KEY = _secret('secret_key', 'SECRET_KEY')
# v2 API tokens (NetBox 4.5+) are hashed with a pepper
_PEPPER = _secret('api_token_pepper_1', 'API_TOKEN_PEPPER_1')
API_TOKEN_PEPPERS = {1: _PEPPER} if _PEPPER else {}
TIME_ZONE = _env('TIME_ZONE', 'UTC')
# where netbox-docker keeps uploads (its volume path)
MEDIA_ROOT = '/opt/netbox/netbox/media'

for _extra in sorted(Path('/etc/netbox/config').glob('*.py')):
    globals().update({k: v for k, v in runpy.run_path(str(_extra)).items() if k.isupper()})
