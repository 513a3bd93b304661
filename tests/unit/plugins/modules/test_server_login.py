# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil
import stat

from ansible_collections.duplicati.fleet.plugins.modules import backup_info, server_login
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import connection, run_module, server

KEY = 'settings-key-for-tests'


def test_login_store_use_logout_revoke(monkeypatch, tmp_path):
    path = str(tmp_path / 'serverutil' / 'settings.json')
    copy = str(tmp_path / 'copy.json')
    with server('--seed-backups', '1') as harness:
        args = connection(harness, settings_file=path, settings_encryption_key=KEY)
        check = run_module(monkeypatch, server_login, args, check_mode=True)
        assert not os.path.exists(path)
        login = run_module(monkeypatch, server_login, args)
        entries = json.load(open(path))
        again = run_module(monkeypatch, server_login, args)
        stored = run_module(monkeypatch, backup_info, dict(host_url=harness.url, settings_file=path, settings_encryption_key=KEY))
        shutil.copy(path, copy)
        check_out = run_module(monkeypatch, server_login, dict(args, state='absent'), check_mode=True)
        still = run_module(monkeypatch, backup_info, dict(host_url=harness.url, settings_file=path, settings_encryption_key=KEY))
        logout = run_module(monkeypatch, server_login, dict(args, state='absent'))
        after = json.load(open(path))
        logout_again = run_module(monkeypatch, server_login, dict(args, state='absent'))
        revoked = run_module(monkeypatch, backup_info, dict(host_url=harness.url, settings_file=copy, settings_encryption_key=KEY,
                                                            server_data_folder=str(tmp_path)))
    assert check['changed'] is True and check['logged_in'] is True
    assert login['changed'] is True and login['encrypted'] is True and login['settings_file'] == path
    assert login['diff'] == {'before': {'settings_file': path, 'host_url': harness.url, 'logged_in': False},
                             'after': {'settings_file': path, 'host_url': harness.url, 'logged_in': True}}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert list(entries[0]) == ['RefreshToken', 'RefreshNonce', 'HostUrl', 'ServerDatafolder']
    assert entries[0]['HostUrl'] == harness.url and entries[0]['RefreshToken'].startswith('enc-v1:') and entries[0]['RefreshNonce']
    assert again['changed'] is False
    assert stored['failed'] is False and len(stored['backups']) == 1
    assert check_out['changed'] is True and still['failed'] is False
    assert logout['changed'] is True and logout['logged_in'] is False and after[0]['RefreshToken'] is None
    assert logout_again['changed'] is False
    assert revoked['failed'] is True and 'refused' in revoked['msg']


def test_plain_token_without_key_warns(monkeypatch, tmp_path):
    path = str(tmp_path / 'settings.json')
    with server() as harness:
        login = run_module(monkeypatch, server_login, connection(harness, settings_file=path))
    assert login['changed'] is True and login['encrypted'] is False
    assert any('without encryption' in w for w in login['warnings'])
    assert not json.load(open(path))[0]['RefreshToken'].startswith('enc-v1:')


def test_failures_store_nothing(monkeypatch, tmp_path):
    path = str(tmp_path / 'settings.json')
    with server() as harness:
        wrong = run_module(monkeypatch, server_login, connection(harness, settings_file=path, password='wrong'))
        token = run_module(monkeypatch, server_login, dict(host_url=harness.url, settings_file=path, access_token='fleet_pre_auth_0123'))
    assert wrong['failed'] is True and 'password was refused' in wrong['msg']
    assert token['failed'] is True and 'access_token' in token['msg']
    assert not os.path.exists(path)


def test_check_mode_trusts_an_unexpired_token_only():
    assert server_login.token_is_current('not-a-jwt')
    expired = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjEwMH0.c2ln'  # {"exp": 100}
    assert not server_login.token_is_current(expired, now=200)
    assert server_login.token_is_current(expired, now=50)
