# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DuplicatiClient against the emulated server: authorized calls, PSK, host names,
retries bounded and only for safe requests, 429 with Retry-After, and the repeat after a 401."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import auth, backups
from ansible_collections.duplicati.fleet.plugins.module_utils.client import connect
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.tests.emulator import httpbase
from ansible_collections.duplicati.fleet.tests.emulator.server.testing import running_server
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import (
    PASSWORD, Sleeps, calls, client, log_since, server)


def test_logs_in_lazily_and_lists_backups():
    with server('--seed-backups', '2') as h:
        c = client(h, password=PASSWORD)
        assert calls(h, 'POST', '/api/v1/auth/login') == 0
        answer = c.request('GET', 'backups')
        assert [b['Backup']['Name'] for b in answer] == ['Documents', 'Photos']
        c.request('GET', 'backups')
        # one login serves every call
        assert calls(h, 'POST', '/api/v1/auth/login') == 1
        assert calls(h, 'GET', '/api/v1/backups', 200) == 2
        assert c.auth.method == 'password'


def test_unauthenticated_call_is_refused_by_the_real_pipeline():
    with server() as h:
        reply = h.request('GET', '/api/v1/backups')
        assert reply.status == 401 and reply.body == b''


def test_a_server_behind_the_agents_pre_shared_key_is_explained():
    with server() as h:
        h.app.pre_shared_key = 'cd' * 64  # Agent/Program.cs: RandomNumberGenerator.GetHexString(128), in memory
        with pytest.raises(DuplicatiError) as err:
            client(h, password=PASSWORD).request('GET', 'backups')
    assert err.value.status == 403
    assert 'accepts API calls only from the Agent itself (pre-shared key) (HTTP 403)' in str(err.value)
    assert 'no client can send it' in str(err.value) and '--disable-pre-shared-key=true' in str(err.value)


def test_unknown_host_name_is_explained():
    app_args = ['--webservice-password', PASSWORD]
    from ansible_collections.duplicati.fleet.tests.emulator.server.testing import parse
    from ansible_collections.duplicati.fleet.tests.emulator.server import create_app
    import socket
    name = socket.gethostname()
    if socket.gethostbyname(name) != '127.0.0.1':
        pytest.skip('the host name does not resolve to 127.0.0.1 here')
    app = create_app(parse(*app_args), httpbase.Faults())
    httpd, url = httpbase.serve_in_thread(app, host='127.0.0.1')
    try:
        port = httpd.server_address[1]
        c = connect({'host_url': 'http://%s:%d/' % (name, port), 'password': PASSWORD}, probe_data_folder=False)
        with pytest.raises(DuplicatiError) as err:
            c.request('GET', 'backups')
    finally:
        httpd.shutdown()
        httpd.server_close()
        app.close()
    text = str(err.value)
    assert err.value.status == 403
    assert 'Invalid hostname: %s' % name in text
    assert '--webservice-allowed-hostnames' in text


def test_get_is_retried_on_503_and_bounded():
    with server('--seed-backups', '1') as h:
        sleeps = Sleeps()
        c = client(h, password=PASSWORD, sleep=sleeps)
        c.login()
        h.app.faults.configure(error_rate=1.0)
        mark = len(h.app.log)
        with pytest.raises(DuplicatiError) as err:
            c.request('GET', 'backups')
        assert log_since(h, mark) == [('GET', '/api/v1/backups', 503)] * 4  # 1 + 3 retries
        assert len(sleeps.calls) == 3
        assert sleeps.calls == sorted(sleeps.calls)  # exponential backoff
        assert 'the server is unavailable (HTTP 503 after 4 attempts)' in str(err.value)


def test_get_succeeds_when_the_server_recovers():
    with server('--seed-backups', '1') as h:
        state = {'n': 0}

        def recover(seconds):
            state['n'] += 1
            if state['n'] == 2:
                h.app.faults.configure(error_rate=0.0)

        c = client(h, password=PASSWORD, sleep=recover)
        c.login()
        h.app.faults.configure(error_rate=1.0)
        assert len(c.request('GET', 'backups')) == 1
        assert calls(h, 'GET', '/api/v1/backups', 503) == 2
        assert calls(h, 'GET', '/api/v1/backups', 200) == 1


def test_backup_run_is_never_repeated_on_503():
    with server('--seed-backups', '1') as h:
        c = client(h, password=PASSWORD)
        c.login()
        h.app.faults.configure(error_rate=1.0)
        with pytest.raises(DuplicatiError) as err:
            backups.run_backup(c, '1')
        h.app.faults.configure(error_rate=0.0)
        assert calls(h, 'POST', '/api/v1/backup/1/run') == 1
        assert err.value.status == 503
        assert 'attempts' not in str(err.value)
        assert h.request('GET', '/_emulator/state').json()['runs_started'] == 0


def test_429_waits_as_the_server_asks():
    # one request admitted every 4 s: the login takes it, so the next call is answered 429
    # however slowly a loaded machine gets there
    with running_server('--webservice-password', PASSWORD, faults=httpbase.Faults(rate_limit=0.25)) as h:
        sleeps = Sleeps(real=True)
        c = client(h, password=PASSWORD, sleep=sleeps)
        c.login()
        assert c.request('GET', 'backups') == []
        assert calls(h, 'GET', '/api/v1/backups', 429) >= 1
        assert sleeps.calls and all(s >= 1 for s in sleeps.calls)  # whole seconds from Retry-After, not the backoff
        assert h.app.faults.injected_429 >= 1


def test_renews_and_repeats_once_after_a_401():
    with server('--seed-backups', '1') as h:
        c = client(h, password=PASSWORD)
        c.login()
        # the server no longer accepts the token (as after a restart with a new signing key)
        c.auth._access_token = c.auth._access_token[:-4] + 'AAAA'
        mark = len(h.app.log)
        assert len(c.request('GET', 'backups')) == 1
        assert log_since(h, mark) == [('GET', '/api/v1/backups', 401), ('POST', '/api/v1/auth/refresh', 200),
                                      ('GET', '/api/v1/backups', 200)]


def test_server_restart_with_reset_jwt_config_logs_in_again(tmp_path):
    folder = str(tmp_path)
    from ansible_collections.duplicati.fleet.tests.emulator.server import create_app
    from ansible_collections.duplicati.fleet.tests.emulator.server.testing import parse
    app = create_app(parse('--server-datafolder', folder, '--webservice-password', PASSWORD), httpbase.Faults())
    httpd, url = httpbase.serve_in_thread(app)
    port = httpd.server_address[1]
    c = connect({'host_url': url, 'password': PASSWORD}, probe_data_folder=False)
    c.request('GET', 'backups')
    httpd.shutdown()
    httpd.server_close()
    app.close()
    app = create_app(parse('--server-datafolder', folder, '--webservice-reset-jwt-config'), httpbase.Faults())
    httpd = httpbase.make_server(app, '127.0.0.1', port)
    import threading
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        assert c.request('GET', 'backups') == []
        statuses = [(m, p, s) for dummy, m, p, s, dummy_client in app.log]
    finally:
        httpd.shutdown()
        httpd.server_close()
        app.close()
    # old access token refused, old refresh token refused, password login, call repeated once
    assert statuses == [('GET', '/api/v1/backups', 401), ('POST', '/api/v1/auth/refresh', 401),
                        ('POST', '/api/v1/auth/login', 200), ('GET', '/api/v1/backups', 200)]


def test_a_401_with_an_error_body_is_not_repeated():
    with server('--seed-backups', '1') as h:
        c = client(h, password=PASSWORD)
        with pytest.raises(DuplicatiError) as err:
            c.request('POST', 'auth/issue-forever-token')
        assert calls(h, 'POST', '/api/v1/auth/issue-forever-token') == 1
        assert calls(h, 'POST', '/api/v1/auth/refresh') == 0
        assert 'Server error (401): Forever tokens are not enabled' in str(err.value)


def test_single_operation_token():
    with server() as h:
        c = client(h, password=PASSWORD)
        token = c.issue_operation_token('export')
        assert token.count('.') == 2
        with pytest.raises(DuplicatiError, match='Unknown single-operation token'):
            c.issue_operation_token('everything')


def test_health_needs_no_credentials():
    from ansible_collections.duplicati.fleet.plugins.module_utils import server_state
    with server() as h:
        c = client(h)
        assert server_state.health(c) == {'healthy': True, 'status': 200, 'message': 'Healthy'}
        assert calls(h, 'GET', '/health') == 1
        assert [e for e in h.app.log if e[2].startswith('/api/')] == []


def test_empty_credentials_count_as_not_given():
    # AWX injects unset credential fields as '' through the environment
    with server() as h:
        c = client(h, password=PASSWORD, access_token='', settings_encryption_key='', settings_file='')
        assert c.request('GET', 'backups') == []
        assert c.auth.method == auth.METHOD_PASSWORD
