"""AccessGrant views: list, detail, create and delete (revoke). No edit view: a grant is immutable."""

from netbox.object_actions import AddObject, BulkExport, DeleteObject
from netbox.views import generic
from utilities.views import register_model_view

from .filtersets import AccessGrantFilterSet
from .forms import AccessGrantFilterForm, AccessGrantForm
from .models import AccessGrant
from .tables import AccessGrantTable

__all__ = ('AccessGrantCreateView', 'AccessGrantDeleteView', 'AccessGrantListView', 'AccessGrantView')


@register_model_view(AccessGrant, 'list', path='', detail=False)
class AccessGrantListView(generic.ObjectListView):
    queryset = AccessGrant.objects.select_related('user', 'group', 'granted_by')
    table = AccessGrantTable
    filterset = AccessGrantFilterSet
    filterset_form = AccessGrantFilterForm
    actions = (AddObject, BulkExport)


@register_model_view(AccessGrant)
class AccessGrantView(generic.ObjectView):
    queryset = AccessGrant.objects.select_related('user', 'group', 'granted_by', 'permission')
    actions = (DeleteObject,)


@register_model_view(AccessGrant, 'add', detail=False)
class AccessGrantCreateView(generic.ObjectEditView):
    queryset = AccessGrant.objects.all()
    form = AccessGrantForm

    def alter_object(self, obj, request, url_args, url_kwargs):
        if obj.pk is None:
            obj.granted_by = request.user  # from the request, never from the form
        return obj


@register_model_view(AccessGrant, 'delete')
class AccessGrantDeleteView(generic.ObjectDeleteView):
    queryset = AccessGrant.objects.all()
