"""`netbox unicop_bootstrap`: create or update the Webhook and EventRule that send NetBox changes to the
UNICOP receiver. Idempotent; prints created / updated (with the field names, never the secret's value) / unchanged
for each."""

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import transaction
from extras.models import EventRule, Webhook

from unicop_netbox.batches import BATCH_PATH, QUEUE_NAME
from unicop_netbox.conf import ALWAYS_COVERED, COVERED_EVENT_TYPES, DEFAULT_SETTINGS, PLUGIN_NAME, check_settings
from unicop_netbox.receiver import safe_url

__all__ = ('ALWAYS_COVERED', 'EVENT_TYPES', 'NAME', 'WEBHOOK_PATH', 'Command', 'bootstrap')

NAME = 'unicop'
WEBHOOK_PATH = '/v1/netbox/webhooks'
EVENT_TYPES = list(COVERED_EVENT_TYPES)


def _apply(obj, wanted):
    """Set the wanted field values on obj; return the names of the fields that changed."""
    changed = [field for field, value in wanted.items() if getattr(obj, field) != value]
    for field in changed:
        setattr(obj, field, wanted[field])
    return changed


def _status(created, changed):
    if created:
        return 'created'
    return f'updated ({", ".join(changed)})' if changed else 'unchanged'


@transaction.atomic
def bootstrap(plugin_settings):
    """Make the Webhook + EventRule match the settings. Returns {'webhook': status, 'event_rule': status}. With batch
    delivery (the default) the EventRule is kept but disabled: the plugin's events pipeline sends the same events as
    batches, and setting `delivery` back to 'webhook' and running the bootstrap again turns the rule on."""
    batch = plugin_settings.get('delivery', DEFAULT_SETTINGS['delivery']) == 'batch'
    webhook_wanted = {
        'payload_url': plugin_settings['receiver_url'] + WEBHOOK_PATH,
        'http_method': 'POST',
        'http_content_type': 'application/json',
        'additional_headers': '',
        'body_template': '',  # NetBox's default JSON body: the receiver validates exactly that
        'secret': plugin_settings['webhook_secret'],
        'ssl_verification': True,
        # the private CA of an https receiver (receiver_ca_file): NetBox's webhook sender verifies with it
        'ca_file_path': str(plugin_settings['receiver_ca_file']) if plugin_settings.get('receiver_ca_file') else None,
        'description': 'UNICOP receiver (managed by netbox unicop_bootstrap)',
    }
    webhook = Webhook.objects.filter(name=NAME).first()
    webhook_created = webhook is None
    if webhook_created:
        webhook = Webhook(name=NAME)
    webhook_changed = _apply(webhook, webhook_wanted)
    if webhook_created or webhook_changed:
        webhook.full_clean()
        webhook.save()

    types = []
    for label in dict.fromkeys([*plugin_settings['object_types'], *ALWAYS_COVERED]):
        app_label, model = label.split('.')
        types.append(ContentType.objects.get_by_natural_key(app_label, model))
    rule_wanted = {
        'event_types': EVENT_TYPES,
        'enabled': not batch,
        'conditions': None,
        'action_type': 'webhook',
        'action_object_type': ContentType.objects.get_for_model(Webhook),
        'action_object_id': webhook.pk,
        'description': (
            'UNICOP: disabled, the plugin sends these changes in batches (delivery = batch; managed by netbox '
            'unicop_bootstrap)'
            if batch
            else 'UNICOP: every change of the configured object types (managed by netbox unicop_bootstrap)'
        ),
    }
    rule = EventRule.objects.filter(name=NAME).first()
    rule_created = rule is None
    if rule_created:
        rule = EventRule(name=NAME)
    rule_changed = _apply(rule, rule_wanted)
    if rule_created or rule_changed:
        rule.full_clean(exclude=['object_types'])
        rule.save()
    if rule_created or {ct.pk for ct in rule.object_types.all()} != {ct.pk for ct in types}:
        rule.object_types.set(types)
        if not rule_created:
            rule_changed.append('object_types')
    return {'webhook': _status(webhook_created, webhook_changed), 'event_rule': _status(rule_created, rule_changed)}


class Command(BaseCommand):
    help = 'Create or update the UNICOP Webhook and EventRule from PLUGINS_CONFIG["unicop_netbox"] (idempotent).'

    def handle(self, *args, **options):
        from django.conf import settings

        plugin_settings = check_settings(settings.PLUGINS_CONFIG.get(PLUGIN_NAME, {}))
        result = bootstrap(plugin_settings)
        url = safe_url(plugin_settings['receiver_url'] + WEBHOOK_PATH)  # printed: no userinfo, no query
        self.stdout.write(f'webhook "{NAME}" -> POST {url}: {result["webhook"]}')
        self.stdout.write(
            f'event rule "{NAME}" ({len(plugin_settings["object_types"])} object types, '
            f'{"/".join(EVENT_TYPES)}): {result["event_rule"]}'
        )
        if plugin_settings['delivery'] == 'batch':
            batches = safe_url(plugin_settings['receiver_url'] + BATCH_PATH)
            self.stdout.write(
                f'delivery: batch -> POST {batches} from RQ queue {QUEUE_NAME} (the event rule stays disabled; '
                f'the worker must serve {QUEUE_NAME})'
            )
        else:
            self.stdout.write('delivery: webhook (one request per object through the event rule)')
