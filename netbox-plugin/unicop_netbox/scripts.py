"""Custom script `RequestReconcile`, for custom-link buttons on object pages.

NetBox loads scripts only from script modules (SCRIPTS_ROOT, an upload, or a data source), never from plugins, so
this module is not a script module itself: install the two-line stub `script_module/unicop_reconcile.py` as a
script module (README). Core custom scripts are deprecated in NetBox 4.7 (removed in 5.0); the plugin's Reconcile
button (views.ReconcileView) is the future-proof path."""

from django.apps import apps
from extras.scripts import IntegerVar, Script, StringVar

from .receiver import ROOT_PATTERN, ReceiverError, request_reconcile
from .roots import object_key, resolve_root
from .views import may_reconcile, reconcile_permission

__all__ = ('RequestReconcile',)


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

    def _root(self, data):
        """(root key, root object or None); raises ValueError with a readable message."""
        if data.get('root'):
            return data['root'], None
        object_type, object_id = data.get('object_type'), data.get('object_id')
        if not object_type or not object_id:
            raise ValueError('give either a root key or an object type and ID')
        try:
            model = apps.get_model(*object_type.split('.'))
        except (LookupError, ValueError) as exc:
            raise ValueError(f'{object_type} is not an installed model') from exc
        obj = model.objects.filter(pk=object_id).first()
        if obj is None:
            raise ValueError(f'{object_type} {object_id} does not exist')
        root = resolve_root(obj)
        return object_key(root), root

    def run(self, data, commit):
        try:
            root_key, root = self._root(data)
        except ValueError as exc:
            self.log_failure(str(exc))
            return f'not requested: {exc}'
        user = getattr(self.request, 'user', None)
        if root is not None and user is not None and not may_reconcile(user, root):
            self.log_failure(f'{user} lacks {reconcile_permission(root)} on {root_key}')
            return 'not requested: permission denied'
        username = user.get_username() if user is not None else 'script'
        reason = data.get('reason') or f'NetBox script RequestReconcile by {username}'
        try:
            answer = request_reconcile(root_key, user_key=getattr(user, 'pk', username), reason=reason)
        except ReceiverError as exc:
            self.log_failure(f'reconcile of {root_key} not requested: {exc}')
            return f'not requested: {exc}'
        reconcile_id = answer.get('id')
        if answer.get('result') == 'duplicate':
            self.log_info(f'reconcile of {root_key} was already requested: reconcile id {reconcile_id}', root)
        else:
            self.log_success(f'reconcile of {root_key} requested: reconcile id {reconcile_id}', root)
        return f'{root_key}: {reconcile_id}'
