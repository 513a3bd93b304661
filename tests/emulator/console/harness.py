# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run an emulated console in this process and talk HTTP to it (for tests)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import urllib.error
import urllib.request

from .. import child_environment
from ..httpbase import serve_in_thread
from .certificates import ServerCertificate
from .service import ConsoleApp

_SHARED = []


def subprocess_env(**extra):
    """os.environ with this collection on PYTHONPATH, for a child ``python -m ansible_collections...``."""
    return child_environment(**extra)


def shared_certificate():
    """One server key for all in-process consoles (RSA-2048 generation is slow)."""
    if not _SHARED:
        _SHARED.append(ServerCertificate())
    return _SHARED[0]


@contextlib.contextmanager
def running_console(**kwargs):
    """Yield (app, base_url) with base_url ending in '/'; stops the server afterwards."""
    kwargs.setdefault('certificate', shared_certificate())
    app = ConsoleApp(**kwargs)
    httpd, base = serve_in_thread(app)
    try:
        yield app, base
    finally:
        httpd.shutdown()
        httpd.server_close()
        app.close()


def call(url, payload=None, method=None, raw=None, timeout=30):
    """(status, headers, body bytes) of one request; a JSON ``payload`` is POSTed."""
    data = raw if raw is not None else (json.dumps(payload).encode('utf-8') if payload is not None else None)
    request = urllib.request.Request(url, data=data, method=method or ('POST' if data is not None else 'GET'))
    if data is not None:
        request.add_header('Content-Type', 'application/json')
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def call_json(url, payload=None, method=None):
    """(status, decoded JSON body or None)."""
    status, _headers, body = call(url, payload, method)
    return status, (json.loads(body.decode('utf-8')) if body else None)
