# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test support: run the emulated server in a thread and talk to it with ``http.client``.

``running_server(*argv)`` is a context manager yielding a ``Harness`` with the app, its
base URL and a ``request`` method that returns ``(status, headers, body bytes)``.
"""

import argparse
import contextlib
import http.client
import json
import ssl
from urllib.parse import urlsplit

from .. import httpbase
from .app import create_app
from .options import add_arguments


class Reply(object):
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode('utf-8'))

    def header(self, name):
        return self.headers.get(name)

    def cookies(self):
        return self.headers.get_all('Set-Cookie') or []


class Harness(object):
    def __init__(self, app, httpd, url):
        self.app = app
        self.httpd = httpd
        self.url = url
        parts = urlsplit(url)
        self.host, self.port, self.scheme = parts.hostname, parts.port, parts.scheme

    def request(self, method, path, body=None, headers=None, json_body=None, host_header=None):
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode('utf-8')
            headers.setdefault('Content-Type', 'application/json')
        if self.scheme == 'https':
            # the test's own view of the server: no certificate check
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=30, context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_host=True)
            conn.putheader('Host', host_header if host_header is not None else '%s:%d' % (self.host, self.port))
            for name, value in headers.items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader('Content-Length', str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def login(self, password, remember=None):
        payload = {'Password': password}
        if remember is not None:
            payload['RememberMe'] = remember
        reply = self.request('POST', '/api/v1/auth/login', json_body=payload)
        if reply.status != 200:
            raise AssertionError('login failed: %d %r' % (reply.status, reply.body))
        return reply

    def bearer(self, password):
        return {'Authorization': 'Bearer ' + self.login(password).json()['AccessToken']}


def parse(*argv):
    return add_arguments(argparse.ArgumentParser()).parse_args(list(argv))


@contextlib.contextmanager
def running_server(*argv, faults=None, port=0):
    app = create_app(parse(*argv), faults or httpbase.Faults())
    httpd, url = httpbase.serve_in_thread(app, port=port)
    try:
        yield Harness(app, httpd, url)
    finally:
        httpd.shutdown()
        httpd.server_close()
        app.close()
