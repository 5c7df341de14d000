"""Custom script `RequestReconcile`, for custom-link buttons on object pages.

NetBox loads scripts only from script modules (SCRIPTS_ROOT, an upload, or a data source), never from plugins, so
this module is not a script module itself: install the two-line stub `script_module/unicop_reconcile.py` as a
script module (README). Core custom scripts are deprecated in NetBox 4.7 (removed in 5.0); the plugin's Reconcile
button (views.ReconcileView) is the future-proof path."""

import logging

from django.apps import apps
from extras.scripts import IntegerVar, Script, StringVar

from .conf import plugin_settings
from .receiver import ROOT_PATTERN, ReceiverError, request_reconcile
from .roots import label_of, object_key, resolve_root
from .views import may_reconcile, reconcile_permission

__all__ = ('RefusedError', 'RequestReconcile')

logger = logging.getLogger('unicop_netbox.reconcile')


class RefusedError(Exception):
    """The script will not ask for this reconcile; the message says why (shown to the user as is). `denied`: the
    reason is a missing permission."""

    def __init__(self, message, *, denied=False):
        super().__init__(message)
        self.denied = denied


class RequestReconcile(Script):
    object_type = StringVar(
        label='Object type',
        description='app_label.model, e.g. dcim.device (a custom link passes it)',
        required=False,
        regex=r'^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$',
    )
    object_id = IntegerVar(label='Object ID', required=False, min_value=1)
    root = StringVar(
        label='Root key',
        description='instead of type + ID: the root key, e.g. dcim.device:42',
        required=False,
        regex=ROOT_PATTERN.pattern,
    )
    reason = StringVar(label='Reason', required=False, max_length=400)

    class Meta:
        name = 'Request UNICOP reconcile'
        description = "Ask the UNICOP receiver to reconcile an object's root (POST /v1/roots/{root}/reconcile)"
        commit_default = False  # the script changes nothing in NetBox
        scheduling_enabled = False
        job_timeout = 60
        field_order = ('object_type', 'object_id', 'root', 'reason')

    def _root(self, data, user):
        """The root object to reconcile, after every check; raises RefusedError with a readable message.
        A typed root key gets the same checks as type + ID: it must name an existing object of a type UNICOP follows
        (its root is reconciled), and the user needs `<app>.reconcile_<model>` or `<app>.change_<model>` on that
        root, checked with the object so NetBox's ObjectPermission constraints apply."""
        if user is None or not getattr(user, 'is_authenticated', False):
            raise RefusedError('no NetBox user to check the permission of')
        if data.get('root'):
            key = str(data['root'])
            if not ROOT_PATTERN.match(key):
                raise RefusedError(f'{key!r} is not a root key (<app_label>.<model>:<id>)')
            label, _, pk = key.partition(':')
            pk = int(pk)
        else:
            label, pk = data.get('object_type'), data.get('object_id')
            if not label or not pk:
                raise RefusedError('give either a root key or an object type and ID')
        try:
            model = apps.get_model(*str(label).split('.'))
        except (LookupError, ValueError, TypeError) as exc:
            raise RefusedError(f'{label} is not an installed model') from exc
        label = label_of(model)
        if label not in plugin_settings()['object_types']:
            raise RefusedError(f'{label} is not one of the object types UNICOP follows (object_types)')
        obj = model.objects.filter(pk=pk).first()
        if obj is None:
            raise RefusedError(f'{label} {pk} does not exist')
        root = resolve_root(obj)
        if not may_reconcile(user, root):
            raise RefusedError(f'{user} lacks {reconcile_permission(root)} on {object_key(root)}', denied=True)
        return root

    def run(self, data, commit):
        user = getattr(getattr(self, 'request', None), 'user', None)
        try:
            root = self._root(data, user)
        except RefusedError as exc:
            self.log_failure(str(exc))
            return 'not requested: permission denied' if exc.denied else f'not requested: {exc}'
        root_key = object_key(root)
        reason = data.get('reason') or f'NetBox script RequestReconcile by {user.get_username()}'
        try:
            answer = request_reconcile(root_key, user_key=user.pk, reason=reason, username=user.get_username())
        except ReceiverError as exc:
            logger.warning('unicop: reconcile of %s by %s failed: %s', root_key, user, exc.log_fields())
            self.log_failure(f'reconcile of {root_key} not requested: {exc}')
            return f'not requested: {exc}'
        reconcile_id = answer.get('id')
        if answer.get('result') == 'duplicate':
            self.log_info(f'reconcile of {root_key} was already requested: reconcile id {reconcile_id}', root)
        else:
            self.log_success(f'reconcile of {root_key} requested: reconcile id {reconcile_id}', root)
        return f'{root_key}: {reconcile_id}'
