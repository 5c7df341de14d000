"""REST API routes under /api/plugins/unicop/."""

from netbox.api.routers import NetBoxRouter

from .views import AccessGrantViewSet

__all__ = ('urlpatterns',)

router = NetBoxRouter()
router.register('access-grants', AccessGrantViewSet)
urlpatterns = router.urls
