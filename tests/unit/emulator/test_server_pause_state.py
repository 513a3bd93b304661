# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server state, password change, the database file, restarts and the CLI (ServerState.cs, Server/Program.cs, Connection.cs, Timeparser.cs)."""

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from ansible_collections.duplicati.fleet.tests.emulator import child_environment
from ansible_collections.duplicati.fleet.tests.emulator.server.testing import running_server

PW = 'pw-for-state'


def test_serverstate_full_dto():
    # ServerUtil ServerStatus.cs: the ServerStatusDto (Dto/ServerStatusDto.cs) keys, in declaration order
    with running_server('--webservice-password', PW) as srv:
        state = srv.request('GET', '/api/v1/serverstate', headers=srv.bearer(PW)).json()
        assert list(state) == ['ActiveTask', 'ProgramState', 'SchedulerQueueIds', 'ProposedSchedule', 'HasWarning', 'HasError',
                               'SuggestedStatusIcon', 'EstimatedPauseEnd', 'LastEventID', 'LastDataUpdateID', 'LastNotificationUpdateID',
                               'UpdatedVersion', 'UpdaterState', 'UpdateDownloadLink', 'UpdateDownloadProgress', 'Type']
        assert state['ProgramState'] == 'Running' and state['Type'] == 'legacystatus'
        assert state['EstimatedPauseEnd'] == '0001-01-01T00:00:00Z'


def test_pause_indefinite_and_resume_without_timespan_codec():
    # ServerUtil Pause.cs / Resume.cs: pause with no query = indefinite; resume
    with running_server('--webservice-password', PW) as srv:
        headers = srv.bearer(PW)
        reply = srv.request('POST', '/api/v1/serverstate/pause', headers=headers)
        assert reply.status == 200 and reply.body == b''
        state = srv.request('GET', '/api/v1/serverstate', headers=headers).json()
        assert state['ProgramState'] == 'Paused' and state['SuggestedStatusIcon'] == 'Paused'
        assert state['EstimatedPauseEnd'] == '0001-01-01T00:00:00Z'
        assert srv.app.db.get_setting('paused-until') == '0'
        assert srv.request('POST', '/api/v1/serverstate/resume', headers=headers).status == 200
        assert srv.request('GET', '/api/v1/serverstate', headers=headers).json()['ProgramState'] == 'Running'
        assert srv.app.db.get_setting('paused-until') is None or srv.app.db.get_setting('paused-until') == ''


def test_pause_durations():
    # Timeparser.ParseTimeSpan: 5m valid, 0 / empty indefinite, 1d and 30min invalid → 400 "The duration must be a valid time span"
    with running_server('--webservice-password', PW) as srv:
        headers = srv.bearer(PW)
        assert srv.request('POST', '/api/v1/serverstate/pause?duration=5m&pauseTransfers=true', headers=headers).status == 200
        state = srv.request('GET', '/api/v1/serverstate', headers=headers).json()
        assert state['ProgramState'] == 'Paused' and state['EstimatedPauseEnd'] != '0001-01-01T00:00:00Z'
        for bad in ('1d', '30min', '5m%20x'):
            reply = srv.request('POST', '/api/v1/serverstate/pause?duration=' + bad, headers=headers)
            assert reply.status == 400 and reply.json() == {'Error': 'The duration must be a valid time span', 'Code': 400}
        for indefinite in ('0', ''):
            srv.request('POST', '/api/v1/serverstate/resume', headers=headers)
            assert srv.request('POST', '/api/v1/serverstate/pause?duration=' + indefinite, headers=headers).status == 200
            assert srv.request('GET', '/api/v1/serverstate', headers=headers).json()['EstimatedPauseEnd'] == '0001-01-01T00:00:00Z'


def test_paused_server_starts_no_backup():
    with running_server('--webservice-password', PW, '--seed-backups', '1', '--run-duration', '0.1') as srv:
        headers = srv.bearer(PW)
        srv.request('POST', '/api/v1/serverstate/pause', headers=headers)
        task = srv.request('POST', '/api/v1/backup/1/run', headers=headers).json()['ID']
        state = srv.request('GET', '/api/v1/serverstate', headers=headers).json()
        assert state['ActiveTask'] is None and state['SchedulerQueueIds'] == [{'Item1': task, 'Item2': '1'}]
        assert srv.request('GET', '/_emulator/state').json()['runs_started'] == 0
        srv.request('POST', '/api/v1/serverstate/resume', headers=headers)
        assert srv.app.runner.wait_idle(10)
        assert srv.request('GET', '/_emulator/state').json()['runs_finished'] == 1


def test_change_password_then_login_with_new_one():
    # ServerUtil ChangePassword.cs: PUT serversetting/server-passphrase with a JSON string body
    with running_server('--webservice-password', PW) as srv:
        headers = srv.bearer(PW)
        reply = srv.request('PUT', '/api/v1/serversetting/server-passphrase', body=b'"brand new pw"',
                            headers=dict(headers, **{'Content-Type': 'application/json'}))
        assert reply.status == 200
        assert srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}).status == 401
        assert srv.request('POST', '/api/v1/auth/login', json_body={'Password': 'brand new pw'}).status == 200
        empty = srv.request('PUT', '/api/v1/serversetting/server-passphrase', body=b'""',
                            headers=dict(headers, **{'Content-Type': 'application/json'}))
        assert empty.status == 500 and empty.json() == {'Error': 'An error occurred', 'Code': 500}
        not_string = srv.request('PUT', '/api/v1/serversetting/server-passphrase', body=b'{"x":1}',
                                 headers=dict(headers, **{'Content-Type': 'application/json'}))
        assert not_string.status == 400


def test_generated_password_is_reported_and_works():
    with running_server() as srv:
        password = srv.app.describe()['password']
        assert password and srv.app.db.get_setting('autogenerated-passphrase') == 'True'
        assert srv.request('POST', '/api/v1/auth/login', json_body={'Password': password}).status == 200


def test_database_file_has_real_schema_and_settings(tmp_path):
    # Schema.sql, ServerSettings.cs: Duplicati-server.sqlite, Version 12, Option rows at BackupID -2, pbkdf-config as PbkdfConfig.cs
    folder = str(tmp_path / 'data')
    with running_server('--server-datafolder', folder, '--webservice-password', PW, '--seed-backups', '2'):
        pass
    path = os.path.join(folder, 'Duplicati-server.sqlite')
    assert oct(os.stat(path).st_mode & 0o777) == '0o600'
    conn = sqlite3.connect(path)
    try:
        assert conn.execute('SELECT Version FROM Version').fetchone()[0] == 12
        tables = set(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"))
        assert {'Backup', 'Schedule', 'Source', 'Filter', 'Option', 'Metadata', 'TokenFamily', 'ConnectionString', 'BackupTargetUrl'} <= tables
        settings = dict(conn.execute('SELECT Name, Value FROM Option WHERE BackupID = -2'))
        pbkdf = json.loads(settings['pbkdf-config'])
        assert list(pbkdf) == ['Algorithm', 'Version', 'Salt', 'Iterations', 'HashAlorithm', 'Hash']
        import base64
        import hashlib
        assert base64.b64decode(pbkdf['Hash']) == hashlib.pbkdf2_hmac('sha256', PW.encode(), base64.b64decode(pbkdf['Salt']), 10000, 32)
        config = json.loads(settings['jwt-config'])
        assert config['Authority'] == 'https://duplicati' and config['PbkdfConfig']['Salt'] == ''
        assert settings['encrypted-fields'] == 'False' and settings['startup-delay'] == ''
        assert conn.execute('SELECT COUNT(*) FROM Backup').fetchone()[0] == 2
        assert 'auth-password=' in conn.execute('SELECT TargetURL FROM Backup WHERE ID = 1').fetchone()[0]
    finally:
        conn.close()


def test_jwt_config_encrypted_with_key(tmp_path):
    # Connection._encryptedFields: with --settings-encryption-key, jwt-config, pbkdf-config, passwords and TargetURL are enc-v1 strings
    folder = str(tmp_path / 'enc')
    with running_server('--server-datafolder', folder, '--webservice-password', PW, '--seed-backups', '1',
                        '--settings-encryption-key', 'long and good password') as srv:
        assert srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}).status == 200
    conn = sqlite3.connect(os.path.join(folder, 'Duplicati-server.sqlite'))
    try:
        settings = dict(conn.execute('SELECT Name, Value FROM Option WHERE BackupID = -2'))
        assert settings['jwt-config'].startswith('enc-v1:') and settings['pbkdf-config'].startswith('enc-v1:')
        assert settings['encrypted-fields'] == 'True'
        assert conn.execute('SELECT TargetURL FROM Backup').fetchone()[0].startswith('enc-v1:')
    finally:
        conn.close()


def test_state_survives_restart(tmp_path):
    # a restart on the same data folder keeps backups, jwt-config (unless reset) and token families
    folder = str(tmp_path / 'keep')
    with running_server('--server-datafolder', folder, '--webservice-password', PW, '--seed-backups', '2') as srv:
        key = srv.app.jwt_config['SigningKey']
        token = srv.login(PW).json()['AccessToken']
    with running_server('--server-datafolder', folder, '--seed-backups', '3') as srv:
        assert srv.app.jwt_config['SigningKey'] == key
        assert srv.app.describe()['password'] is None
        assert srv.request('GET', '/api/v1/backups', headers={'Authorization': 'Bearer ' + token}).status == 200
        assert len(srv.app.db.backup_ids()) == 2  # seeds only go into a new database
    with running_server('--server-datafolder', folder, '--webservice-reset-jwt-config') as srv:
        assert srv.app.jwt_config['SigningKey'] != key
        assert srv.app.db.count_token_families() == 0
        assert srv.request('GET', '/api/v1/backups', headers={'Authorization': 'Bearer ' + token}).status == 401
        assert srv.request('POST', '/api/v1/auth/login', json_body={'Password': PW}).status == 200


def test_pause_survives_restart(tmp_path):
    folder = str(tmp_path / 'paused')
    with running_server('--server-datafolder', folder, '--webservice-password', PW) as srv:
        srv.request('POST', '/api/v1/serverstate/pause', headers=srv.bearer(PW))
    with running_server('--server-datafolder', folder, '--webservice-password', PW) as srv:
        assert srv.request('GET', '/api/v1/serverstate', headers=srv.bearer(PW)).json()['ProgramState'] == 'Paused'


def test_cli_start_and_stop(tmp_path):
    state = str(tmp_path / 'cli')
    env = child_environment()
    module = 'ansible_collections.duplicati.fleet.tests.emulator'
    out = subprocess.run([sys.executable, '-m', module, 'start', 'server', '--state-dir', state, '--seed-backups', '3'],
                         env=env, check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    try:
        assert info['password'] and os.path.exists(info['database'])
        import urllib.request
        with urllib.request.urlopen(info['url'] + 'health', timeout=10) as resp:
            assert resp.read() == b'Healthy'
    finally:
        stop = subprocess.run([sys.executable, '-m', module, 'stop', 'server', '--state-dir', state], env=env, check=False, timeout=60)
    assert stop.returncode == 0
    with pytest.raises(OSError):
        os.kill(info['pid'], 0)
