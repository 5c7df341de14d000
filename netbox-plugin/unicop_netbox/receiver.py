"""HTTP client for the UNICOP receiver's `/v1/roots` API (openapi/unicop.yaml): the panel's root state and timeline,
and reconcile requests. Every call has a short timeout; the panel's two reads share one hard 2 s budget, and at most
PANEL_MAX_FETCHES panel reads are in flight per process (beyond that a panel says "busy" at once: nothing queues).

Secrets: the receiver token only ever goes into the Authorization header. A failed call becomes a ReceiverError that
carries {exception class or error code, status, method, URL without userinfo or query} and the receiver's message with
any configured secret value masked; the requests/urllib3 exception (which holds the prepared request and its headers)
is neither chained nor logged."""

import datetime
import hashlib
import logging
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import requests
from django.views.decorators.debug import sensitive_variables

from .conf import plugin_settings, tls_verify

__all__ = (
    'BUSY',
    'ON_BEHALF_OF_HEADER',
    'PANEL_BUDGET',
    'PANEL_MAX_FETCHES',
    'ROOT_PATTERN',
    'ReceiverError',
    'RootOverview',
    'TimelinePage',
    'idempotency_key',
    'in_flight_states',
    'mask_secrets',
    'on_behalf_of',
    'parse_time',
    'request_reconcile',
    'root_overview',
    'root_timeline',
    'safe_url',
)

# (connect, read) timeouts of one request; the panel's total wall-clock budget on top of them.
READ_TIMEOUT = (0.5, 1.5)
RECONCILE_TIMEOUT = (0.5, 3.0)
PANEL_BUDGET = 2.0
# Panel reads in flight per process (two per panel). A slow receiver holds each for up to sum(READ_TIMEOUT) s, so
# without a bound a busy NetBox would queue reads behind reads that no page waits for any more.
PANEL_MAX_FETCHES = 8
BUSY = 'UNICOP panel busy: too many pending requests to the receiver'
# Secret values shorter than this are not masked in texts from the receiver (masking 's' would mask every s).
MASK_MIN_LENGTH = 8
MASK = '[redacted]'
TIMELINE_LIMIT = 10
# A double click (or a retried form post) within one bucket is the same reconcile request.
IDEMPOTENCY_BUCKET_SECONDS = 10
ROOT_PATTERN = re.compile(r'^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*:[1-9][0-9]{0,17}$')
REASON_MAX = 500
# The full timeline page: one receiver page per view page (the receiver allows up to 200).
TIMELINE_PAGE = 50
# ARCHITECTURE.md "Identity and access": the plugin names the NetBox user it acts for; the receiver records it as
# data.actor.user next to its own service principal. UTF-8 %-encoded beyond visible ASCII (openapi/unicop.yaml).
ON_BEHALF_OF_HEADER = 'X-Unicop-On-Behalf-Of'
_ON_BEHALF_OF_SAFE = ''.join(chr(c) for c in range(0x21, 0x7F) if chr(c) != '%')
# Reconcile states during which the panel refreshes itself (openapi/unicop.yaml RootState.state).
in_flight_states = frozenset({'pending', 'requested', 'running'})

logger = logging.getLogger('unicop_netbox.receiver')
_now = time.time  # the idempotency bucket's clock (tests patch it)
_ERRNO = re.compile(r'\[Errno -?\d+\] ([^\'")]+)')
_executor = None
_executor_pid = None
_slots = None
_executor_lock = threading.Lock()


def safe_url(url):
    """scheme://host[:port]/path: no userinfo, no query, no fragment (what a log line may carry of a URL)."""
    parts = urlsplit(url)
    host = parts.hostname or ''
    if ':' in host:
        host = f'[{host}]'
    port = f':{parts.port}' if parts.port else ''
    return f'{parts.scheme}://{host}{port}{parts.path}'


def _secrets():
    conf = plugin_settings()
    values = (conf.get('receiver_token'), conf.get('webhook_secret'))
    return [v for v in values if isinstance(v, str) and len(v.strip()) >= MASK_MIN_LENGTH]


def mask_secrets(text):
    """`text` with every configured secret value (receiver token, webhook secret) replaced by [redacted]."""
    text = str(text)
    for secret in _secrets():
        text = text.replace(secret, MASK).replace(secret.strip(), MASK)
    return text


class ReceiverError(Exception):
    """The receiver could not be reached (`status` None) or answered with an error (`status`, `code`, `message`).
    `error` is the requests exception class when unreachable; `method` and `url` (safe_url) say which call."""

    def __init__(self, message, *, status=None, code=None, error=None, method=None, url=None):
        message = mask_secrets(message)
        super().__init__(message)
        self.status = status
        self.code = mask_secrets(code) if code is not None else None
        self.message = message
        self.error = error
        self.method = method
        self.url = safe_url(url) if url else None

    @property
    def unreachable(self):
        return self.status is None

    def log_fields(self):
        """All a log line may say about a failed call: {code or exception class, status, method, url}. Never the
        receiver's message (it could repeat anything the request carried) nor the client exception."""
        return {'code': self.code or self.error, 'status': self.status, 'method': self.method, 'url': self.url}

    def __str__(self):
        if self.unreachable:
            return f'UNICOP receiver unreachable: {self.message}'
        code = f' {self.code}' if self.code else ''
        return f'UNICOP receiver answered {self.status}{code}: {self.message}'


def _describe(exc, timeout):
    """A short reason for a requests exception (its str() is a long urllib3 repr)."""
    if isinstance(exc, requests.Timeout):
        return f'no answer within {timeout} s'
    if isinstance(exc, requests.exceptions.SSLError):
        return 'TLS verification failed (certificate not signed by receiver_ca_file, or wrong host name)'
    match = _ERRNO.search(str(exc))
    if match:
        return match.group(1).strip().lower()
    return type(exc).__name__


def _error_from(response, method, url):
    """ReceiverError from a non-2xx answer; the body is schemas/error.schema.json when the receiver sent it."""
    code, message = None, response.reason or 'error'
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get('error') if isinstance(body, dict) else None
    if isinstance(error, dict):
        if isinstance(error.get('code'), str):
            code = error['code'][:100]
        if isinstance(error.get('message'), str):
            message = error['message'][:500]
    return ReceiverError(message, status=response.status_code, code=code, method=method, url=url)


def _root_url(base, root, suffix=''):
    # Under a federation file with several sources the receiver keys this NetBox's roots `<source_name>/<key>`.
    source = plugin_settings().get('source_name')
    key = f'{source}/{root}' if source else root
    return f'{base}/v1/roots/{quote(key, safe=":")}{suffix}'


# Django's error reports (DEBUG page, AdminEmailHandler) list frame locals: hide the ones holding the token.
@sensitive_variables('token', 'headers', 'kwargs')
def _call(method, url, *, token, timeout, **kwargs):
    headers = {'Accept': 'application/json', **kwargs.pop('headers', {})}
    if token:
        headers['Authorization'] = f'Bearer {token}'
    failure = None
    try:
        response = requests.request(
            method,
            url,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            verify=tls_verify(plugin_settings()),
            **kwargs,
        )
    except requests.RequestException as exc:
        # Not chained (`from None`, and raised outside the except block): the requests exception holds the prepared
        # request with its Authorization header, and a traceback of it would print that or its frames' locals.
        failure = ReceiverError(_describe(exc, f'{sum(timeout):g}'), error=type(exc).__name__, method=method, url=url)
    if failure is not None:
        raise failure from None
    if not 200 <= response.status_code < 300:
        raise _error_from(response, method, url)
    bad_answer = {'status': response.status_code, 'code': 'UNICOP_CLIENT_BAD_ANSWER', 'method': method, 'url': url}
    try:
        body = response.json()
    except ValueError:
        body = ReceiverError('not JSON', **bad_answer)
    if isinstance(body, ReceiverError):
        raise body from None
    if not isinstance(body, dict):
        raise ReceiverError('not a JSON object', **bad_answer)
    return body


def _pool():
    """One small pool and its slots per process (gunicorn forks after import, so create them lazily in the worker).
    A slot is taken before a read is submitted and given back when the read ends, and there are as many slots as
    threads: a submitted read always has a thread, so the pool's own (unbounded) queue never holds a waiting read."""
    global _executor, _executor_pid, _slots
    with _executor_lock:
        if _executor is None or _executor_pid != os.getpid():
            _executor = ThreadPoolExecutor(max_workers=PANEL_MAX_FETCHES, thread_name_prefix='unicop-receiver')
            _slots = threading.BoundedSemaphore(PANEL_MAX_FETCHES)
            _executor_pid = os.getpid()
        return _executor, _slots


def _take_slots(slots, count):
    """Take `count` slots without waiting; all or none."""
    taken = 0
    while taken < count and slots.acquire(blocking=False):
        taken += 1
    if taken == count:
        return True
    for _ in range(taken):
        slots.release()
    return False


def _in_slot(slots, *args, **kwargs):
    try:
        return _call(*args, **kwargs)
    finally:
        slots.release()


def _text(value, limit=500):
    if value is None:
        return None
    return str(value)[:limit]


def _outcome(raw):
    if not isinstance(raw, dict):
        return None
    return {
        'result': _text(raw.get('result'), 40),
        'class': _text(raw.get('class'), 40),
        'message': _text(raw.get('message')),
        'at': _text(raw.get('at'), 40),
        'at_time': parse_time(raw.get('at')),
        'reconcile_id': _text(raw.get('reconcileId'), 40),
    }


def _policy(raw):
    """RootState.policy: {matched, reason | job_template}; None when the receiver does not say (an older one)."""
    if not isinstance(raw, dict) or not isinstance(raw.get('matched'), bool):
        return None
    template = raw.get('jobTemplate') if isinstance(raw.get('jobTemplate'), dict) else {}
    return {
        'matched': raw['matched'],
        'reason': _text(raw.get('reason'), 300),
        'job_template': _text(template.get('name'), 200),
        'organization': _text(template.get('organization'), 200),
    }


def _state(raw):
    state = _text(raw.get('state'), 40)
    return {
        'state': state,
        'attempt': raw.get('attempt') if isinstance(raw.get('attempt'), int) else None,
        'last_outcome': _outcome(raw.get('lastOutcome')),
        'in_flight': isinstance(raw.get('inFlight'), dict),
        'refreshing': state in in_flight_states or isinstance(raw.get('inFlight'), dict),
        'pending_follow_up': raw.get('pendingFollowUp') is True,
        'known': raw.get('known') is not False,
        'policy': _policy(raw.get('policy')),
    }


def parse_time(text):
    """An aware datetime from the receiver's ISO 8601 times (`…Z` from JavaScript, `…+00:00` with microseconds from
    Python), for NetBox's own date filters; None when it is not one (the template then shows the text as is)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(text)  # 3.11+: accepts 'Z' and any fraction of a second
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _events(raw, limit=TIMELINE_LIMIT):
    items = raw.get('items') if isinstance(raw.get('items'), list) else []
    return [
        {
            'id': _text(item.get('id'), 60),
            'time': _text(item.get('time'), 60),
            'at': parse_time(item.get('time')),
            'action': _text(item.get('action'), 60),
            'type': _text(item.get('type'), 100),
            'subject': _text(item.get('subject'), 300),
            'user': _text(item.get('user'), 150),
            'superseded': item.get('superseded') is True,
            'sequence': item.get('sequence') if isinstance(item.get('sequence'), int) else None,
        }
        for item in items[:limit]
        if isinstance(item, dict)
    ]


@dataclass
class RootOverview:
    """What the panel shows. `problem` is a plain sentence when the receiver could not give the data."""

    root: str
    state: dict | None = None
    events: list = field(default_factory=list)
    not_found: bool = False
    problem: str | None = None


def root_overview(root, budget=PANEL_BUDGET):
    """State and latest events of `root`, both asked in parallel; returns within `budget` seconds whatever happens."""
    conf = plugin_settings()
    base, token = conf['receiver_url'], conf['receiver_token']
    overview = RootOverview(root=root)
    if not ROOT_PATTERN.match(root):
        overview.problem = f'{root!r} is not a root key the receiver accepts'
        return overview
    started = time.monotonic()
    pool, slots = _pool()
    if not _take_slots(slots, 2):
        logger.warning('unicop: panel of %s not fetched: %d receiver reads already in flight', root, PANEL_MAX_FETCHES)
        overview.problem = BUSY
        return overview
    # known=any: a root the receiver never saw is answered (known: false) with its reconcile policy, not 404.
    state_job = pool.submit(
        _in_slot, slots, 'GET', _root_url(base, root), token=token, timeout=READ_TIMEOUT, params={'known': 'any'}
    )
    timeline_job = pool.submit(
        _in_slot,
        slots,
        'GET',
        _root_url(base, root, '/timeline'),
        token=token,
        timeout=READ_TIMEOUT,
        params={'limit': TIMELINE_LIMIT},
    )
    done, _ = wait((state_job, timeline_job), timeout=max(0.0, budget - (time.monotonic() - started)))
    if state_job not in done or timeline_job not in done:
        # The threads end on their own request timeouts; the page does not wait for them.
        logger.info('unicop: panel read of %s: no answer within %g s', root, budget)
        overview.problem = str(ReceiverError(f'no answer within {budget:g} s'))
        return overview
    state_error, timeline_error = state_job.exception(), timeline_job.exception()
    if isinstance(state_error, ReceiverError) and state_error.status == 404:
        # A receiver without `known=any` (older than the policy answer): no events, nothing known of the policy.
        overview.not_found = True
        return overview
    if state_error is None and isinstance(timeline_error, ReceiverError) and timeline_error.status == 404:
        timeline_error = None  # the root has no events yet; the state answer (known: false, policy) stands
        timeline_job = None
    errors = [e for e in (state_error, timeline_error) if e is not None]
    if errors:
        for error in errors:
            if isinstance(error, ReceiverError):
                logger.info('unicop: panel read of %s failed: %s', root, error.log_fields())
            else:  # a bug of ours, not the receiver: its class only (its text could hold anything)
                logger.error('unicop: panel read of %s failed: %s', root, type(error).__name__)
        overview.problem = str(errors[0]) if isinstance(errors[0], ReceiverError) else 'UNICOP panel: internal error'
        return overview
    overview.state = _state(state_job.result())
    overview.not_found = not overview.state['known']
    overview.events = _events(timeline_job.result()) if timeline_job is not None else []
    return overview


@dataclass
class TimelinePage:
    """One page of the full timeline: `next` is the `before` cursor of the following page (None on the last)."""

    root: str
    events: list = field(default_factory=list)
    next: int | None = None
    not_found: bool = False
    problem: str | None = None


def root_timeline(root, before=None, limit=TIMELINE_PAGE):
    """GET /v1/roots/{root}/timeline?limit=&before= (newest first); errors become `problem`, 404 `not_found`."""
    conf = plugin_settings()
    page = TimelinePage(root=root)
    if not ROOT_PATTERN.match(root):
        page.problem = f'{root!r} is not a root key the receiver accepts'
        return page
    params = {'limit': limit}
    if before is not None:
        params['before'] = before
    try:
        body = _call(
            'GET',
            _root_url(conf['receiver_url'], root, '/timeline'),
            token=conf['receiver_token'],
            timeout=READ_TIMEOUT,
            params=params,
        )
    except ReceiverError as exc:
        if exc.status == 404:
            page.not_found = True
        else:
            logger.info('unicop: timeline read of %s failed: %s', root, exc.log_fields())
            page.problem = str(exc)
        return page
    page.events = _events(body, limit)
    cursor = body.get('next')
    page.next = cursor if isinstance(cursor, int) and not isinstance(cursor, bool) and cursor > 0 else None
    return page


def on_behalf_of(username):
    """The X-Unicop-On-Behalf-Of value for a NetBox username: visible ASCII as is, anything else UTF-8 %-encoded."""
    return quote(str(username), safe=_ON_BEHALF_OF_SAFE)


def idempotency_key(user_key, root, now=None, bucket_seconds=IDEMPOTENCY_BUCKET_SECONDS):
    """Same (user, root, time bucket) -> same key: a double click is one reconcile request."""
    bucket = int((_now() if now is None else now) // bucket_seconds)
    digest = hashlib.sha256(f'{user_key}\x1f{root}\x1f{bucket}'.encode()).hexdigest()[:40]
    return f'netbox-{digest}'


def request_reconcile(root, *, user_key, reason, username=None, now=None):
    """POST /v1/roots/{root}/reconcile; returns the ReconcileAccepted body or raises ReceiverError. `username`: the
    NetBox user the plugin acts for (its permission already checked), sent as X-Unicop-On-Behalf-Of."""
    if not ROOT_PATTERN.match(root):
        raise ReceiverError(f'{root!r} is not a root key', status=400, code='UNICOP_CLIENT_ROOT_INVALID', method='POST')
    conf = plugin_settings()
    headers = {'Idempotency-Key': idempotency_key(user_key, root, now)}
    if username:
        headers[ON_BEHALF_OF_HEADER] = on_behalf_of(username)
    return _call(
        'POST',
        _root_url(conf['receiver_url'], root, '/reconcile'),
        token=conf['receiver_token'],
        timeout=RECONCILE_TIMEOUT,
        json={'reason': reason[:REASON_MAX]},
        headers=headers,
    )
