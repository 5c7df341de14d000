"""What an AccessGrant does in NetBox: its checks, its ObjectPermissions (the IAM mapping of iam.py, named
`unicop:grant:<id>` — plus `:<app_label.model>` per root type for a scoped grant), and their removal at expiry."""

import json
import logging
from datetime import timedelta

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from jsonschema.validators import Draft202012Validator
from users.models import ObjectPermission

from .conf import plugin_settings
from .iam import IAM_POLICY_SCHEMA_PATH, IamPolicyError, actions_for_role, load_iam_policy
from .iam_sync import permission_specs

__all__ = (
    'DEFAULT_ROLES',
    'GRANT_PREFIX',
    'create_grant_permissions',
    'delete_grant_permissions',
    'expire_grants',
    'grant_problems',
    'role_permissions',
    'schedule_expiry',
)

logger = logging.getLogger('unicop_netbox.grants')

GRANT_PREFIX = 'unicop:grant:'
# Without an iam_policy setting, the roles of ARCHITECTURE.md's example policy; other names are taken as they are
# (the receiver judges them against its own policy) and give no NetBox permission.
DEFAULT_ROLES = {'viewer': ['roots:read'], 'operator': ['roots:read', 'roots:reconcile'], 'admin': ['*']}


def _policy():
    path = plugin_settings().get('iam_policy')
    return load_iam_policy(path) if path else None


def role_permissions(role):
    """The IAM permissions of `role` (the configured policy's, else DEFAULT_ROLES'); [] for an unknown role."""
    policy = _policy()
    roles = policy['roles'] if policy is not None else DEFAULT_ROLES
    return roles.get(role, [])


def _scope_validator():
    schema = json.loads(IAM_POLICY_SCHEMA_PATH.read_text(encoding='utf-8'))
    return Draft202012Validator({**schema['$defs']['scope'], '$defs': schema['$defs']})


def grant_problems(grant, now=None):
    """{field: message} for everything wrong with a new grant (the form and the REST API both show them)."""
    problems = {}
    if bool(grant.user_id) == bool(grant.group_id):
        problems['group' if grant.user_id else 'user'] = 'Give exactly one of user and group.'
    if not (grant.reason or '').strip():
        problems['reason'] = 'Say why access is granted.'
    now = now or timezone.now()
    max_seconds = plugin_settings()['grant_max_seconds']
    if grant.expires_at is not None:
        if grant.expires_at <= now:
            problems['expires_at'] = f'Must be in the future (now is {now:%Y-%m-%d %H:%M:%S} UTC).'
        elif grant.expires_at > now + timedelta(seconds=max_seconds):
            problems['expires_at'] = (
                f'At most {max_seconds} s ({max_seconds / 3600:g} h) ahead: grant_max_seconds of the UNICOP plugin.'
            )
    errors = list(_scope_validator().iter_errors(grant.scope))
    if grant.scope is None or errors:
        problems['scope'] = '"*" or an object of "tenants", "sites", "regions", each a non-empty list of slugs.'
    try:
        policy = _policy()
    except IamPolicyError as e:
        problems['role'] = f'The IAM policy cannot be read, so no role can be checked: {e}'
    else:
        if policy is not None and grant.role not in policy['roles']:
            problems['role'] = f'{grant.role!r} is not a role of the IAM policy ({", ".join(sorted(policy["roles"]))}).'
    return problems


def create_grant_permissions(grant):
    """The grant's ObjectPermissions, given to its user or group; `grant.permission` = the first (the only one for
    "*"). Runs inside the grant's own transaction."""
    actions = actions_for_role(role_permissions(grant.role))
    if not actions:
        return
    description = f'UNICOP access grant {grant.pk}: {grant.role} for {grant.subject_text} until {grant.expires_at}'
    first = None
    for spec in permission_specs(f'{GRANT_PREFIX}{grant.pk}', actions, grant.scope, description):
        permission = ObjectPermission.objects.create(
            name=spec['name'],
            description=spec['description'],
            actions=spec['actions'],
            constraints=spec['constraints'],
        )
        permission.object_types.set(spec['object_types'])
        if grant.user_id:
            permission.users.add(grant.user_id)
        else:
            permission.groups.add(grant.group_id)
        first = first or permission
    if first is not None:
        type(grant).objects.filter(pk=grant.pk).update(permission=first)  # no second save: grants are immutable
        grant.permission = first


def _grant_permissions(grant_ids):
    names = [f'{GRANT_PREFIX}{pk}' for pk in grant_ids]
    query = ObjectPermission.objects.filter(name__in=names)
    for name in names:
        query = query | ObjectPermission.objects.filter(name__startswith=f'{name}:')
    return query


def delete_grant_permissions(grant_id):
    return _grant_permissions([grant_id]).delete()[0]


def _grant_id(name):
    rest = name[len(GRANT_PREFIX) :].split(':', 1)[0]
    return int(rest) if rest.isdigit() else None


@transaction.atomic
def expire_grants(now=None):
    """Remove the ObjectPermissions of every grant that has expired by `now` (or no longer exists). Idempotent: the
    grants stay as records; a second call finds nothing. Returns the ids of the grants whose permissions went."""
    now = now or timezone.now()
    grant_model = apps.get_model('unicop_netbox', 'accessgrant')
    by_grant = {}
    for permission in ObjectPermission.objects.filter(name__startswith=GRANT_PREFIX).only('pk', 'name'):
        grant_id = _grant_id(permission.name)
        if grant_id is not None:
            by_grant.setdefault(grant_id, []).append(permission.pk)
    live = set(grant_model.objects.filter(pk__in=by_grant, expires_at__gt=now).values_list('pk', flat=True))
    ended = sorted(set(by_grant) - live)
    if ended:
        ObjectPermission.objects.filter(pk__in=[pk for g in ended for pk in by_grant[g]]).delete()
        logger.info('unicop: access grants ended, NetBox permissions removed: %s', ended)
    return ended


def expiry_run_at(expires_at):
    """When the expiry job of a grant ending at `expires_at` runs: the first whole second after it. RQ's scheduler
    keeps whole seconds and may start a job up to a second before the time it was given; a job that ran before the
    expiry would find the grant still live, and its permission would stay until the next sweep (up to a minute)."""
    return expires_at.replace(microsecond=0) + timedelta(seconds=1)


def schedule_expiry(grant):
    """A background job just after the grant's expiry (the periodic sweep in jobs.py catches whatever it misses: a
    worker down at that moment, Redis lost)."""
    from .jobs import GrantExpiryJob

    try:
        GrantExpiryJob.enqueue(schedule_at=expiry_run_at(grant.expires_at))
    except Exception:  # Redis down must not undo a committed grant: the sweep removes it at expiry
        logger.exception('unicop: could not schedule the expiry of access grant %s', grant.pk)
