"""UNICOP NetBox plugin: root/scope/changelog context on every webhook, webhook bootstrap, root panel + Reconcile."""

from django.conf import settings
from netbox.plugins import PluginConfig

from .conf import DEFAULT_SETTINGS, PLUGIN_NAME, check_settings

__all__ = ('UnicopConfig', 'config')

__version__ = '0.1.0'


class UnicopConfig(PluginConfig):
    name = PLUGIN_NAME
    verbose_name = 'UNICOP'
    description = 'NetBox changes as ordered, root-keyed events for the UNICOP control plane'
    version = __version__
    author = 'UNICOP'
    base_url = 'unicop'
    min_version = '4.4.0'
    max_version = '4.7.99'
    default_settings = DEFAULT_SETTINGS
    # Batched delivery (batches.py): the request's events → one job on the `unicop_netbox.batches` RQ queue.
    events_pipeline = ['unicop_netbox.batches.queue_batch']
    queues = ['batches']

    def ready(self):
        # Check first: a misconfigured plugin must stop start-up before it registers anything.
        self.settings = check_settings(settings.PLUGINS_CONFIG.get(self.name, {}))
        super().ready()
        from . import jobs  # noqa: F401 - registers the grant expiry sweep as a system job
        from .iam import register_reconcile_action
        from .webhook_callbacks import register

        register()
        register_reconcile_action()


config = UnicopConfig
