"""The plugin's UI URLs, under /plugins/unicop/ (PluginConfig.base_url)."""

from django.urls import path

from .views import PanelView, ReconcileView, TimelineView

__all__ = ('urlpatterns',)

urlpatterns = [
    path('reconcile/<str:app_label>/<str:model_name>/<int:pk>/', ReconcileView.as_view(), name='reconcile'),
    path('panel/<str:app_label>/<str:model_name>/<int:pk>/', PanelView.as_view(), name='panel'),
    path('timeline/<str:app_label>/<str:model_name>/<int:pk>/', TimelineView.as_view(), name='timeline'),
]
