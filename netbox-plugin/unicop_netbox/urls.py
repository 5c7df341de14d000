"""The plugin's UI URLs, under /plugins/unicop/ (PluginConfig.base_url)."""

from django.urls import path

from .views import ReconcileView

__all__ = ('urlpatterns',)

urlpatterns = [
    path('reconcile/<str:app_label>/<str:model_name>/<int:pk>/', ReconcileView.as_view(), name='reconcile'),
]
