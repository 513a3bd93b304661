# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PSK, hostname filter, /health, unknown routes and fault injection (PreSharedKeyFilter.cs, HostnameValidator.cs, DuplicatiWebserver.cs)."""

from ansible_collections.duplicati.fleet.tests.emulator import httpbase
from ansible_collections.duplicati.fleet.tests.emulator.server.testing import running_server

PW = 'pw-for-filters'
PSK = 'ab' * 64


def test_psk_missing_wrong_right():
    # PreSharedKeyFilter.cs: a missing or wrong PSK gets 403 text/plain "Invalid PreSharedKey"
    with running_server('--webservice-password', PW) as srv:
        srv.app.pre_shared_key = PSK  # what the Agent stand-in sets: the Agent's in-memory key
        missing = srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW})
        assert missing.status == 403 and missing.body == b'Invalid PreSharedKey'
        assert missing.header('Content-Type').startswith('text/plain')
        wrong = srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}, headers={'X-Duplicati-PreSharedKey': 'cd' * 64})
        assert wrong.status == 403 and wrong.body == b'Invalid PreSharedKey'
        right = srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}, headers={'X-Duplicati-PreSharedKey': PSK})
        assert right.status == 200
        # /health has no PSK filter
        assert srv.request('GET', '/health').status == 200


def test_hostname_filter_rejects_unknown_names():
    # HostnameValidator.cs: 403 {Error:"Invalid hostname: <h>",Code:403}; localhost, 127.0.0.1, [::1], localhost.localdomain and literal IPs pass
    with running_server('--webservice-password', PW) as srv:
        bad = srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}, host_header='evil.example.com:8200')
        assert bad.status == 403 and bad.body == b'{"Error":"Invalid hostname: evil.example.com","Code":403}'
        for host in ('localhost:8200', 'LOCALHOST', '[::1]:8200', 'localhost.localdomain', '10.1.2.3:8200'):
            assert srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}, host_header=host).status == 200, host
        assert srv.request('GET', '/health', host_header='evil.example.com').status == 200


def test_allowed_hostnames_option_is_persisted():
    with running_server('--webservice-password', PW, '--webservice-allowed-hostnames', 'backup.example.com;nas') as srv:
        assert srv.app.db.get_setting('allowed-hostnames') == 'backup.example.com;nas'
        assert srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}, host_header='nas:8200').status == 200
        assert srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}, host_header='other:8200').status == 403
    with running_server('--webservice-password', PW, '--webservice-allowed-hostnames', '*') as srv:
        assert srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}, host_header='any.name').status == 200


def test_cookie_name_uses_request_port_or_zero():
    # Auth.cs GetCookieName: RefreshToken_<Request.Host.Port or 0>
    with running_server('--webservice-password', PW) as srv:
        reply = srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}, host_header='localhost')
        assert reply.cookies()[0].startswith('RefreshToken_0=') and 'domain=localhost' in reply.cookies()[0]


def test_health_needs_no_auth():
    # ServerUtil Health.cs, DuplicatiWebserver.cs MapHealthChecks: GET <hosturl>/health, no auth, 200 "Healthy"
    with running_server('--webservice-password', PW) as srv:
        reply = srv.request('GET', '/health')
        assert reply.status == 200 and reply.body == b'Healthy'


def test_unknown_route_and_wrong_method():
    with running_server('--webservice-password', PW) as srv:
        headers = srv.bearer(PW)
        unknown = srv.request('GET', '/api/v1/no-such-thing', headers=headers)
        assert unknown.status == 404 and unknown.body == b''
        wrong = srv.request('PATCH', '/api/v1/backups', headers=headers)
        assert wrong.status == 405 and 'GET' in wrong.header('Allow')
        # routing is case-insensitive, as in ASP.NET
        assert srv.request('GET', '/api/v1/Backups', headers=headers).status == 200
        # the control surface is never under /api/
        assert srv.request('GET', '/api/v1/_emulator/state', headers=headers).status == 404


def test_fault_injection_503_rate():
    faults = httpbase.Faults(error_rate=1.0, seed=1)
    with running_server('--webservice-password', PW, faults=faults) as srv:
        reply = srv.request('GET', '/health')
        assert reply.status == 503
        assert faults.injected_503 == 1
        # the control surface is exempt and can switch faults off
        srv.request('POST', '/_emulator/faults', json_body={'error_rate': 0})
        assert srv.request('GET', '/health').status == 200


def test_fault_injection_429_with_retry_after():
    with running_server('--webservice-password', PW) as srv:
        srv.request('POST', '/_emulator/faults', json_body={'rate_limit': 1})
        statuses = [srv.request('GET', '/health') for dummy in range(4)]
        limited = [r for r in statuses if r.status == 429]
        assert limited and int(limited[0].header('Retry-After')) >= 1
        assert srv.request('GET', '/_emulator/state').json()['faults']['injected_429'] >= 1
