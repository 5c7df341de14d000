"""The plugin's views: the Reconcile button (POST only, CSRF-protected by Django's middleware, login and the root's
reconcile or change permission required), the panel fragment htmx refreshes while an attempt is in flight, and the
root's full timeline page (paged with the receiver's `before` cursor). The two reads need login and view permission."""

import logging

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from .conf import PLUGIN_NAME, panel_models
from .iam import RECONCILE_ACTION
from .panel import link_events, panel_context
from .receiver import ReceiverError, request_reconcile, root_timeline
from .roots import label_of, object_key, resolve_root

__all__ = (
    'PanelView',
    'ReconcileView',
    'TimelineView',
    'may_reconcile',
    'reconcile_permission',
    'reconcile_permissions',
    'reconcile_url',
)

logger = logging.getLogger('unicop_netbox.reconcile')


def reconcile_permissions(root):
    """`<app_label>.reconcile_<model>` (the custom action UNICOP's IAM mapping grants: iam.py) or, as before it
    existed, `<app_label>.change_<model>` of the root object: a reconcile pushes the root's intended state, as
    editing it would. NetBox's object permissions (with their constraints) decide either."""
    meta = root._meta
    return (f'{meta.app_label}.{RECONCILE_ACTION}_{meta.model_name}', f'{meta.app_label}.change_{meta.model_name}')


def reconcile_permission(root):
    """The permissions that allow a reconcile, as a readable phrase for refusals."""
    return ' or '.join(reconcile_permissions(root))


def may_reconcile(user, root):
    if not (user and user.is_authenticated):
        return False
    return any(user.has_perm(perm, root) for perm in reconcile_permissions(root))


def reconcile_url(obj):
    return reverse(
        'plugins:unicop_netbox:reconcile',
        kwargs={'app_label': obj._meta.app_label, 'model_name': obj._meta.model_name, 'pk': obj.pk},
    )


class ReconcileView(LoginRequiredMixin, View):
    """POST /plugins/unicop/reconcile/<app_label>/<model_name>/<pk>/ -> receiver reconcile, message, back to the page.
    Only `post` is defined, so any other method is 405."""

    http_method_names = ['post']
    raise_exception = False  # anonymous -> login page

    def post(self, request, app_label, model_name, pk):
        label = f'{app_label}.{model_name}'.lower()
        if label not in panel_models():
            raise Http404(f'{label} has no UNICOP reconcile button')
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError as exc:
            raise Http404(label) from exc
        obj = get_object_or_404(model.objects.all(), pk=pk)
        root = resolve_root(obj)
        if not may_reconcile(request.user, root):
            raise PermissionDenied(f'needs {reconcile_permission(root)} on {label_of(root)} {root.pk}')
        root_key = object_key(root)
        try:
            answer = request_reconcile(
                root_key,
                user_key=request.user.pk,
                reason=f'NetBox UI: Reconcile button by {request.user.get_username()}',
                username=request.user.get_username(),
            )
        except ReceiverError as exc:
            # The receiver's message may repeat anything the request carried: the log gets the safe fields only.
            logger.warning('unicop: reconcile of %s by %s failed: %s', root_key, request.user, exc.log_fields())
            messages.error(request, f'Reconcile of {root_key} not requested. {exc}')
        else:
            reconcile_id = str(answer.get('id', '?'))[:64]
            if answer.get('result') == 'duplicate':
                messages.info(request, f'Reconcile of {root_key} was already requested: reconcile id {reconcile_id}')
            else:
                messages.success(request, f'Reconcile of {root_key} requested: reconcile id {reconcile_id}')
        return redirect(obj.get_absolute_url())


def viewable_object(request, app_label, model_name, pk):
    """The object if it exists and the user may view it (NetBox's object permissions); 404 otherwise, alike."""
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError as exc:
        raise Http404(f'{app_label}.{model_name}') from exc
    queryset = model.objects.all()
    if not hasattr(queryset, 'restrict'):
        raise Http404(f'{app_label}.{model_name} has no UNICOP panel')
    return get_object_or_404(queryset.restrict(request.user, 'view'), pk=pk)


class PanelView(LoginRequiredMixin, View):
    """GET /plugins/unicop/panel/<app_label>/<model_name>/<pk>/ -> the panel fragment of the object's root (what
    htmx swaps in every 2 s while an attempt is in flight)."""

    http_method_names = ['get']

    def get(self, request, app_label, model_name, pk):
        obj = viewable_object(request, app_label, model_name, pk)
        return render(request, f'{PLUGIN_NAME}/root_panel.html', panel_context(request, obj))


class TimelineView(LoginRequiredMixin, View):
    """GET /plugins/unicop/timeline/<app_label>/<model_name>/<pk>/?before=<sequence> -> the root's whole timeline,
    newest first, one receiver page (50 events) at a time; "older" follows the receiver's `next` cursor."""

    http_method_names = ['get']

    def get(self, request, app_label, model_name, pk):
        obj = viewable_object(request, app_label, model_name, pk)
        root = resolve_root(obj)
        before = request.GET.get('before')
        if before is not None and not (before.isdigit() and 0 < int(before) < 10**18):
            raise Http404('before must be a positive sequence')
        page = root_timeline(object_key(root), before=int(before) if before else None)
        link_events(page.events, request.user)
        return render(
            request,
            f'{PLUGIN_NAME}/timeline.html',
            {'object': root, 'page': page, 'first_page': before is None, 'subject_max': 60},
        )
