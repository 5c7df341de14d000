"""The AccessGrant list: who, role, scope, until when, status; rows can be deleted (revoked), never edited."""

import django_tables2 as tables
from netbox.tables import NetBoxTable, columns

from .models import AccessGrant

__all__ = ('AccessGrantTable',)


class AccessGrantTable(NetBoxTable):
    id = tables.Column(linkify=True, verbose_name='ID')
    user = tables.Column(linkify=False)
    group = tables.Column(linkify=False)
    scope = columns.TemplateColumn(template_code='<code>{{ value|default_if_none:"" }}</code>', orderable=False)
    status = columns.TemplateColumn(
        template_code='{% if record.is_expired %}<span class="badge text-bg-secondary">expired</span>'
        '{% else %}<span class="badge text-bg-success">active</span>{% endif %}',
        orderable=False,
    )
    granted_by = tables.Column(linkify=False)
    actions = columns.ActionsColumn(actions=('delete',))

    class Meta(NetBoxTable.Meta):
        model = AccessGrant
        fields = (
            'pk',
            'id',
            'user',
            'group',
            'role',
            'scope',
            'reason',
            'expires_at',
            'status',
            'granted_by',
            'actions',
        )
        default_columns = ('id', 'user', 'group', 'role', 'scope', 'expires_at', 'status', 'granted_by', 'reason')
