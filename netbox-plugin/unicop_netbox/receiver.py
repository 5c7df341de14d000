"""HTTP client for the UNICOP receiver's `/v1/roots` API (openapi/unicop.yaml): the panel's root state and timeline,
and reconcile requests. Every call has a short timeout; the panel's two reads share one hard 2 s budget."""

import hashlib
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from urllib.parse import quote

import requests

from .conf import plugin_settings

__all__ = (
    'PANEL_BUDGET',
    'ROOT_PATTERN',
    'ReceiverError',
    'RootOverview',
    'idempotency_key',
    'request_reconcile',
    'root_overview',
)

# (connect, read) timeouts of one request; the panel's total wall-clock budget on top of them.
READ_TIMEOUT = (0.5, 1.5)
RECONCILE_TIMEOUT = (0.5, 3.0)
PANEL_BUDGET = 2.0
TIMELINE_LIMIT = 10
# A double click (or a retried form post) within one bucket is the same reconcile request.
IDEMPOTENCY_BUCKET_SECONDS = 10
ROOT_PATTERN = re.compile(r'^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*:[1-9][0-9]{0,17}$')
REASON_MAX = 500

_now = time.time  # the idempotency bucket's clock (tests patch it)
_ERRNO = re.compile(r'\[Errno -?\d+\] ([^\'")]+)')
_executor = None
_executor_pid = None
_executor_lock = threading.Lock()


class ReceiverError(Exception):
    """The receiver could not be reached (`status` None) or answered with an error (`status`, `code`, `message`)."""

    def __init__(self, message, *, status=None, code=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @property
    def unreachable(self):
        return self.status is None

    def __str__(self):
        if self.unreachable:
            return f'UNICOP receiver unreachable: {self.message}'
        code = f' {self.code}' if self.code else ''
        return f'UNICOP receiver answered {self.status}{code}: {self.message}'


def _describe(exc, timeout):
    """A short reason for a requests exception (its str() is a long urllib3 repr)."""
    if isinstance(exc, requests.Timeout):
        return f'no answer within {timeout} s'
    match = _ERRNO.search(str(exc))
    if match:
        return match.group(1).strip().lower()
    return type(exc).__name__


def _error_from(response):
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
    return ReceiverError(message, status=response.status_code, code=code)


def _root_url(base, root, suffix=''):
    return f'{base}/v1/roots/{quote(root, safe=":")}{suffix}'


def _call(method, url, *, token, timeout, **kwargs):
    headers = {'Accept': 'application/json', **kwargs.pop('headers', {})}
    if token:
        headers['Authorization'] = f'Bearer {token}'
    try:
        response = requests.request(method, url, headers=headers, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        raise ReceiverError(_describe(exc, f'{sum(timeout):g}')) from exc
    if not 200 <= response.status_code < 300:
        raise _error_from(response)
    try:
        body = response.json()
    except ValueError as exc:
        raise ReceiverError('not JSON', status=response.status_code, code='UNICOP_CLIENT_BAD_ANSWER') from exc
    if not isinstance(body, dict):
        raise ReceiverError('not a JSON object', status=response.status_code, code='UNICOP_CLIENT_BAD_ANSWER')
    return body


def _pool():
    """One small pool per process (gunicorn forks after import, so create it lazily in the worker)."""
    global _executor, _executor_pid
    with _executor_lock:
        if _executor is None or _executor_pid != os.getpid():
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix='unicop-receiver')
            _executor_pid = os.getpid()
        return _executor


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
        'reconcile_id': _text(raw.get('reconcileId'), 40),
    }


def _state(raw):
    return {
        'state': _text(raw.get('state'), 40),
        'attempt': raw.get('attempt') if isinstance(raw.get('attempt'), int) else None,
        'last_outcome': _outcome(raw.get('lastOutcome')),
        'in_flight': isinstance(raw.get('inFlight'), dict),
        'pending_follow_up': raw.get('pendingFollowUp') is True,
    }


def _events(raw):
    items = raw.get('items') if isinstance(raw.get('items'), list) else []
    return [
        {
            'time': _text(item.get('time'), 60),
            'action': _text(item.get('action'), 60),
            'type': _text(item.get('type'), 100),
            'subject': _text(item.get('subject'), 300),
            'user': _text(item.get('user'), 150),
            'superseded': item.get('superseded') is True,
            'sequence': item.get('sequence') if isinstance(item.get('sequence'), int) else None,
        }
        for item in items[:TIMELINE_LIMIT]
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
    pool = _pool()
    state_job = pool.submit(_call, 'GET', _root_url(base, root), token=token, timeout=READ_TIMEOUT)
    timeline_job = pool.submit(
        _call,
        'GET',
        _root_url(base, root, '/timeline'),
        token=token,
        timeout=READ_TIMEOUT,
        params={'limit': TIMELINE_LIMIT},
    )
    done, _ = wait((state_job, timeline_job), timeout=max(0.0, budget - (time.monotonic() - started)))
    if state_job not in done or timeline_job not in done:
        # The threads end on their own request timeouts; the page does not wait for them.
        overview.problem = str(ReceiverError(f'no answer within {budget:g} s'))
        return overview
    errors = [job.exception() for job in (state_job, timeline_job) if job.exception() is not None]
    if any(isinstance(e, ReceiverError) and e.status == 404 for e in errors):
        overview.not_found = True
        return overview
    if errors:
        overview.problem = str(errors[0])
        return overview
    overview.state = _state(state_job.result())
    overview.events = _events(timeline_job.result())
    return overview


def idempotency_key(user_key, root, now=None, bucket_seconds=IDEMPOTENCY_BUCKET_SECONDS):
    """Same (user, root, time bucket) -> same key: a double click is one reconcile request."""
    bucket = int((_now() if now is None else now) // bucket_seconds)
    digest = hashlib.sha256(f'{user_key}\x1f{root}\x1f{bucket}'.encode()).hexdigest()[:40]
    return f'netbox-{digest}'


def request_reconcile(root, *, user_key, reason, now=None):
    """POST /v1/roots/{root}/reconcile; returns the ReconcileAccepted body or raises ReceiverError."""
    if not ROOT_PATTERN.match(root):
        raise ReceiverError(f'{root!r} is not a root key', status=400, code='UNICOP_CLIENT_ROOT_INVALID')
    conf = plugin_settings()
    return _call(
        'POST',
        _root_url(conf['receiver_url'], root, '/reconcile'),
        token=conf['receiver_token'],
        timeout=RECONCILE_TIMEOUT,
        json={'reason': reason[:REASON_MAX]},
        headers={'Idempotency-Key': idempotency_key(user_key, root, now)},
    )
