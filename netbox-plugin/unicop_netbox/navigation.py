"""The plugin's menu entry: Plugins → UNICOP → Access grants (with an add button)."""

from netbox.plugins import PluginMenuButton, PluginMenuItem

__all__ = ('menu_items',)

menu_items = (
    PluginMenuItem(
        link='plugins:unicop_netbox:accessgrant_list',
        link_text='Access grants',
        permissions=['unicop_netbox.view_accessgrant'],
        buttons=(
            PluginMenuButton(
                link='plugins:unicop_netbox:accessgrant_add',
                title='Grant access',
                icon_class='mdi mdi-plus-thick',
                permissions=['unicop_netbox.add_accessgrant'],
            ),
        ),
    ),
)
