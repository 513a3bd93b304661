# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every way of logging in, against the emulated server: password, stored login in a
ServerUtil settings.json (rotated and saved back, nonce sent), sign-in from the server
database with and without a settings encryption key, forever token, pre-auth token;
RememberMe, renewal before expiry, logout with the nonce, and the error texts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import time

import jwt as pyjwt
import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import auth, server_settings
from ansible_collections.duplicati.fleet.plugins.module_utils.client import connect
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import (
    PASSWORD, Sleeps, calls, client, log_since, server)

KEY = 'settings key for tests'
PRE_AUTH = 'preauth_token_0123456789'


def _entries(path):
    with open(path) as handle:
        return json.load(handle)


def _refresh_lifetime_minutes(token):
    claims = pyjwt.decode(token, options={'verify_signature': False})
    return (claims['exp'] - claims['nbf']) / 60.0


# -- password -------------------------------------------------------------------------

def test_password_login_is_short_lived_unless_persistent():
    with server() as h:
        c = client(h, password=PASSWORD)
        assert c.login() == auth.METHOD_PASSWORD
        assert c.auth._scheme == 'Bearer'
        # RememberMe=false, as ServerUtil sends it for every command but login: a 2 h refresh token
        assert _refresh_lifetime_minutes(c.auth._refresh_token) == pytest.approx(120, abs=1)
        c = client(h, password=PASSWORD, persist=True)
        c.login()
        assert _refresh_lifetime_minutes(c.auth._refresh_token) == pytest.approx(30 * 24 * 60, abs=1)


def test_wrong_password_message():
    with server() as h:
        with pytest.raises(DuplicatiError) as err:
            client(h, password='wrong').login()
    assert str(err.value) == 'Failed to log in to %s: the password was refused (HTTP 401). Check the password option.' % h.url
    assert err.value.status == 401
    assert 'wrong' not in str(err.value).replace('the password was refused', '')


def test_no_credentials_at_all():
    with server() as h:
        with pytest.raises(DuplicatiError) as err:
            client(h).login()
    assert str(err.value).startswith('Failed to log in to %s: no credentials worked.' % h.url)
    assert 'Set the password option' in str(err.value)


# -- stored login (settings.json) ------------------------------------------------------

def _store_login(h, path, key=None):
    c = client(h, password=PASSWORD, settings_file=path, settings_encryption_key=key, persist=True)
    c.login()
    return c


def test_persistent_login_writes_settings_json_privately(tmp_path):
    path = str(tmp_path / 'settings.json')
    with server() as h:
        c = _store_login(h, path)
        entries = _entries(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(entries) == 1
    entry = entries[0]
    assert sorted(entry) == ['HostUrl', 'RefreshNonce', 'RefreshToken', 'ServerDatafolder']
    assert entry['HostUrl'] == h.url
    assert entry['RefreshToken'] == c.auth._refresh_token
    assert entry['RefreshNonce'] and entry['RefreshNonce'] == c.auth._refresh_nonce
    # no key: stored in plaintext, with ServerUtil's warning
    assert any('without encryption' in w for w in c.warnings)


def test_stored_login_is_used_rotated_and_saved_back(tmp_path):
    path = str(tmp_path / 'settings.json')
    with server('--seed-backups', '1') as h:
        _store_login(h, path)
        before = _entries(path)[0]
        mark = len(h.app.log)
        c = client(h, settings_file=path)  # no password at all
        assert len(c.request('GET', 'backups')) == 1
        assert c.auth.method == auth.METHOD_STORED_LOGIN
        assert log_since(h, mark) == [('POST', '/api/v1/auth/refresh', 200), ('GET', '/api/v1/backups', 200)]
        after = _entries(path)[0]
        assert after['RefreshToken'] != before['RefreshToken']
        assert after['RefreshNonce'] != before['RefreshNonce']
        # the rotated token works again (so the nonce was sent and saved), the old one no longer does
        assert client(h, settings_file=path).login() == auth.METHOD_STORED_LOGIN
        reply = h.request('POST', '/api/v1/auth/refresh', json_body={'Nonce': before['RefreshNonce']},
                          headers={'Cookie': 'RefreshToken_%d=%s' % (h.port, before['RefreshToken'])})
        assert reply.status == 401


def test_stored_login_without_the_nonce_is_refused_by_the_server(tmp_path):
    path = str(tmp_path / 'settings.json')
    with server() as h:
        _store_login(h, path)
        entry = _entries(path)[0]
        reply = h.request('POST', '/api/v1/auth/refresh', headers={'Cookie': 'RefreshToken_%d=%s' % (h.port, entry['RefreshToken'])})
        assert reply.status == 401  # which is why the nonce must be stored and sent


def test_stored_login_encrypted_with_the_settings_key(tmp_path):
    path = str(tmp_path / 'settings.json')
    with server() as h:
        c = _store_login(h, path, key=KEY)
        raw = _entries(path)[0]['RefreshToken']
        assert raw.startswith('enc-v1:') and c.auth._refresh_token not in raw
        assert not any('without encryption' in w for w in c.warnings)
        assert client(h, settings_file=path, settings_encryption_key=KEY).login() == auth.METHOD_STORED_LOGIN
        assert _entries(path)[0]['RefreshToken'].startswith('enc-v1:')
        with pytest.raises(DuplicatiError) as err:
            client(h, settings_file=path).login()
        assert 'no settings encryption key' in str(err.value)


def test_refused_stored_login_falls_back_to_the_password(tmp_path):
    path = str(tmp_path / 'settings.json')
    with server() as h:
        _store_login(h, path)
        entry = _entries(path)[0]
        entry['RefreshToken'] = entry['RefreshToken'][:-4] + 'AAAA'
        with open(path, 'w') as handle:
            json.dump([entry], handle)
        c = client(h, settings_file=path, password=PASSWORD)
        assert c.login() == auth.METHOD_PASSWORD
        assert any('Failed to use the stored login' in w for w in c.warnings)
        with pytest.raises(DuplicatiError) as err:
            client(h, settings_file=path).login()
        assert 'the stored login in %s was refused (HTTP 401)' % path in str(err.value)


def test_other_hosts_in_settings_json_are_kept(tmp_path):
    path = str(tmp_path / 'settings.json')
    other = {'RefreshToken': 'other-token', 'RefreshNonce': 'n', 'HostUrl': 'http://10.9.9.9:8200/', 'ServerDatafolder': None}
    with open(path, 'w') as handle:
        json.dump([other], handle)
    with server() as h:
        _store_login(h, path)
        client(h, settings_file=path).login()
    entries = _entries(path)
    assert entries[0] == other
    assert entries[1]['HostUrl'] == h.url


def test_logout_sends_the_nonce_and_invalidates_the_family(tmp_path):
    path = str(tmp_path / 'settings.json')
    with server() as h:
        _store_login(h, path)
        c = client(h, settings_file=path)
        c.login()  # rotates: the family now has a newer token
        families = h.request('GET', '/_emulator/state').json()['token_families']
        current = _entries(path)[0]
        assert c.logout() is True
        assert h.request('GET', '/_emulator/state').json()['token_families'] == families - 1
        entry = _entries(path)[0]
        assert entry['RefreshToken'] is None
        reply = h.request('POST', '/api/v1/auth/refresh', json_body={'Nonce': current['RefreshNonce']},
                          headers={'Cookie': 'RefreshToken_%d=%s' % (h.port, current['RefreshToken'])})
        assert reply.status == 401
        assert client(h, settings_file=path).logout() is False


# -- sign-in from the server database --------------------------------------------------

def test_signin_from_the_server_database(tmp_path):
    folder = str(tmp_path)
    with server('--server-datafolder', folder) as h:
        c = client(h, server_data_folder=folder)
        assert c.request('GET', 'backups') == []
        assert c.auth.method == auth.METHOD_SIGNIN
        assert calls(h, 'POST', '/api/v1/auth/signin', 200) == 1
        assert calls(h, 'POST', '/api/v1/auth/login') == 0
        # the family belongs to server-cli, as ServerUtil's sign-in does
        claims = pyjwt.decode(c.auth._access_token, options={'verify_signature': False})
        assert claims['sid'] == 'server-cli'


def test_signin_from_the_default_data_folder_with_no_options(tmp_path, monkeypatch):
    # with no password ServerUtil probes the default data folder for the database (Connection.ConnectAsync of
    # Duplicati/CommandLine/ServerUtil/Connection.cs)
    home = tmp_path / 'home'
    folder = home / '.config' / 'Duplicati'
    folder.mkdir(parents=True)
    for name in ('DUPLICATI__SERVER_DATAFOLDER', 'DUPLICATI_HOME', 'XDG_CONFIG_HOME'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HOME', str(home))
    with server('--server-datafolder', str(folder)) as h:
        c = connect({'host_url': h.url}, sleep=Sleeps(), jitter=lambda: 0.5)
        assert c.request('GET', 'backups') == []
        assert c.auth.method == auth.METHOD_SIGNIN
        assert calls(h, 'POST', '/api/v1/auth/signin', 200) == 1


def test_signin_with_an_encrypted_server_database(tmp_path):
    folder = str(tmp_path)
    with server('--server-datafolder', folder, '--settings-encryption-key', KEY) as h:
        c = client(h, server_data_folder=folder, settings_encryption_key=KEY)
        assert c.login() == auth.METHOD_SIGNIN
        with pytest.raises(DuplicatiError) as err:
            client(h, server_data_folder=folder).login()
        assert 'no sign-in token from the server database' in str(err.value)
        assert 'settings encryption key' in str(err.value)
        # with a password the database is not read at all, as in ServerUtil
        c = client(h, server_data_folder=folder, password=PASSWORD)
        assert c.login() == auth.METHOD_PASSWORD


def test_signin_disabled_is_explained(tmp_path):
    folder = str(tmp_path)
    with server('--server-datafolder', folder, '--webservice-disable-signin-tokens=true') as h:
        with pytest.raises(DuplicatiError) as err:
            client(h, server_data_folder=folder).login()
    assert 'the sign-in token was refused' in str(err.value)
    assert 'Signin tokens are disabled' in str(err.value)


def _agent_json(folder, key):
    path = os.path.join(folder, 'agent.json')
    with open(path, 'w') as handle:
        json.dump({'jwt': 'registered', 'serverUrl': 'https://console.example/', 'certificateUrl': '',
                   'settingsEncryptionKey': key, 'serverCertificates': []}, handle)
    return path


def test_signin_to_an_agent_hosted_server_with_the_key_of_agent_json(tmp_path):
    # Agent/Program.cs StartLocalServerAsync: --settings-encryption-key = agent.json's settingsEncryptionKey
    folder = str(tmp_path)
    agent_key = 'agent-json-settings-key'
    path = _agent_json(folder, agent_key)
    with server('--server-datafolder', folder, '--settings-encryption-key', agent_key,
                '--webservice-disable-signin-tokens=false', '--webservice-reset-jwt-config=true') as h:
        assert h.app.db.get_setting('encrypted-fields') == 'True'
        c = client(h, agent_settings_file=path)
        assert c.request('GET', 'backups') == []
        assert c.auth.method == auth.METHOD_SIGNIN
        # the agent's own key (option or SETTINGS_ENCRYPTION_KEY) wins over agent.json, as in the agent
        with pytest.raises(DuplicatiError, match='settings encryption key does not match'):
            client(h, agent_settings_file=path, settings_encryption_key='another-key-123').login()


def test_signin_to_an_agent_hosted_server_with_its_default_options_is_explained(tmp_path):
    folder = str(tmp_path)
    path = _agent_json(folder, 'agent-json-settings-key')
    # the agent's defaults: --webservice-disable-signin-tokens=True
    with server('--server-datafolder', folder, '--settings-encryption-key', 'agent-json-settings-key',
                '--webservice-disable-signin-tokens=True') as h:
        with pytest.raises(DuplicatiError) as err:
            client(h, agent_settings_file=path).login()
    assert 'Signin tokens are disabled' in str(err.value)
    assert '--webservice-disable-signin-tokens=false' in str(err.value)


def test_persistent_signin_is_saved(tmp_path):
    folder = str(tmp_path / 'data')
    os.mkdir(folder)
    path = str(tmp_path / 'settings.json')
    with server('--server-datafolder', folder) as h:
        c = client(h, server_data_folder=folder, settings_file=path, persist=True)
        assert c.login() == auth.METHOD_SIGNIN
        entry = _entries(path)[0]
        assert entry['ServerDatafolder'] == folder
        assert client(h, settings_file=path).login() == auth.METHOD_STORED_LOGIN


# -- access tokens ---------------------------------------------------------------------

def test_forever_token_is_sent_as_bearer():
    with server('--webservice-enable-forever-token', '--seed-backups', '1') as h:
        token = server_settings.issue_forever_token(client(h, password=PASSWORD))
        mark = len(h.app.log)
        c = client(h, access_token=token, password='ignored because the token comes first')
        assert len(c.request('GET', 'backups')) == 1
        assert c.auth.method == auth.METHOD_ACCESS_TOKEN and c.auth._scheme == 'Bearer'
        assert log_since(h, mark) == [('GET', '/api/v1/backups', 200)]


def test_pre_auth_token_is_sent_as_preauth():
    with server('--webservice-pre-auth-tokens', PRE_AUTH, '--seed-backups', '1') as h:
        c = client(h, access_token=PRE_AUTH)
        assert len(c.request('GET', 'backups')) == 1
        assert c.auth._scheme == 'PreAuth'
        with pytest.raises(DuplicatiError) as err:
            client(h, access_token='not_a_listed_token_123').request('GET', 'backups')
        assert 'the pre-auth token was refused (HTTP 401)' in str(err.value)
        assert '--webservice-pre-auth-tokens' in str(err.value)
        assert 'not_a_listed_token_123' not in str(err.value)


def test_explicit_token_kind():
    with server('--webservice-pre-auth-tokens', PRE_AUTH) as h:
        a = auth.Authenticator(client(h).transport, access_token=PRE_AUTH, access_token_kind='bearer')
        assert a.authorization_headers() == {'Authorization': 'Bearer ' + PRE_AUTH}
        with pytest.raises(DuplicatiError, match='Invalid access token kind'):
            auth.Authenticator(client(h).transport, access_token=PRE_AUTH, access_token_kind='basic')


def test_refused_forever_token_is_not_retried():
    with server('--webservice-enable-forever-token') as h:
        token = server_settings.issue_forever_token(client(h, password=PASSWORD))
        forged = token[:-4] + 'AAAA'
        with pytest.raises(DuplicatiError) as err:
            client(h, access_token=forged).request('GET', 'backups')
        assert calls(h, 'GET', '/api/v1/backups') == 1
        assert 'the access token was refused (HTTP 401)' in str(err.value)
        assert '--webservice-reset-jwt-config' in str(err.value)


def test_expired_access_token_is_refused_before_sending():
    with server('--webservice-enable-forever-token') as h:
        token = server_settings.issue_forever_token(client(h, password=PASSWORD))
        exp = pyjwt.decode(token, options={'verify_signature': False})['exp']
        c = client(h, access_token=token, clock=lambda: exp + 1)
        mark = len(h.app.log)
        with pytest.raises(DuplicatiError) as err:
            c.request('GET', 'backups')
        assert log_since(h, mark) == []
        assert 'it expired at' in str(err.value)


# -- renewal ---------------------------------------------------------------------------

def test_access_token_is_renewed_before_it_expires():
    with server('--access-token-minutes', '5', '--seed-backups', '1') as h:
        now = {'t': time.time()}
        c = client(h, password=PASSWORD, clock=lambda: now['t'])
        c.request('GET', 'backups')
        first = c.auth._refresh_token
        mark = len(h.app.log)
        now['t'] += 3 * 60  # 2 minutes left: no renewal yet
        c.request('GET', 'backups')
        assert log_since(h, mark) == [('GET', '/api/v1/backups', 200)]
        now['t'] += 65  # 55 s left: renewed first
        mark = len(h.app.log)
        c.request('GET', 'backups')
        assert log_since(h, mark) == [('POST', '/api/v1/auth/refresh', 200), ('GET', '/api/v1/backups', 200)]
        assert c.auth._refresh_token != first  # rotated by the renewal


def test_renewal_of_a_stored_login_is_saved_back(tmp_path):
    path = str(tmp_path / 'settings.json')
    with server('--access-token-minutes', '1') as h:
        _store_login(h, path)
        c = client(h, settings_file=path)
        c.login()
        saved = _entries(path)[0]['RefreshToken']
        c.request('GET', 'backups')  # a 1-minute token always has < 60 s left: renewed
        assert _entries(path)[0]['RefreshToken'] != saved
        assert _entries(path)[0]['RefreshToken'] == c.auth._refresh_token
        assert client(h, settings_file=path).login() == auth.METHOD_STORED_LOGIN


def test_secrets_never_in_warnings_or_errors(tmp_path):
    path = str(tmp_path / 'settings.json')
    with server() as h:
        c = _store_login(h, path)
        text = ' '.join(c.warnings)
        assert c.auth._refresh_token not in text and PASSWORD not in text
