# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.duplicati.fleet.plugins.modules import server_info, server_password
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import PASSWORD, calls, connection, run_module, server

NEW = 'the second password'


def test_change_is_predicted_made_once_and_verified(monkeypatch):
    with server() as harness:
        check = run_module(monkeypatch, server_password, connection(harness, new_password=NEW), check_mode=True)
        assert calls(harness, 'PUT', '/api/v1/serversetting/server-passphrase') == 0
        changed = run_module(monkeypatch, server_password, connection(harness, new_password=NEW))
        again = run_module(monkeypatch, server_password, connection(harness, new_password=NEW))
        puts = calls(harness, 'PUT', '/api/v1/serversetting/server-passphrase')
        old = run_module(monkeypatch, server_info, connection(harness))
        new = run_module(monkeypatch, server_info, connection(harness, password=NEW))
    assert check['changed'] is True and changed['changed'] is True and again['changed'] is False
    assert puts == 1
    assert old['failed'] is True and new['failed'] is False
    assert NEW not in json.dumps(changed) and PASSWORD not in json.dumps(changed)


def test_wrong_current_password_fails_and_changes_nothing(monkeypatch):
    with server() as harness:
        result = run_module(monkeypatch, server_password, connection(harness, password='wrong', new_password=NEW))
        puts = calls(harness, 'PUT', '/api/v1/serversetting/server-passphrase')
    assert result['failed'] is True and 'password was refused' in result['msg']
    assert puts == 0 and NEW not in json.dumps(result)


def test_the_probe_login_is_revoked(monkeypatch):
    with server() as harness:
        run_module(monkeypatch, server_password, connection(harness, new_password=PASSWORD))
        logouts = calls(harness, 'POST', '/api/v1/auth/refresh/logout')
    assert logouts == 1


def test_check_mode_signs_in_with_the_connection_options(monkeypatch):
    # the real run needs them to change the password: check mode must not predict a change it cannot make
    with server() as harness:
        wrong = run_module(monkeypatch, server_password, connection(harness, password='wrong', new_password=NEW), check_mode=True)
        right = run_module(monkeypatch, server_password, connection(harness, new_password=NEW), check_mode=True)
        puts = calls(harness, 'PUT', '/api/v1/serversetting/server-passphrase')
    assert wrong['failed'] is True and 'password was refused' in wrong['msg']
    assert right['changed'] is True and puts == 0
