"""`netbox unicop_iam_sync [--dry-run] [--policy PATH]`: make NetBox's groups and ObjectPermissions match the IAM
policy (iam_sync.py). Prints one line per change; a second run prints "0 change(s)". A policy with errors lists every
problem and changes nothing (exit status 1)."""

from django.core.management.base import BaseCommand, CommandError

from unicop_netbox.conf import plugin_settings
from unicop_netbox.iam import IamPolicyError, load_iam_policy
from unicop_netbox.iam_sync import apply_plan, plan_sync

__all__ = ('Command',)


class Command(BaseCommand):
    help = (
        'Make NetBox groups and ObjectPermissions match the UNICOP IAM policy (idempotent; --dry-run shows the diff).'
    )

    def add_arguments(self, parser):
        parser.add_argument('--dry-run', action='store_true', help='print what would change, change nothing')
        parser.add_argument('--policy', help="IAM policy JSON (default: the plugin's iam_policy setting)")

    def handle(self, *args, **options):
        path = options['policy'] or plugin_settings().get('iam_policy')
        if not path:
            raise CommandError('no IAM policy: pass --policy PATH or set PLUGINS_CONFIG["unicop_netbox"]["iam_policy"]')
        try:
            policy = load_iam_policy(path)
        except IamPolicyError as e:
            raise CommandError(
                f'{path} has {len(e.problems)} problem(s); nothing changed:\n  - ' + '\n  - '.join(e.problems)
            ) from None
        plan = plan_sync(policy)
        if not options['dry_run'] and plan.changes:
            apply_plan(plan)
        for line in plan.lines(options['dry_run']):
            self.stdout.write(line)
