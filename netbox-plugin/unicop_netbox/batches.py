"""Batched delivery: all UNICOP-covered events of one NetBox request leave NetBox as signed batches to the receiver's
`POST /v1/netbox/batches` (ARCHITECTURE.md "Batches from the plugin"), instead of one webhook (one RQ job, one HTTP
request) per object.

`queue_batch` is the plugin's EVENTS_PIPELINE entry: NetBox calls it in the request (after the response is built) with
the request's queued events. It only picks the covered events and enqueues ONE job on the plugin's own RQ queue
(`unicop_netbox.batches`: `netbox rqworker` serves it only when named). `send_batch` runs in the worker: it builds each
item exactly as NetBox's `send_webhook` builds a webhook body (so the receiver gives it the same event id and dedupes
the two paths), adds the plugin's context, splits the items into batches by count and size, and posts them in the
request's order. A failed post fails the job; RQ runs it again after the configured intervals (the receiver answers the
items it already has `duplicate`). A rejected item is the receiver's kept reject, counted and logged, never retried."""

import json
import logging
import uuid

import requests
from django.db import models
from django.utils import timezone
from django_rq import get_queue
from extras.constants import WEBHOOK_EVENT_TYPES
from extras.webhooks import generate_signature
from rest_framework.utils.encoders import JSONEncoder
from rq import Retry
from utilities.request import copy_safe_request, get_safe_request_context

from .conf import ALWAYS_COVERED, COVERED_EVENT_TYPES, PLUGIN_NAME, plugin_settings, tls_verify
from .receiver import safe_url
from .roots import object_key, region_ancestry, root_parts, scope_of
from .webhook_callbacks import Lookups, changelog_ids, unicop_context

__all__ = (
    'BATCH_PATH',
    'QUEUE',
    'QUEUE_NAME',
    'BatchRefusedError',
    'batch_items',
    'queue_batch',
    'send_batch',
    'split',
)

logger = logging.getLogger('unicop_netbox.batches')

BATCH_PATH = '/v1/netbox/batches'
QUEUE = 'batches'  # PluginConfig.queues entry; NetBox names the RQ queue `unicop_netbox.batches`
QUEUE_NAME = f'{PLUGIN_NAME}.{QUEUE}'
MAX_ITEMS = 1000  # schemas/netbox-batch.schema.json maxItems
TIMEOUT = (5, 60)  # connect, read (seconds): a batch of 1,000 items is one receiver transaction


class BatchRefusedError(Exception):
    """The receiver did not take a batch (unreachable, or not 207). Raised so RQ retries the job."""


def _label(object_type):
    return f'{object_type.app_label}.{object_type.model}'


def queue_batch(events):
    """EVENTS_PIPELINE entry: one job on the plugin's queue for the request's covered events (none: no job)."""
    settings = plugin_settings()
    if settings['delivery'] != 'batch':
        return
    covered = {*settings['object_types'], *ALWAYS_COVERED}
    now = timezone.now().isoformat()  # NetBox's webhook timestamp is taken at flush time too
    items, request = [], None
    for event in events:
        if event['event_type'] not in COVERED_EVENT_TYPES or _label(event['object_type']) not in covered:
            continue
        items.append(
            {
                'object_type': event['object_type'],
                'event_type': event['event_type'],
                'data': event['data'],
                'snapshots': event.get('snapshots'),
                'timestamp': now,
            }
        )
        request = request or event.get('request')
    if not items:
        return
    intervals = list(settings['batch_retry_intervals'])
    get_queue(QUEUE_NAME).enqueue(
        f'{__name__}.send_batch',
        items=items,
        request=copy_safe_request(request, include_files=False) if request is not None else None,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
    )


class BatchLookups(Lookups):
    """The plugin's context reads for all items of one batch: the live objects of each type in one query (Django 6.1+
    then also fetches their parents for all of them at once when one is asked for: FETCH_PEERS), each root's tenant and
    site and each region's ancestry once, and the request's changelog ids in one query. Without it a bulk edit of 1,000
    interfaces costs three queries per item."""

    def __init__(self, items, request):
        wanted = {}
        for item in items:
            if isinstance(item['data'], dict) and isinstance(item['data'].get('id'), int):
                wanted.setdefault(item['object_type'], set()).add(item['data']['id'])
        self.objects = {}
        for object_type, ids in wanted.items():
            model = object_type.model_class()
            if model is None:
                continue
            query = model.objects.all()
            if hasattr(models, 'FETCH_PEERS'):
                query = query.fetch_mode(models.FETCH_PEERS)
            self.objects.update({(model, obj.pk): obj for obj in query.filter(pk__in=ids)})
        self.changes = changelog_ids(getattr(request, 'id', None))
        self.parts = {}
        self.ancestries = {}

    def live(self, model, pk):
        return self.objects.get((model, pk))

    def scope(self, obj, root):
        key = object_key(root)
        if key not in self.parts:
            self.parts[key] = root_parts(root)
        return scope_of(obj, root, parts=self.parts[key], ancestry=self.ancestry)

    def ancestry(self, region):
        key = None if region is None else region.pk
        if key not in self.ancestries:
            self.ancestries[key] = region_ancestry(region)
        return self.ancestries[key]

    def changelog_id(self, object_type, object_id, request):
        return self.changes.get((object_type.pk, object_id))


def batch_items(items, request):
    """The webhook bodies of `items`, each as NetBox's send_webhook would build it with the plugin's callback."""
    lookups = BatchLookups(items, request)
    bodies = []
    for item in items:
        object_type, event_type, data = item['object_type'], item['event_type'], item['data']
        body = {
            'event': WEBHOOK_EVENT_TYPES.get(event_type, event_type),
            'timestamp': item['timestamp'],
            'object_type': _label(object_type),
            'data': data,
        }
        if request is not None:
            body['request'] = get_safe_request_context(request)
        if item.get('snapshots'):
            body['snapshots'] = item['snapshots']
        try:
            context = unicop_context(object_type, event_type, data, request, lookups=lookups)
        except Exception:  # as NetBox does for webhook callbacks: the context must not cost the event
            logger.exception('unicop: context for %s failed', _label(object_type))
            context = None
        if context:
            body['context'] = context
        bodies.append(json.dumps(body, cls=JSONEncoder))
    return bodies


def split(bodies, max_bytes, max_items=MAX_ITEMS):
    """Consecutive runs of `bodies` (JSON strings), each within `max_items` and, with the batch envelope, `max_bytes`
    (a body alone over it goes alone: the receiver then refuses it loudly rather than the plugin dropping it)."""
    overhead = 100  # {"request_id": "<36>", "events": [ ... ]}
    chunk, size = [], overhead
    for body in bodies:
        length = len(body.encode()) + 1
        if chunk and (len(chunk) >= max_items or size + length > max_bytes):
            yield chunk
            chunk, size = [], overhead
        chunk.append(body)
        size += length
    if chunk:
        yield chunk


def _post(url, secret, request_id, chunk, verify):
    raw = f'{{"request_id": {json.dumps(request_id)}, "events": [{", ".join(chunk)}]}}'.encode()
    headers = {'Content-Type': 'application/json', 'X-Hook-Signature': generate_signature(raw, secret)}
    try:
        response = requests.post(url, data=raw, headers=headers, timeout=TIMEOUT, allow_redirects=False, verify=verify)
    except requests.exceptions.SSLError:
        # A certificate receiver_ca_file does not sign (or a name that does not match): said plainly, because
        # "unreachable" would send the operator looking at the network. Retried like any refusal.
        raise BatchRefusedError(
            f'receiver at {safe_url(url)} failed TLS verification (its certificate is not signed by '
            'receiver_ca_file, or not valid for its host name)'
        ) from None
    except requests.RequestException as exc:
        raise BatchRefusedError(f'receiver unreachable at {safe_url(url)}: {type(exc).__name__}') from None
    if response.status_code != 207:
        raise BatchRefusedError(
            f'receiver answered {response.status_code} to a batch of {len(chunk)} at {safe_url(url)}'
        )
    try:
        results = response.json()['results']
    except (ValueError, KeyError, TypeError):
        raise BatchRefusedError(f'receiver answered 207 without results at {safe_url(url)}') from None
    return results


def send_batch(items, request=None):
    """RQ job: post the request's events as batches, in order. Returns {'accepted', 'duplicate', 'rejected'}."""
    settings = plugin_settings()
    url = settings['receiver_url'] + BATCH_PATH
    request_id = str(getattr(request, 'id', None) or uuid.uuid4())
    counts = {'accepted': 0, 'duplicate': 0, 'rejected': 0}
    for chunk in split(batch_items(items, request), settings['batch_max_bytes']):
        for result in _post(url, settings['webhook_secret'], request_id, chunk, tls_verify(settings)):
            outcome = result.get('result')
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome == 'rejected':
                error = result.get('error') or {}
                logger.warning(
                    'unicop: the receiver rejected item %s of request %s: %s (kept by the receiver, not retried)',
                    result.get('index'),
                    request_id,
                    error.get('code'),
                )
    logger.info('unicop: request %s delivered in batches: %s', request_id, counts)
    return counts
