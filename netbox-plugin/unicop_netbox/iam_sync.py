"""`unicop_iam_sync`'s work: make NetBox's groups and ObjectPermissions match the IAM policy's bindings for users and
groups (tokens are machines with no NetBox account: skipped). Touches only what it manages: permissions named
`unicop:iam:…` whose description starts with MANAGED; groups it creates carry the same mark and are never deleted
(SSO fills them). Users are never created (SSO creates them at first sign-in): a binding naming one NetBox does not
have yet is reported, and the next run assigns them."""

import hashlib
import json
from dataclasses import dataclass, field

from core.models import ObjectType
from django.contrib.auth import get_user_model
from django.db import transaction
from users.models import Group, ObjectPermission

from .iam import actions_for_role, constraints_for, region_ids, root_models, scope_fields

__all__ = ('MANAGED', 'PREFIX', 'Plan', 'apply_plan', 'permission_specs', 'plan_sync')

PREFIX = 'unicop:iam:'
MANAGED = 'managed by unicop_iam_sync'
NAME_MAX = 100  # ObjectPermission.name
DESCRIPTION_MAX = 200


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(',', ':'))


def _scope_text(scope):
    return '*' if scope == '*' else ' '.join(f'{k}={",".join(v)}' for k, v in sorted(scope.items()))


def permission_specs(base_name, actions, scope, description):
    """The ObjectPermissions one (actions, scope) needs: one over every root type for "*", else one per root type
    that can reach a part of the scope (constraints differ per model: a device's region is its site's, a site's its
    own), named `<base_name>:<app_label.model>`. Used by the sync and by AccessGrant."""
    models = root_models()
    if scope == '*':
        return [
            {
                'name': base_name,
                'actions': sorted(actions),
                'constraints': None,
                'object_types': sorted(ObjectType.objects.get_for_model(m).pk for m in models),
                'description': description[:DESCRIPTION_MAX],
            }
        ]
    regions = region_ids(scope['regions']) if scope.get('regions') else None
    specs = []
    for model in models:
        fields = scope_fields(model)
        if not any(part in fields for part in ('tenant', 'site', 'region') if scope.get(f'{part}s')):
            continue
        specs.append(
            {
                'name': f'{base_name}:{model._meta.label_lower}',
                'actions': sorted(actions),
                'constraints': constraints_for(model, scope, regions),
                'object_types': [ObjectType.objects.get_for_model(model).pk],
                'description': description[:DESCRIPTION_MAX],
            }
        )
    return specs


def _base_name(role, scope):
    digest = hashlib.sha256(_canonical([role, scope]).encode()).hexdigest()[:10]
    name = f'{PREFIX}{role}:{digest}'
    # room for ':<app_label.model>' (at most ~40 characters); a very long role name gives way to the digest alone
    return name if len(name) <= NAME_MAX - 45 else f'{PREFIX}{digest}'


@dataclass
class Plan:
    groups_to_create: list = field(default_factory=list)
    create: list = field(default_factory=list)  # specs
    update: list = field(default_factory=list)  # (permission, spec, changed field names)
    delete: list = field(default_factory=list)  # permissions
    missing_users: list = field(default_factory=list)
    skipped_token_bindings: int = 0

    @property
    def changes(self):
        return len(self.groups_to_create) + len(self.create) + len(self.update) + len(self.delete)

    def lines(self, dry_run):
        verb = 'would ' if dry_run else ''
        out = [f'group {name}: {verb}create' for name in self.groups_to_create]
        for spec in self.create:
            out.append(f'permission {spec["name"]}: {verb}create ({_who(spec)}; {", ".join(spec["actions"])})')
        for permission, _spec, changed in self.update:
            out.append(f'permission {permission.name}: {verb}update ({", ".join(changed)})')
        out.extend(f'permission {p.name}: {verb}delete' for p in self.delete)
        out.extend(
            f'user {name}: not in NetBox yet (created at first sign-in; run again then)' for name in self.missing_users
        )
        if self.skipped_token_bindings:
            out.append(f'{self.skipped_token_bindings} binding(s) for tokens only: skipped (machines, no NetBox user)')
        out.append(f'{self.changes} change(s){" planned, none made (dry run)" if dry_run else ""}')
        return out


def _who(spec):
    parts = []
    if spec['groups']:
        parts.append('groups ' + ','.join(spec['groups']))
    if spec['users']:
        parts.append('users ' + ','.join(spec['users']))
    return '; '.join(parts) or 'nobody yet'


def _desired(policy, plan):
    """name → spec (with the usernames and group names it goes to) for every binding with NetBox actions."""
    user_model = get_user_model()
    known_users = set(user_model.objects.values_list('username', flat=True))
    wanted = {}
    for binding in policy['bindings']:
        subjects = binding['subjects']
        users, groups = subjects.get('users', []), subjects.get('groups', [])
        if not users and not groups:
            plan.skipped_token_bindings += 1
            continue
        actions = actions_for_role(policy['roles'][binding['role']])
        if not actions:
            continue
        scope = binding['scope']
        description = f'{MANAGED}: role {binding["role"]}, scope {_scope_text(scope)}'
        for spec in permission_specs(_base_name(binding['role'], scope), actions, scope, description):
            entry = wanted.setdefault(spec['name'], {**spec, 'users': set(), 'groups': set()})
            entry['users'].update(u for u in users if u in known_users)
            entry['groups'].update(groups)
        plan.missing_users.extend(u for u in users if u not in known_users and u not in plan.missing_users)
    for entry in wanted.values():
        entry['users'], entry['groups'] = sorted(entry['users']), sorted(entry['groups'])
    return wanted


def _current(permission):
    return {
        'actions': sorted(permission.actions),
        'constraints': permission.constraints,
        'object_types': sorted(permission.object_types.values_list('pk', flat=True)),
        'description': permission.description,
        'users': sorted(permission.users.values_list('username', flat=True)),
        'groups': sorted(permission.groups.values_list('name', flat=True)),
        'enabled': permission.enabled,
    }


def managed_permissions():
    return ObjectPermission.objects.filter(name__startswith=PREFIX, description__startswith=MANAGED)


def plan_sync(policy):
    """What would change; reads only."""
    plan = Plan()
    wanted = _desired(policy, plan)
    named = {g for spec in wanted.values() for g in spec['groups']}
    plan.groups_to_create = sorted(named - set(Group.objects.filter(name__in=named).values_list('name', flat=True)))
    seen = set()
    for permission in managed_permissions().order_by('name', 'pk'):
        spec = wanted.get(permission.name)
        if spec is None or permission.name in seen:
            plan.delete.append(permission)
            continue
        seen.add(permission.name)
        current = _current(permission)
        changed = [
            k
            for k in ('actions', 'constraints', 'object_types', 'description', 'users', 'groups')
            if current[k] != spec[k]
        ]
        if not current['enabled']:
            changed.append('enabled')
        if changed:
            plan.update.append((permission, spec, changed))
    plan.create = [spec for name, spec in sorted(wanted.items()) if name not in seen]
    return plan


def _write(permission, spec):
    permission.actions = spec['actions']
    permission.constraints = spec['constraints']
    permission.description = spec['description']
    permission.enabled = True
    permission.save()
    permission.object_types.set(spec['object_types'])
    permission.users.set(get_user_model().objects.filter(username__in=spec['users']))
    permission.groups.set(Group.objects.filter(name__in=spec['groups']))


@transaction.atomic
def apply_plan(plan):
    """Carry the plan out in one transaction: all of it or nothing."""
    for name in plan.groups_to_create:
        Group.objects.create(name=name, description=MANAGED)
    for spec in plan.create:
        _write(ObjectPermission(name=spec['name']), spec)
    for permission, spec, _ in plan.update:
        _write(permission, spec)
    for permission in plan.delete:
        permission.delete()
