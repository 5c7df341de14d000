"""WSGI entry point for gunicorn in scripts/netbox: NetBox plus its static files.

A pip-installed NetBox has no web server in front of it here (no nginx), so static files are served by
Django's StaticFilesHandler, which serves STATIC_URL through the staticfiles finders, like
`runserver --insecure` does. Local development only.
"""

from django.contrib.staticfiles.handlers import StaticFilesHandler
from netbox.wsgi import application as netbox_application

__all__ = ('application',)

application = StaticFilesHandler(netbox_application)
