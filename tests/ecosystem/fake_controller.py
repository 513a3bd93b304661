# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The part of the AWX / Automation Controller API that ``awx.awx.credential_type`` uses, as its
``controller_api`` module calls it (awx.awx, plugins/module_utils/controller_api.py): a search
``GET /api/v2/credential_types/?name=...`` answered with ``{count, results}``, ``POST`` to create
(201 with ``id`` and ``url``) and ``PATCH <url>`` to update. A bearer token is required. This is a
stand-in for the controller, not Duplicati: nothing here comes from Duplicati's source."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

COLLECTION = '/api/v2/credential_types/'


class FakeController(object):
    def __init__(self, token):
        self.token = token
        self.items = {}
        self.requests = []
        controller = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = json.loads(self.rfile.read(length) or b'null') if length else None
                controller.requests.append((self.command, self.path, body))
                if self.headers.get('Authorization') != 'Bearer ' + controller.token:
                    return self._answer(401, {'detail': 'Authentication credentials were not provided.'})
                parts = urlsplit(self.path)
                if self.command == 'GET' and parts.path == COLLECTION:
                    name = parse_qs(parts.query).get('name', [None])[0]
                    found = [item for item in controller.items.values() if name is None or item['name'] == name]
                    return self._answer(200, {'count': len(found), 'results': found})
                if self.command == 'POST' and parts.path == COLLECTION:
                    ident = len(controller.items) + 1
                    item = dict(body, id=ident, type='credential_type', url='%s%d/' % (COLLECTION, ident))
                    controller.items[ident] = item
                    return self._answer(201, item)
                for ident, item in controller.items.items():
                    if self.command == 'PATCH' and parts.path == item['url']:
                        item.update(body)
                        return self._answer(200, item)
                return self._answer(404, {'detail': 'Not found.'})

            do_GET = do_POST = do_PATCH = _handle

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
