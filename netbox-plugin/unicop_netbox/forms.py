"""The AccessGrant form: creation only (grants are immutable; revoke = delete, then grant anew)."""

from django import forms
from netbox.forms import NetBoxModelFilterSetForm, NetBoxModelForm
from users.models import Group, User
from utilities.forms.fields import DynamicModelChoiceField, JSONField
from utilities.forms.widgets import DateTimePicker

from .models import AccessGrant

__all__ = ('AccessGrantFilterForm', 'AccessGrantForm')


class AccessGrantForm(NetBoxModelForm):
    user = DynamicModelChoiceField(
        queryset=User.objects.all(), required=False, help_text='Exactly one of user and group'
    )
    group = DynamicModelChoiceField(queryset=Group.objects.all(), required=False)
    scope = JSONField(help_text='"*" or {"regions": ["emea"]}, {"sites": [...]}, {"tenants": [...]}')
    expires_at = forms.DateTimeField(widget=DateTimePicker(), help_text='UTC; at most grant_max_seconds ahead')

    class Meta:
        model = AccessGrant
        fields = ('user', 'group', 'role', 'scope', 'reason', 'expires_at', 'tags')


class AccessGrantFilterForm(NetBoxModelFilterSetForm):
    model = AccessGrant
    user_id = DynamicModelChoiceField(queryset=User.objects.all(), required=False, label='User')
    group_id = DynamicModelChoiceField(queryset=Group.objects.all(), required=False, label='Group')
    role = forms.CharField(required=False)
