# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP machinery the emulated Duplicati server and console share.

Each emulated service is an ``EmulatorApp``: a list of routes (method + path regex →
handler) served by a threaded HTTP server, with fault injection (an error rate answered
with 503, added latency, a rate limit answered with 429 + ``Retry-After``) that tests
switch on per instance, and a request log tests can read.

Handlers receive a ``Request`` and return a ``Response``. Nothing here knows Duplicati;
the services in ``server/`` and ``console/`` do.
"""

import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Request(object):
    def __init__(self, method, target, headers, body, client_address):
        parts = urlsplit(target)
        self.method = method
        self.target = target
        self.path = parts.path
        # parse_qs keeps blank values so handlers can tell "absent" from "empty"
        self.query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.headers = headers
        self.body = body
        self.client_address = client_address
        self.match = None

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        """The body as JSON, or None when it is empty. Raises ValueError on bad JSON."""
        if not self.body:
            return None
        return json.loads(self.body.decode('utf-8'))

    def cookies(self):
        jar = {}
        for raw in self.headers.get_all('Cookie') or []:
            for part in raw.split(';'):
                if '=' in part:
                    name, value = part.split('=', 1)
                    jar[name.strip()] = value.strip()
        return jar


class Response(object):
    def __init__(self, status=200, body=b'', content_type='application/json; charset=utf-8', headers=None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = list(headers or [])

    @classmethod
    def json(cls, payload, status=200, headers=None):
        return cls(status, json.dumps(payload).encode('utf-8'), headers=headers)

    @classmethod
    def text(cls, text, status=200, headers=None):
        return cls(status, text.encode('utf-8'), 'text/plain; charset=utf-8', headers=headers)

    def add_header(self, name, value):
        self.headers.append((name, value))
        return self


class Faults(object):
    """Fault injection shared by every emulated service.

    ``error_rate``: share of requests (0..1) answered 503 before any handler runs.
    ``latency``: seconds added to every request.
    ``rate_limit``: requests per second admitted (a token bucket of one second's worth);
    the rest get 429 with a ``Retry-After`` of whole seconds.
    """

    def __init__(self, error_rate=0.0, latency=0.0, rate_limit=0.0, seed=None):
        self.error_rate = float(error_rate)
        self.latency = float(latency)
        self.rate_limit = float(rate_limit)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._tokens = max(self.rate_limit, 1.0)
        self._stamp = time.monotonic()
        self.injected_503 = 0
        self.injected_429 = 0

    def configure(self, error_rate=None, latency=None, rate_limit=None):
        with self._lock:
            if error_rate is not None:
                self.error_rate = float(error_rate)
            if latency is not None:
                self.latency = float(latency)
            if rate_limit is not None:
                self.rate_limit = float(rate_limit)
                self._tokens = max(self.rate_limit, 1.0)
                self._stamp = time.monotonic()

    def check(self):
        """None to go on, or the Response that replaces the real answer."""
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            if self.rate_limit > 0:
                now = time.monotonic()
                # a bucket of one second's worth of requests, and at least one request
                self._tokens = min(max(self.rate_limit, 1.0), self._tokens + (now - self._stamp) * self.rate_limit)
                self._stamp = now
                if self._tokens < 1.0:
                    self.injected_429 += 1
                    wait = max(1, int((1.0 - self._tokens) / self.rate_limit + 0.999))
                    return Response.text('Too Many Requests', 429, headers=[('Retry-After', str(wait))])
                self._tokens -= 1.0
            if self.error_rate > 0 and self._random.random() < self.error_rate:
                self.injected_503 += 1
                return Response.text('Service Unavailable', 503)
        return None


class EmulatorApp(object):
    """Routes + faults + request log. Subclasses call ``route`` in ``__init__``."""

    server_header = 'Kestrel'

    def __init__(self, faults=None):
        self.faults = faults or Faults()
        self.routes = []
        self.log = []
        self.log_lock = threading.Lock()

    def route(self, method, pattern, handler, faults=True):
        self.routes.append((method, re.compile('^' + pattern + '$'), handler, faults))

    def not_found(self, request):
        return Response(404, b'', 'text/plain')

    def handle(self, request):
        matched_path = False
        for method, pattern, handler, faults in self.routes:
            match = pattern.match(request.path)
            if not match:
                continue
            matched_path = True
            if method != request.method:
                continue
            if faults:
                injected = self.faults.check()
                if injected is not None:
                    return injected
            request.match = match
            return handler(request)
        if matched_path:
            return Response(405, b'', 'text/plain')
        return self.not_found(request)

    def record(self, request, response):
        with self.log_lock:
            self.log.append((time.time(), request.method, request.path, response.status, request.client_address[0]))


def _handler_class(app):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def _serve(self):
            length = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(length) if length else b''
            request = Request(self.command, self.path, self.headers, body, self.client_address)
            try:
                response = app.handle(request)
            except Exception as exc:  # pylint: disable=broad-except
                response = Response.json({'Error': 'Internal emulator error: %s' % exc, 'Code': 500}, 500)
            app.record(request, response)
            self.send_response(response.status)
            if response.content_type:
                self.send_header('Content-Type', response.content_type)
            self.send_header('Content-Length', str(len(response.body)))
            self.send_header('Server', app.server_header)
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            pass

    return Handler


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def make_server(app, host='127.0.0.1', port=0):
    """Bind ``app`` on host:port (0 = any free port); call ``serve_forever`` to run it.

    An app with a ``tls_context`` (an ``ssl.SSLContext``) is served over HTTPS.
    """
    httpd = EmulatorHTTPServer((host, port), _handler_class(app))
    httpd.app = app
    context = getattr(app, 'tls_context', None)
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.scheme = 'https' if context is not None else 'http'
    return httpd


def serve_in_thread(app, host='127.0.0.1', port=0):
    """Start ``app`` in a daemon thread; returns (httpd, base_url). For tests."""
    httpd = make_server(app, host, port)
    thread = threading.Thread(target=httpd.serve_forever, name=type(app).__name__, daemon=True)
    thread.start()
    return httpd, '%s://%s:%d/' % (httpd.scheme, httpd.server_address[0], httpd.server_address[1])
