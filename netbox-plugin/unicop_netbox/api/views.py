"""/api/plugins/unicop/access-grants/: list, read, create (granted_by = the caller), delete. PUT/PATCH are refused."""

from netbox.api.viewsets import NetBoxModelViewSet

from ..filtersets import AccessGrantFilterSet
from ..models import AccessGrant
from .serializers import AccessGrantSerializer

__all__ = ('AccessGrantViewSet',)


class AccessGrantViewSet(NetBoxModelViewSet):
    queryset = AccessGrant.objects.select_related('user', 'group', 'granted_by')
    serializer_class = AccessGrantSerializer
    filterset_class = AccessGrantFilterSet
    http_method_names = ['get', 'post', 'delete', 'head', 'options']

    def perform_create(self, serializer):
        # granted_by is read-only in the serializer: it is always the authenticated caller
        serializer.save = _with_granted_by(serializer.save, self.request.user)
        super().perform_create(serializer)


def _with_granted_by(save, user):
    def wrapped(**kwargs):
        return save(granted_by=user, **kwargs)

    return wrapped
