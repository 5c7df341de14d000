"""AccessGrant's REST representation — what the receiver reads from the webhook: `user` {id, username} | null,
`group` {id, name} | null, `role`, `scope`, `reason`, `expires_at` (ISO 8601), `granted_by` {id, username}. Create
and delete only: an update is refused (revoke = delete, then grant anew)."""

from netbox.api.serializers import NetBoxModelSerializer
from rest_framework import serializers
from users.api.serializers import GroupSerializer, UserSerializer

from ..models import AccessGrant

__all__ = ('AccessGrantSerializer',)


class AccessGrantSerializer(NetBoxModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name='plugins-api:unicop_netbox-api:accessgrant-detail')
    user = UserSerializer(nested=True, required=False, allow_null=True)
    group = GroupSerializer(nested=True, required=False, allow_null=True)
    scope = serializers.JSONField()
    granted_by = UserSerializer(nested=True, read_only=True)
    permission = serializers.PrimaryKeyRelatedField(read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = AccessGrant
        fields = (
            'id', 'url', 'display', 'user', 'group', 'role', 'scope', 'reason', 'expires_at', 'status', 'granted_by',
            'permission', 'tags', 'custom_fields', 'created', 'last_updated',
        )  # fmt: skip
        brief_fields = ('id', 'url', 'display', 'role', 'expires_at')

    def update(self, instance, validated_data):
        raise serializers.ValidationError('An access grant cannot be changed: revoke it (DELETE) and grant anew.')
