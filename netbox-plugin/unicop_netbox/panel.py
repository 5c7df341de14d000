"""What the UNICOP panel, its htmx refresh and the full timeline page show: the receiver's answer made readable
(NetBox badges, links to the events' objects, the Reconcile button's state and reason)."""

import re
from collections import defaultdict

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from .receiver import root_overview
from .roots import label_of, object_key, resolve_root

__all__ = (
    'OUTCOME_CLASS_COLORS',
    'STATE_COLORS',
    'SUBJECT_MAX',
    'button_state',
    'link_events',
    'object_urls',
    'overview_for',
    'panel_context',
    'panel_url',
    'timeline_url',
)

# NetBox badge colours (utilities/templates/builtins/badge.html: text-bg-<colour>) per reconcile state and result.
STATE_COLORS = {
    'idle': 'secondary',
    'pending': 'info',
    'requested': 'info',
    'running': 'primary',
    'succeeded': 'success',
    'failed': 'danger',
    'timed_out': 'warning',
}
OUTCOME_CLASS_COLORS = {
    'transient': 'warning',
    'config': 'danger',
    'execution': 'danger',
    'unreachable': 'danger',
    'timeout': 'warning',
    'rejected': 'secondary',
}
ACTION_COLORS = {'created': 'success', 'updated': 'info', 'deleted': 'danger', 'reconcile': 'warning'}
# Subjects longer than this are cut in the cell (the full key stays in its title attribute).
SUBJECT_MAX = 28
_KEY = re.compile(r'^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*):([1-9][0-9]{0,17})$')
# One panel per page, but buttons() and right_page() both need it: fetched once per request and root.
_CACHE_ATTR = '_unicop_overviews'


def _url(name, obj):
    return reverse(name, kwargs={'app_label': obj._meta.app_label, 'model_name': obj._meta.model_name, 'pk': obj.pk})


def panel_url(obj):
    return _url('plugins:unicop_netbox:panel', obj)


def timeline_url(obj):
    return _url('plugins:unicop_netbox:timeline', obj)


def overview_for(request, root):
    """root_overview(root), asked once per request (the page's buttons and panel share it)."""
    key = object_key(root)
    cache = getattr(request, _CACHE_ATTR, None) if request is not None else None
    if cache is None:
        cache = {}
        if request is not None:
            setattr(request, _CACHE_ATTR, cache)
    if key not in cache:
        cache[key] = root_overview(key)
    return cache[key]


def object_urls(keys, user):
    """{object key: URL} for the keys naming objects that exist and `user` may view: one query per object type, not
    per key. Keys of deleted objects, unknown models or objects the user may not see are left out (shown unlinked)."""
    by_label = defaultdict(set)
    for key in keys:
        match = _KEY.match(key or '')
        if match:
            by_label[(match[1], match[2])].add(int(match[3]))
    urls = {}
    for (app_label, model_name), ids in by_label.items():
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            continue
        queryset = model.objects.filter(pk__in=ids)
        if hasattr(queryset, 'restrict'):
            queryset = queryset.restrict(user, 'view')
        elif not getattr(user, 'is_superuser', False):
            continue
        for obj in queryset:
            try:
                urls[f'{label_of(obj)}:{obj.pk}'] = obj.get_absolute_url()
            except (AttributeError, NoReverseMatch):
                continue
    return urls


def link_events(events, user):
    urls = object_urls([e['subject'] for e in events], user)
    for event in events:
        event['url'] = urls.get(event['subject'])
        event['action_color'] = ACTION_COLORS.get(event['action'], 'secondary')
    return events


def button_state(overview):
    """(enabled, reason) of the Reconcile button: disabled only when the receiver says no reconcile would run."""
    policy = (overview.state or {}).get('policy')
    if policy and not policy['matched']:
        return False, f'not reconciled: {policy["reason"] or "no reconcile policy rule matches"}'
    return True, None


def panel_context(request, obj):
    """Template context of root_panel.html for the page of `obj` (its root's panel)."""
    root = resolve_root(obj)
    overview = overview_for(request, root)
    user = getattr(request, 'user', None)
    link_events(overview.events, user)
    state = overview.state or {}
    enabled, reason = button_state(overview)
    return {
        'unicop': overview,
        'unicop_state_color': STATE_COLORS.get(state.get('state'), 'secondary'),
        'unicop_outcome_color': STATE_COLORS.get((state.get('last_outcome') or {}).get('result'), 'secondary'),
        'unicop_class_color': OUTCOME_CLASS_COLORS.get((state.get('last_outcome') or {}).get('class'), 'secondary'),
        'unicop_not_reconciled': None if enabled else reason,
        # htmx polls only while an attempt is pending, requested or running; the fragment it gets back after the
        # attempt ended carries no hx-trigger, so swapping it in (outerHTML) stops the polling.
        'unicop_refresh_url': panel_url(obj) if state.get('refreshing') else None,
        'unicop_timeline_url': timeline_url(root),
        'unicop_subject_max': SUBJECT_MAX,
    }
