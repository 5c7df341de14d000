"""The plugin's UI URLs, under /plugins/unicop/ (PluginConfig.base_url)."""

from django.urls import include, path
from utilities.urls import get_model_urls

from . import grant_views  # noqa: F401 - registers the AccessGrant views that get_model_urls collects
from .views import PanelView, ReconcileView, TimelineView

__all__ = ('urlpatterns',)

urlpatterns = [
    path('reconcile/<str:app_label>/<str:model_name>/<int:pk>/', ReconcileView.as_view(), name='reconcile'),
    path('panel/<str:app_label>/<str:model_name>/<int:pk>/', PanelView.as_view(), name='panel'),
    path('timeline/<str:app_label>/<str:model_name>/<int:pk>/', TimelineView.as_view(), name='timeline'),
    path('access-grants/', include(get_model_urls('unicop_netbox', 'accessgrant', detail=False))),
    path('access-grants/<int:pk>/', include(get_model_urls('unicop_netbox', 'accessgrant'))),
]
