"""A tiny HTTP stub that stands for the UNICOP receiver in the plugin's unit tests ONLY.

It answers `/v1/roots/{root}`, `/v1/roots/{root}/timeline` and `POST /v1/roots/{root}/reconcile` with bodies shaped
like openapi/unicop.yaml (RootState, Timeline, ReconcileAccepted, schemas/error.schema.json), checks the Bearer
token, and records every request; with `tls=(cert, key)` it serves https. `POST /v1/netbox/batches` checks the
X-Hook-Signature (HMAC-SHA512 with `secret`) and answers 207 with one result per item: `rejected` for objects whose id
is in `reject_ids`, `duplicate` for an item it answered before (same object type, id, event and last_updated), else
`accepted`.

It is not the receiver and tests nothing about it; the receiver's own tests and
the end-to-end tests cover the real one."""

import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

__all__ = ('ReceiverStub', 'closed_port', 'error_body', 'root_state', 'timeline', 'timeline_entry', 'unmatched')


def error_body(code, message):
    return {'error': {'code': code, 'message': message, 'details': []}}


def root_state(root, **overrides):
    body = {
        'root': root,
        'state': 'failed',
        'lastSequence': 3,
        'attempt': 2,
        'inFlight': None,
        'lastOutcome': {
            'reconcileId': str(uuid.uuid4()),
            'root': root,
            'attempt': 2,
            'result': 'failed',
            'class': 'unreachable',
            'message': 'host 192.0.2.1 unreachable',
            'awxJobId': 17,
            'at': '2026-01-02T03:04:05Z',
        },
        'pendingFollowUp': False,
        'lastEvent': None,
        'known': True,
        'policy': {'matched': True, 'jobTemplate': {'name': 'reconcile-device', 'organization': 'Default'}},
    }
    body.update(overrides)
    return body


def unmatched(reason):
    """RootState.policy when no reconcile would run."""
    return {'matched': False, 'reason': reason}


def timeline(root, items, next=None):
    return {'root': root, 'items': items, 'next': next, 'reconciles': []}


def timeline_entry(sequence, action, subject, user='admin', superseded=False, time=None):
    return {
        'id': str(uuid.uuid4()),
        'sequence': sequence,
        'type': f'unicop.object.{action}',
        'subject': subject,
        'action': action,
        'user': user,
        'time': time or f'2026-01-02T03:04:{sequence % 60:02d}Z',
        'superseded': superseded,
        'published': True,
    }


def closed_port():
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class ReceiverStub:
    """with ReceiverStub(token='t') as stub: ... stub.url, stub.requests, stub.routes[(method, path)] = (status, body).

    Unknown roots answer 404 UNICOP_API_ROOT_NOT_FOUND (as a receiver without `known=any` would; tests that want the
    policy answer for an unknown root route it explicitly); a route may be a callable of the parsed query; a wrong or
    missing token 401; `delay` slows every answer; `hold` (a threading.Event) keeps every request waiting until it
    is set; `always` = (status, body) answers every request alike; `echo_headers` makes every error answer repeat
    the request's headers in its message and details, as a misbehaving receiver or proxy might."""

    def __init__(self, token='test-token', delay=0.0, hold=None, echo_headers=False, always=None, secret='s', tls=None):
        self.token = token
        self.secret = secret
        self.reject_ids = set()
        self.seen_items = set()
        self.always = always  # (status, body): the answer to every request, whatever its path or token
        self.delay = delay
        self.hold = hold
        self.echo_headers = echo_headers
        self.routes = {}
        self.requests = []
        self.reconcile_ids = {}  # Idempotency-Key -> event id, like the receiver's duplicate detection
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _answer(self, status, body):
                if stub.echo_headers and status >= 400:
                    message = f'{body["error"]["message"]}; you sent {dict(self.headers)}'
                    body = error_body(body['error']['code'], message)
                    body['error']['details'] = [dict(self.headers)]
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header('Content-Type', 'application/json')
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

            def _handle(self, method):
                length = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(length) if length else b''
                stub.requests.append(
                    {'method': method, 'path': self.path, 'headers': dict(self.headers), 'body': raw.decode()}
                )
                if stub.delay:
                    time.sleep(stub.delay)
                if stub.hold is not None:
                    stub.hold.wait(timeout=30)
                if stub.always is not None:
                    return self._answer(*stub.always)
                if method == 'POST' and self.path == '/v1/netbox/batches':
                    return self._answer(*stub.answer_batch(raw, self.headers.get('X-Hook-Signature', '')))
                auth = self.headers.get('Authorization', '')
                if not auth.startswith('Bearer '):
                    return self._answer(401, error_body('UNICOP_API_TOKEN_MISSING', 'No Authorization: Bearer'))
                if auth[len('Bearer ') :] != stub.token:
                    return self._answer(401, error_body('UNICOP_API_TOKEN_INVALID', 'The bearer token is not valid'))
                path, _, query = self.path.partition('?')
                if (method, path) in stub.routes:
                    route = stub.routes[(method, path)]
                    # A callable route answers by the query ({name: [values]}), e.g. a timeline page per `before`.
                    return self._answer(*(route(parse_qs(query)) if callable(route) else route))
                if method == 'POST' and path.endswith('/reconcile'):
                    root = path[len('/v1/roots/') : -len('/reconcile')]
                    key = self.headers.get('Idempotency-Key')
                    if key and key in stub.reconcile_ids:
                        return self._answer(
                            200, {'result': 'duplicate', 'id': stub.reconcile_ids[key], 'root': root, 'sequence': 4}
                        )
                    event_id = str(uuid.uuid4())
                    if key:
                        stub.reconcile_ids[key] = event_id
                    return self._answer(202, {'result': 'accepted', 'id': event_id, 'root': root, 'sequence': 4})
                return self._answer(404, error_body('UNICOP_API_ROOT_NOT_FOUND', 'No event was ever recorded'))

            def do_GET(self):
                self._handle('GET')

            def do_POST(self):
                self._handle('POST')

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        scheme = 'http'
        if tls is not None:
            # tls = (certificate file, key file): an https receiver. A client that refuses the certificate aborts the
            # handshake inside accept(); socketserver drops that connection (SSLError is an OSError) and serves on.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = 'https'
        self.url = f'{scheme}://127.0.0.1:{self.server.server_address[1]}'
        self.thread = threading.Thread(target=self.server.serve_forever, name='receiver-stub', daemon=True)

    def answer_batch(self, raw, signature):
        expected = hmac.new(self.secret.encode(), raw, hashlib.sha512).hexdigest()
        if not hmac.compare_digest(signature, expected):
            return 401, error_body('UNICOP_VERIFY_SIGNATURE_MISMATCH', 'The signature matches no secret')
        results = []
        for index, item in enumerate(json.loads(raw)['events']):
            data = item.get('data') or {}
            seen = (item.get('object_type'), data.get('id'), item.get('event'), data.get('last_updated'))
            if data.get('id') in self.reject_ids:
                error = error_body('UNICOP_VALIDATE_SCHEMA', 'rejected by the test')['error']
                results.append({'index': index, 'result': 'rejected', 'error': error})
                continue
            results.append({'index': index, 'result': 'duplicate' if seen in self.seen_items else 'accepted'})
            self.seen_items.add(seen)
        return 207, {'results': results}

    def batches(self):
        """The parsed bodies of the batches received, in order."""
        return [json.loads(r['body']) for r in self.requests if r['path'] == '/v1/netbox/batches']

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def config(self, **extra):
        """PLUGINS_CONFIG pointing the plugin at this stub."""
        return {
            'unicop_netbox': {'receiver_url': self.url, 'receiver_token': self.token, 'webhook_secret': 's', **extra}
        }
