# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two small servers for the proxy test, run in the background by runme.sh.

``proxy``: an HTTP proxy as http_proxy/https_proxy name one. It forwards absolute-URI requests
(plain http) and tunnels CONNECT (https), and counts every request by method and target in a
JSON file. ``mirror``: a folder served over HTTPS with a self-signed certificate. Each writes its
port to the ready file once it listens."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import functools
import http.client
import http.server
import json
import os
import select
import socket
import ssl
import threading
from urllib.parse import urlsplit

LOCK = threading.Lock()


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    counts_file = None

    def log_message(self, *args):
        pass

    def _count(self, key):
        with LOCK:
            try:
                with open(self.counts_file) as handle:
                    counts = json.load(handle)
            except (IOError, ValueError):
                counts = {}
            counts[key] = counts.get(key, 0) + 1
            tmp = self.counts_file + '.tmp'
            with open(tmp, 'w') as handle:
                json.dump(counts, handle)
            os.replace(tmp, self.counts_file)

    def do_CONNECT(self):
        self._count('CONNECT ' + self.path)
        host, port = self.path.rsplit(':', 1)
        upstream = socket.create_connection((host, int(port)), timeout=30)
        self.send_response(200, 'Connection established')
        self.end_headers()
        sockets = [self.connection, upstream]
        while True:
            readable = select.select(sockets, [], [], 30)[0]
            if not readable:
                break
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    upstream.close()
                    return
                (upstream if sock is self.connection else self.connection).sendall(data)

    def _forward(self):
        target = urlsplit(self.path)
        self._count('%s %s' % (self.command, target.netloc))
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else None
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in ('proxy-connection', 'connection'))
        conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=60)
        conn.request(self.command, target.path + ('?' + target.query if target.query else ''), body, headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                self.send_header(key, value)
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('kind', choices=['proxy', 'mirror'])
    parser.add_argument('--ready', required=True)
    parser.add_argument('--counts')
    parser.add_argument('--dir')
    parser.add_argument('--cert')
    parser.add_argument('--key')
    args = parser.parse_args()
    if args.kind == 'proxy':
        ProxyHandler.counts_file = args.counts
        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), ProxyHandler)
    else:
        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(QuietFiles, directory=args.dir))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    with open(args.ready + '.tmp', 'w') as handle:
        handle.write(str(httpd.server_address[1]))
    os.replace(args.ready + '.tmp', args.ready)
    httpd.serve_forever()


if __name__ == '__main__':
    main()
