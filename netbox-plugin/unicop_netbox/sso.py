"""Single sign-on: a social-auth pipeline step that makes a user's NetBox groups follow the identity provider.

Added to SOCIAL_AUTH_PIPELINE (scripts/netbox does it when it configures SSO) after `associate_user`, before
NetBox's `user_default_groups_handler` (so REMOTE_AUTH_DEFAULT_GROUPS are added on top). On every login the user's
membership of each *managed* group is set from the token's groups claim: added when the claim names the group,
removed when it does not. Groups the claim names that NetBox does not have are not created (unicop_iam_sync or an
operator creates them). A login whose tokens carry no groups claim changes nothing: an identity provider that stopped
sending the claim must not strip everyone's groups.
https://python-social-auth.readthedocs.io/en/latest/pipeline.html
"""

import logging

from users.models import Group

from .conf import plugin_settings

__all__ = ('claimed_groups', 'sync_groups')

logger = logging.getLogger('unicop_netbox.sso')


def claimed_groups(backend, response, claim):
    """The claim's group names from the userinfo response, else from the ID token; None when neither has it."""
    for source in (response or {}, getattr(backend, 'id_token', None) or {}):
        if claim in source:
            value = source[claim]
            if isinstance(value, str):
                return [value]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
            logger.warning('groups claim %r is not a list of strings; groups left unchanged', claim)
            return None
    return None


def sync_groups(backend, user=None, response=None, *args, **kwargs):
    """Pipeline step: the user's managed groups = the managed groups the claim names."""
    if user is None:
        return None
    settings = plugin_settings()
    names = claimed_groups(backend, response, settings['sso_groups_claim'])
    if names is None:
        logger.warning('no %r claim for %s; groups left unchanged', settings['sso_groups_claim'], user.username)
        return None
    managed = Group.objects.all()
    if settings['sso_managed_groups'] is not None:
        managed = managed.filter(name__in=settings['sso_managed_groups'])
    wanted = set(managed.filter(name__in=names))
    current = set(user.groups.filter(pk__in=managed.values('pk')))
    if current - wanted:
        user.groups.remove(*(current - wanted))
    if wanted - current:
        user.groups.add(*(wanted - current))
    logger.info(
        'groups of %s synced from the identity provider',
        user.username,
        extra={'added': sorted(g.name for g in wanted - current), 'removed': sorted(g.name for g in current - wanted)},
    )
    return None
