"""AccessGrant: temporary access for a user or a group — a role of the IAM policy within a scope, until `expires_at`.
A NetBoxModel, so it has a changelog and reaches the receiver through the event rule like any NetBox object (the
receiver publishes unicop.access.granted|revoked|expired from it). Immutable: revoke = delete, then grant anew."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from netbox.models import NetBoxModel

__all__ = ('AccessGrant',)


class AccessGrant(NetBoxModel):
    user = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name='+', null=True, blank=True
    )
    group = models.ForeignKey(to='users.Group', on_delete=models.CASCADE, related_name='+', null=True, blank=True)
    role = models.CharField(max_length=100, help_text='A role of the IAM policy, e.g. operator')
    scope = models.JSONField(
        help_text='"*" or {"tenants"|"sites"|"regions": [slugs]}, as in the IAM policy; a region covers its children'
    )
    reason = models.CharField(max_length=500, help_text='Why (kept with the grant and in the audit trail)')
    expires_at = models.DateTimeField(help_text='When the access ends (in the future, at most grant_max_seconds ahead)')
    granted_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name='+', null=True, editable=False
    )
    permission = models.ForeignKey(
        to='users.ObjectPermission', on_delete=models.SET_NULL, related_name='+', null=True, editable=False
    )

    class Meta:
        ordering = ('-expires_at', '-pk')
        verbose_name = 'access grant'
        constraints = (
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True)
                | models.Q(user__isnull=True, group__isnull=False),
                name='unicop_netbox_accessgrant_user_xor_group',
                violation_error_message='Give exactly one of user and group.',
            ),
        )

    def __str__(self):
        return f'{self.role} for {self.subject_text} until {self.expires_at:%Y-%m-%d %H:%M:%S}Z'

    @property
    def subject_text(self):
        if self.user_id:
            return f'user {self.user}'
        return f'group {self.group}' if self.group_id else 'nobody'

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def status(self):
        return 'expired' if self.is_expired else 'active'

    def get_absolute_url(self):
        return reverse('plugins:unicop_netbox:accessgrant', args=[self.pk])

    def clean(self):
        super().clean()
        from .grants import grant_problems

        problems = grant_problems(self)
        if problems:
            raise ValidationError(problems)

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError('An access grant cannot be changed: revoke it (delete) and grant anew.')
        from .grants import create_grant_permissions, schedule_expiry

        with transaction.atomic():
            super().save(*args, **kwargs)
            create_grant_permissions(self)
            transaction.on_commit(lambda: schedule_expiry(self))

    def delete(self, *args, **kwargs):
        from .grants import delete_grant_permissions

        with transaction.atomic():
            delete_grant_permissions(self.pk)
            return super().delete(*args, **kwargs)
