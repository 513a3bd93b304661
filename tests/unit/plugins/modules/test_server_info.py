# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.duplicati.fleet.plugins.modules import backup_run, server_info, server_state
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import connection, run_module, server

KEY = 'settings-key-for-tests'


def test_idle_then_paused_with_a_queue(monkeypatch):
    with server('--seed-backups', '2') as harness:
        idle = run_module(monkeypatch, server_info, connection(harness))
        run_module(monkeypatch, server_state, connection(harness, state='paused', duration='10m'))
        for ident in ('1', '2'):
            run_module(monkeypatch, backup_run, connection(harness, backup=ident))
        paused = run_module(monkeypatch, server_info, connection(harness), check_mode=True)
    assert idle['changed'] is False and idle['healthy'] is True
    assert idle['program_state'] == 'Running' and idle['active_task'] is None and idle['queue'] == []
    assert idle['backup_count'] == 2
    assert idle['server_version'] == '2.3.0.4'  # the emulated release (--server-version default), ServerVersion of systeminfo
    assert paused['program_state'] == 'Paused' and paused['estimated_pause_end']
    assert [t['backup_id'] for t in paused['queue']] == ['1', '2']


def test_database_sign_in_with_and_without_the_key(monkeypatch):
    with server('--seed-backups', '1', '--settings-encryption-key', KEY) as harness:
        folder = harness.app.describe()['data_folder']
        signed_in = run_module(monkeypatch, server_info, dict(host_url=harness.url, server_data_folder=folder, settings_encryption_key=KEY))
        no_key = run_module(monkeypatch, server_info, dict(host_url=harness.url, server_data_folder=folder))
    assert signed_in['failed'] is False and signed_in['backup_count'] == 1
    assert no_key['failed'] is True and 'encryption key' in no_key['msg']


def test_pre_auth_token_and_an_agent_hosted_server(monkeypatch):
    with server('--webservice-pre-auth-tokens', 'fleet_pre_auth_0123') as harness:
        with_token = run_module(monkeypatch, server_info, dict(host_url=harness.url, access_token='fleet_pre_auth_0123'))
        harness.app.pre_shared_key = 'ab' * 64  # hosted by an Agent: its random in-memory key
        behind_agent = run_module(monkeypatch, server_info, dict(host_url=harness.url, access_token='fleet_pre_auth_0123'))
    assert with_token['failed'] is False and with_token['program_state'] == 'Running'
    assert behind_agent['failed'] is True and 'pre-shared key' in behind_agent['msg']
    assert '--disable-pre-shared-key=true' in behind_agent['msg']


def test_unreachable_fails(monkeypatch):
    result = run_module(monkeypatch, server_info, dict(host_url='http://127.0.0.1:9/', timeout=2))
    assert result['failed'] is True and '127.0.0.1:9' in result['msg']


def test_server_version_is_the_servers_own(monkeypatch):
    with server('--server-version', '2.1.0.5') as harness:
        result = run_module(monkeypatch, server_info, connection(harness))
    assert result['failed'] is False and result['server_version'] == '2.1.0.5'


def test_a_server_without_systeminfo_is_an_error(monkeypatch):
    # Every Duplicati from 2.1 on answers GET api/v1/systeminfo (WebserverCore/Endpoints/V1/SystemInfo.cs), so a
    # healthy server without it is not a supported Duplicati server: here the emulator with that route removed.
    with server() as harness:
        harness.app.endpoints[:] = [e for e in harness.app.endpoints if 'systeminfo' not in e.regex.pattern]
        result = run_module(monkeypatch, server_info, connection(harness))
    assert result['failed'] is True and result['status'] == 404
    assert 'no systeminfo endpoint' in result['msg'] and 'Duplicati server (2.1 or later)' in result['msg']
    assert harness.url in result['msg'] and 'server_version' not in result


def test_a_settings_file_that_is_not_utf8_is_a_clear_error(monkeypatch, tmp_path):
    settings = tmp_path / 'serverutil-settings.json'
    settings.write_bytes(b'{"https://h/": {"Token": "caf\xe9 \xff"}}\n')
    with server() as harness:
        result = run_module(monkeypatch, server_info, connection(harness, settings_file=str(settings)))
    assert result['failed'] and 'is not UTF-8 text' in result['msg'] and str(settings) in result['msg']
