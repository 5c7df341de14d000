"""Filters of the AccessGrant list and REST API (`?user_id=`, `?group_id=`, `?role=`, `?expired=true`, `?q=`)."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from netbox.filtersets import NetBoxModelFilterSet

from .models import AccessGrant

__all__ = ('AccessGrantFilterSet',)


class AccessGrantFilterSet(NetBoxModelFilterSet):
    expired = django_filters.BooleanFilter(method='filter_expired')

    class Meta:
        model = AccessGrant
        fields = ('id', 'user_id', 'group_id', 'role', 'granted_by_id', 'expires_at')

    def search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(
            Q(role__icontains=value)
            | Q(reason__icontains=value)
            | Q(user__username__icontains=value)
            | Q(group__name__icontains=value)
        )

    def filter_expired(self, queryset, name, value):
        now = timezone.now()
        return queryset.filter(expires_at__lte=now) if value else queryset.filter(expires_at__gt=now)
