"""The root policy document (schemas/root-policy.schema.json): loading, checking, and evaluating it over an object's
REST data exactly as the receiver does (receiver/src/pipeline/normalize/root-policy.ts). No Django imports: conf.py
reads the default document before NetBox's apps are ready. Evaluation over the ORM is in roots.py."""

import json
from pathlib import Path

from jsonschema.validators import Draft202012Validator

__all__ = (
    'DEFAULT_ROOT_POLICY',
    'DEFAULT_ROOT_POLICY_PATH',
    'ROOT_POLICY_SCHEMA_PATH',
    'RootPolicyError',
    'as_id',
    'load_root_policy',
    'root_key_from_data',
    'rule_for',
    'values_at',
)

# Byte-identical copies of schemas/root-policy.default.json and schemas/root-policy.schema.json, so an installed
# package finds them; receiver/test/unit/normalize/root-policy-cases.test.ts fails when they drift.
POLICY_DIR = Path(__file__).resolve().parent / 'policy'
DEFAULT_ROOT_POLICY_PATH = POLICY_DIR / 'root-policy.default.json'
ROOT_POLICY_SCHEMA_PATH = POLICY_DIR / 'root-policy.schema.json'

# ready() validates whichever document is configured; this one is read unchecked only for conf.DEFAULT_OBJECT_TYPES.
DEFAULT_ROOT_POLICY = json.loads(DEFAULT_ROOT_POLICY_PATH.read_text(encoding='utf-8'))

MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.isSafeInteger bound: the receiver trusts no larger id
MAX_PROBLEMS = 20


class RootPolicyError(ValueError):
    """A policy file that is not readable JSON or does not match its schema; the message lists the problems."""


def load_root_policy(path):
    """The policy document at `path`, checked against root-policy.schema.json (the receiver's UNICOP_POLICY_INVALID
    cases), or RootPolicyError."""
    try:
        policy = json.loads(Path(path).read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise RootPolicyError(f'{path} is not readable JSON ({e})') from None
    schema = json.loads(ROOT_POLICY_SCHEMA_PATH.read_text(encoding='utf-8'))
    errors = sorted(Draft202012Validator(schema).iter_errors(policy), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        listed = '; '.join(f'/{"/".join(map(str, e.absolute_path))}: {e.message}' for e in errors[:MAX_PROBLEMS])
        raise RootPolicyError(f'{path} does not match root-policy.schema.json: {listed}')
    return policy


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(value, expected):
    """JavaScript's `===` on JSON values, as the receiver compares `when.equals`: no 1 == True, no '1' == 1."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return type(value) is type(expected) and value == expected
    if _is_number(value) and _is_number(expected):
        return value == expected
    return type(value) is type(expected) and value == expected


def as_id(value):
    """`value` as an object id when it is a positive safe integer (as the receiver's isId), else None."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_SAFE_INTEGER:
        return value
    return None


def rule_for(policy, object_type, read):
    """The first rule for `object_type` whose `when` holds; `read(path)` lists the values a path reaches."""
    for rule in policy['rules']:
        if rule['objectType'] != object_type:
            continue
        when = rule.get('when')
        if when is None:
            return rule
        values = read(when['path'])
        if values and _same(values[0], when['equals']):
            return rule
    return None


def values_at(data, path):
    """Every value a policy path reaches in REST data; `[]` after a segment walks each list element."""
    current = [data]
    for segment in path.split('.'):
        walk = segment.endswith('[]')
        name = segment[:-2] if walk else segment
        reached = []
        for value in current:
            # A foreign key serialized as its bare id (NetBox's changelog format) stands for {id}.
            if name == 'id' and not walk and _is_number(value):
                reached.append(value)
                continue
            if not isinstance(value, dict) or name not in value:
                continue
            inner = value[name]
            if walk:
                if isinstance(inner, list):
                    reached.extend(inner)
            else:
                reached.append(inner)
        current = reached
    return current


def root_key_from_data(policy, object_type, data):
    """`app_label.model:id` of the root of the object whose REST data is `data` (it has an `id`): the first matching
    rule's root when its path leads to an id, else the object itself."""
    own_key = f'{object_type}:{data["id"]}'
    rule = rule_for(policy, object_type, lambda path: values_at(data, path))
    if rule is None or 'root' not in rule:
        return own_key
    ids = (as_id(v) for v in values_at(data, rule['root']['idPath']))
    root_id = next((i for i in ids if i is not None), None)
    return own_key if root_id is None else f'{rule["root"]["type"]}:{root_id}'
