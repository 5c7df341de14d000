"""The IAM policy (schemas/iam-policy.schema.json, the receiver's UNICOP_IAM_POLICY) mapped onto NetBox permissions:
one mapping for `unicop_iam_sync` (bindings) and AccessGrant (temporary bindings).

- role → NetBox actions: `roots:read` → view; `roots:reconcile` and `*` → view + reconcile. Other permissions have no
  NetBox side. UNICOP never grants NetBox add/change/delete: editing NetBox stays NetBox's own business.
- scope → ObjectPermission constraints on every root type, OR'ed: tenants and sites by slug, regions by id with their
  descendants. NetBox constraints are static JSON, so the descendants are expanded when the permission is written: a
  region created later under a bound region is covered after the next `unicop_iam_sync` (or a new grant)."""

import json
from pathlib import Path

from django.apps import apps
from jsonschema.validators import Draft202012Validator

from .conf import PLUGIN_NAME
from .root_policy import POLICY_DIR

__all__ = (
    'IAM_POLICY_SCHEMA_PATH',
    'RECONCILE_ACTION',
    'IamPolicyError',
    'actions_for_role',
    'check_iam_policy',
    'constraints_for',
    'load_iam_policy',
    'region_ids',
    'register_reconcile_action',
    'root_models',
    'scope_fields',
)

# A byte-identical copy of schemas/iam-policy.schema.json (an installed package has no schemas/); test_iam checks it.
IAM_POLICY_SCHEMA_PATH = POLICY_DIR / 'iam-policy.schema.json'
RECONCILE_ACTION = 'reconcile'
MAX_PROBLEMS = 50

_ACTIONS = {
    'roots:read': ('view',),
    'roots:reconcile': ('view', RECONCILE_ACTION),
    '*': ('view', RECONCILE_ACTION),
}


class IamPolicyError(ValueError):
    """A policy that is not readable JSON, does not match its schema, or names an unknown role or token. `problems`
    lists every one."""

    def __init__(self, path, problems):
        super().__init__(f'{path}: ' + '; '.join(problems))
        self.problems = problems


def _semantic_problems(policy):
    """What the schema cannot say: a binding's role must be a role of the policy, a token subject a named token."""
    problems = []
    roles = set(policy.get('roles', {}))
    tokens = {t['name'] for t in policy.get('tokens', [])}
    names = [t['name'] for t in policy.get('tokens', [])]
    problems.extend(
        f'/tokens: token name {n!r} is given twice' for n in sorted({n for n in names if names.count(n) > 1})
    )
    for i, binding in enumerate(policy.get('bindings', [])):
        if binding['role'] not in roles:
            problems.append(f'/bindings/{i}/role: unknown role {binding["role"]!r} (roles: {", ".join(sorted(roles))})')
        for name in binding['subjects'].get('tokens', []):
            if name not in tokens:
                problems.append(f'/bindings/{i}/subjects/tokens: unknown token {name!r}')
    return problems


def check_iam_policy(policy, where='policy'):
    """Every problem of a parsed policy document (schema first; the rest only when the shape is right)."""
    schema = json.loads(IAM_POLICY_SCHEMA_PATH.read_text(encoding='utf-8'))
    errors = sorted(Draft202012Validator(schema).iter_errors(policy), key=lambda e: list(map(str, e.absolute_path)))
    problems = [f'/{"/".join(map(str, e.absolute_path))}: {e.message}' for e in errors]
    if not problems:
        problems = _semantic_problems(policy)
    if problems:
        raise IamPolicyError(where, problems[:MAX_PROBLEMS])
    return policy


def load_iam_policy(path):
    """The policy at `path`, checked; IamPolicyError lists every problem."""
    try:
        policy = json.loads(Path(path).read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise IamPolicyError(path, [f'not readable JSON ({e})']) from None
    return check_iam_policy(policy, str(path))


def actions_for_role(permissions):
    """NetBox actions for a role's permissions, sorted; () when the role has no NetBox side."""
    actions = set()
    for permission in permissions:
        actions.update(_ACTIONS.get(permission, ()))
    return tuple(sorted(actions))


def root_models():
    """The model classes a UNICOP permission covers: every root type of the active root policy (devices, VMs) and
    every page with a Reconcile button (`panel_models`: sites, prefixes, VLANs by default, their own roots)."""
    config = apps.get_app_config(PLUGIN_NAME)
    labels = [r['root']['type'] for r in config.settings['root_policy_document']['rules'] if 'root' in r]
    labels += config.settings['panel_models']
    models = []
    for label in dict.fromkeys(labels):
        try:
            models.append(apps.get_model(*label.split('.')))
        except LookupError:
            continue
    return models


def _has_fk(model, name):
    try:
        field = model._meta.get_field(name)
    except Exception:
        return False
    return bool(field.many_to_one and field.concrete)


def scope_fields(model):
    """{'tenant', 'site', 'region'} → the lookup reaching that scope part from `model`, as roots.scope_of reads it
    (a site itself; a `site` FK; the cached `_site`/`_region` of scoped models such as prefixes). Missing parts are
    left out: a model without any is matched only by the scope "*"."""
    fields = {}
    if _has_fk(model, 'tenant'):
        fields['tenant'] = 'tenant__slug__in'
    if model._meta.label_lower == 'dcim.site':
        fields['site'], fields['region'] = 'slug__in', 'region__in'
    elif _has_fk(model, 'site'):
        fields['site'], fields['region'] = 'site__slug__in', 'site__region__in'
    elif _has_fk(model, '_site'):
        fields['site'] = '_site__slug__in'
        if _has_fk(model, '_region'):
            fields['region'] = '_region__in'
    return fields


def region_ids(slugs):
    """Ids of every region with one of these slugs (a slug is unique among siblings only: all of them) and of each
    one's descendants, sorted."""
    region_model = apps.get_model('dcim', 'region')
    ids = set()
    for region in region_model.objects.filter(slug__in=list(slugs)):
        ids.update(region.get_descendants(include_self=True).values_list('pk', flat=True))
    return sorted(ids)


def constraints_for(model, scope, regions=None):
    """ObjectPermission constraints for `scope` on `model`: None for "*" (every object), else a list of OR'ed dicts,
    one per scope part the model can reach. `[]` would mean "every object" to NetBox, so a scope the model cannot
    reach gives a constraint no object meets. `regions` (expanded ids) may be passed to share one expansion."""
    if scope == '*':
        return None
    fields = scope_fields(model)
    constraints = []
    if scope.get('tenants') and 'tenant' in fields:
        constraints.append({fields['tenant']: sorted(scope['tenants'])})
    if scope.get('sites') and 'site' in fields:
        constraints.append({fields['site']: sorted(scope['sites'])})
    if scope.get('regions') and 'region' in fields:
        ids = region_ids(scope['regions']) if regions is None else regions
        constraints.append({fields['region']: ids})
    return constraints or [{'pk__in': []}]


def register_reconcile_action():
    """Offer `reconcile` as a checkbox on NetBox's ObjectPermission form for every root type, where NetBox has
    register_model_actions (4.7 does); without it the form takes it as an "additional action" typed by hand, which
    works the same."""
    try:
        from utilities.permissions import ModelAction, register_model_actions
    except ImportError:
        return
    action = ModelAction(RECONCILE_ACTION, help_text='Ask UNICOP to reconcile the root (Reconcile button, script)')
    for model in root_models():
        register_model_actions(model, [action])
