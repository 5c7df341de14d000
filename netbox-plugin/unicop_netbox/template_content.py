"""The UNICOP panel and Reconcile button on root objects' pages (`panel_models`, read once at start-up)."""

from netbox.plugins import PluginTemplateExtension

from .conf import PLUGIN_NAME, panel_models
from .receiver import root_overview
from .roots import object_key, resolve_root
from .views import may_reconcile, reconcile_url

__all__ = ('RootPanel', 'template_extensions')


class RootPanel(PluginTemplateExtension):
    """Right column: the root's reconcile state and latest events (within 2 s, whatever the receiver does).
    Buttons: Reconcile, for users with `<app>.change_<model>` on the root."""

    models = panel_models()

    def right_page(self):
        root = resolve_root(self.context['object'])
        return self.render(f'{PLUGIN_NAME}/root_panel.html', extra_context={'unicop': root_overview(object_key(root))})

    def buttons(self):
        obj = self.context['object']
        root = resolve_root(obj)
        request = self.context.get('request')
        if not may_reconcile(getattr(request, 'user', None), root):
            return ''
        return self.render(
            f'{PLUGIN_NAME}/reconcile_button.html',
            extra_context={'reconcile_url': reconcile_url(obj), 'reconcile_root': object_key(root)},
        )


# An empty `models` would register the extension for every page: no panel_models, no extension.
template_extensions = [RootPanel] if RootPanel.models else []
