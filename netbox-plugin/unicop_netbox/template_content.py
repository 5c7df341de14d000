"""The UNICOP panel and Reconcile button on root objects' pages (`panel_models`, read once at start-up)."""

from netbox.plugins import PluginTemplateExtension

from .conf import PLUGIN_NAME, panel_models
from .panel import button_state, overview_for, panel_context
from .roots import object_key, resolve_root
from .views import may_reconcile, reconcile_url

__all__ = ('RootPanel', 'template_extensions')


class RootPanel(PluginTemplateExtension):
    """Right column: the root's reconcile state, whether a reconcile would run, and its latest events (within 2 s,
    whatever the receiver does). Buttons: Reconcile, for users with `<app>.reconcile_<model>` or
    `<app>.change_<model>` on the root; disabled, with the reason as its title, when the receiver says no reconcile
    would run. Both share one receiver read."""

    models = panel_models()

    def right_page(self):
        request = self.context.get('request')
        return self.render(
            f'{PLUGIN_NAME}/root_panel.html', extra_context=panel_context(request, self.context['object'])
        )

    def buttons(self):
        obj = self.context['object']
        root = resolve_root(obj)
        request = self.context.get('request')
        if not may_reconcile(getattr(request, 'user', None), root):
            return ''
        enabled, reason = button_state(overview_for(request, root))
        return self.render(
            f'{PLUGIN_NAME}/reconcile_button.html',
            extra_context={
                'reconcile_url': reconcile_url(obj),
                'reconcile_root': object_key(root),
                'reconcile_enabled': enabled,
                'reconcile_disabled_reason': reason,
            },
        )


# An empty `models` would register the extension for every page: no panel_models, no extension.
template_extensions = [RootPanel] if RootPanel.models else []
