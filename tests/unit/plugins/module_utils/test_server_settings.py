# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server settings against the emulated server: change the password (JSON string body)
and issue the forever token, with the server's refusals explained."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import server_settings
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import (
    PASSWORD, calls, client, server)


def test_change_password():
    with server() as h:
        server_settings.change_password(client(h, password=PASSWORD), 'the new one')
        assert client(h, password='the new one').login() == 'password'
        with pytest.raises(DuplicatiError, match='the password was refused'):
            client(h, password=PASSWORD).login()


def test_change_password_sends_a_json_string():
    with server() as h:
        c = client(h, password=PASSWORD)
        c.login()
        sent = []
        original = c.transport.opener

        def spy(url, data=None, **kwargs):
            sent.append((kwargs.get('method'), url, data, kwargs.get('headers', {}).get('Content-Type')))
            return original(url, data=data, **kwargs)

        c.transport.opener = spy
        server_settings.change_password(c, 'pw "quoted"')
        assert sent == [('PUT', h.url + 'api/v1/serversetting/server-passphrase', b'"pw \\"quoted\\""',
                         'application/json; charset=utf-8')]


def test_empty_new_password_is_refused_before_sending():
    with server() as h:
        with pytest.raises(DuplicatiError, match='empty'):
            server_settings.change_password(client(h, password=PASSWORD), '')
        assert calls(h, 'PUT', '/api/v1/serversetting/server-passphrase') == 0


def test_forever_token_not_enabled():
    with server() as h:
        with pytest.raises(DuplicatiError) as err:
            server_settings.issue_forever_token(client(h, password=PASSWORD))
    text = str(err.value)
    assert text.startswith('Failed to issue a forever token from %s: forever tokens are not enabled on this server (HTTP 401)' % h.url)
    assert 'Server error (401): Forever tokens are not enabled' in text
    assert 'Start the server with --webservice-enable-forever-token' in text


def test_only_one_forever_token_per_server_start():
    with server('--webservice-enable-forever-token') as h:
        c = client(h, password=PASSWORD)
        token = server_settings.issue_forever_token(c)
        assert token.count('.') == 2
        with pytest.raises(DuplicatiError) as err:
            server_settings.issue_forever_token(c)
        assert calls(h, 'POST', '/api/v1/auth/issue-forever-token') == 2
    text = str(err.value)
    assert 'only one forever token per server start' in text
    assert 'Restart the server' in text
    assert token not in text


def test_forever_token_is_never_repeated_on_503():
    with server('--webservice-enable-forever-token') as h:
        c = client(h, password=PASSWORD)
        c.login()
        h.app.faults.configure(error_rate=1.0)
        with pytest.raises(DuplicatiError):
            server_settings.issue_forever_token(c)
        h.app.faults.configure(error_rate=0.0)
        assert calls(h, 'POST', '/api/v1/auth/issue-forever-token') == 1
        assert server_settings.issue_forever_token(c)  # the one token was not used up
