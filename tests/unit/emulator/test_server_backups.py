# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup endpoints of the emulated server (BackupGet.cs, BackupPost.cs, Backups.cs; ServerUtil Commands)."""

import base64
import io
import json
import time

import pyAesCrypt

from ansible_collections.duplicati.fleet.tests.emulator.server.testing import running_server

PW = 'pw-for-backups'


def _auth(srv):
    return srv.bearer(PW)


def _wait_idle(srv, headers, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = srv.request('GET', '/api/v1/serverstate', headers=headers).json()
        if state['ActiveTask'] is None and not state['SchedulerQueueIds']:
            return state
        time.sleep(0.05)
    raise AssertionError('tasks did not finish')


def _export(srv, headers, backup_id, query):
    token = srv.request('POST', '/api/v1/auth/issuetoken/export', headers=headers).json()['Token']
    return srv.request('GET', '/api/v1/backup/%s/export?%s&token=%s' % (backup_id, query, token))


def test_list_backups_shape():
    # ServerUtil ListBackups.cs / Backups.cs: array of {Backup:{ID, Name, ..., Metadata}, Schedule:{ID, Tags, Time, Repeat, LastRun, Rule, AllowedDays}}
    with running_server('--webservice-password', PW, '--seed-backups', '3') as srv:
        items = srv.request('GET', '/api/v1/backups', headers=_auth(srv)).json()
        assert [i['Backup']['ID'] for i in items] == ['1', '2', '3']
        first = items[0]
        assert list(first) == ['Backup', 'Schedule']
        assert first['Backup']['Metadata']['LastBackupDate'].endswith('Z') and 'SourceFilesSize' in first['Backup']['Metadata']
        assert first['Backup']['Settings'] is None and first['Backup']['Sources'] == []
        assert first['Schedule']['Tags'] == ['ID=1'] and first['Schedule']['AllowedDays'] == ['mon', 'tue', 'wed', 'thu', 'fri']
        assert first['Schedule']['Time'].endswith('Z')
        assert items[2]['Schedule']['AllowedDays'] is None
        by_name = srv.request('GET', '/api/v1/backups?orderBy=-name', headers=_auth(srv)).json()
        assert [i['Backup']['Name'] for i in by_name] == ['Server config', 'Photos', 'Documents']


def test_get_backup_masks_passwords():
    with running_server('--webservice-password', PW, '--seed-backups', '1') as srv:
        reply = srv.request('GET', '/api/v1/backup/1', headers=_auth(srv))
        body = reply.json()
        assert list(body) == ['Schedule', 'Backup', 'DisplayNames']
        assert 'auth-password=***************' in body['Backup']['TargetURL']
        assert 'auth-username=AKIAEXAMPLE1' in body['Backup']['TargetURL']
        passphrase = [s for s in body['Backup']['Settings'] if s['Name'] == 'passphrase'][0]
        assert passphrase['Value'] == '***************'
        missing = srv.request('GET', '/api/v1/backup/99', headers=_auth(srv))
        assert missing.status == 404 and missing.json() == {'Error': 'Backup not found', 'Code': 404}


def test_run_then_log_carries_parsed_result():
    # ServerUtil RunBackup.cs / BackupPost.cs: POST backup/{id}/run?skipqueue= → {Status:"OK", ID:<taskid>}; log Message JSON has ParsedResult
    with running_server('--webservice-password', PW, '--seed-backups', '2', '--run-duration', '0.3') as srv:
        headers = _auth(srv)
        assert srv.request('GET', '/api/v1/backup/1/log', headers=headers).json() == []
        srv.request('POST', '/_emulator/backup/1/next-result', json_body={'result': 'Warning'})
        started = srv.request('POST', '/api/v1/backup/1/run?skipqueue=False', headers=headers).json()
        assert started['Status'] == 'OK' and isinstance(started['ID'], int)
        # asking again while queued or active gives the same task
        assert srv.request('POST', '/api/v1/backup/1/run', headers=headers).json()['ID'] == started['ID']
        state = srv.request('GET', '/api/v1/serverstate', headers=headers).json()
        assert state['ActiveTask'] == {'Item1': started['ID'], 'Item2': '1'} or state['SchedulerQueueIds'][0]['Item1'] == started['ID']
        _wait_idle(srv, headers)
        log = srv.request('GET', '/api/v1/backup/1/log', headers=headers).json()
        assert log[0]['Type'] == 'Result' and set(log[0]) == {'ID', 'OperationID', 'Timestamp', 'Type', 'Message', 'Exception'}
        assert json.loads(log[0]['Message'])['ParsedResult'] == 'Warning'
        task = srv.request('GET', '/api/v1/task/%d' % started['ID'], headers=headers).json()
        assert task['Status'] == 'Completed'
        assert srv.request('GET', '/api/v1/serverstate', headers=headers).json()['HasWarning'] is True
        assert srv.request('GET', '/_emulator/state').json()['runs_finished'] == 1
        bad = srv.request('POST', '/api/v1/backup/1/run?skipqueue=maybe', headers=headers)
        assert bad.status == 400 and bad.body == b''


def test_fatal_run_fails_the_task():
    with running_server('--webservice-password', PW, '--seed-backups', '1', '--run-duration', '0.1') as srv:
        headers = _auth(srv)
        srv.request('POST', '/_emulator/backup/1/next-result', json_body={'result': 'Fatal'})
        task_id = srv.request('POST', '/api/v1/backup/1/run', headers=headers).json()['ID']
        _wait_idle(srv, headers)
        assert json.loads(srv.request('GET', '/api/v1/backup/1/log', headers=headers).json()[0]['Message'])['ParsedResult'] == 'Fatal'
        task = srv.request('GET', '/api/v1/task/%d' % task_id, headers=headers).json()
        assert task['Status'] == 'Failed' and task['ErrorMessage']
        assert srv.request('GET', '/api/v1/backup/1', headers=headers).json()['Backup']['Metadata']['LastErrorMessage']


def test_delete_backup_queues_a_task_and_removes_it():
    with running_server('--webservice-password', PW, '--seed-backups', '2', '--run-duration', '1.5') as srv:
        headers = _auth(srv)
        srv.request('POST', '/api/v1/backup/2/run', headers=headers)
        deadline = time.monotonic() + 5
        while srv.request('GET', '/api/v1/serverstate', headers=headers).json()['ActiveTask'] is None and time.monotonic() < deadline:
            time.sleep(0.02)
        busy = srv.request('DELETE', '/api/v1/backup/2', headers=headers)
        assert busy.status == 500 and busy.json()['Status'] == 'failed' and busy.json()['Reason'] == 'backup-in-progress'
        _wait_idle(srv, headers)
        db_path = srv.request('GET', '/api/v1/backup/2', headers=headers).json()['Backup']['DBPath']
        reply = srv.request('DELETE', '/api/v1/backup/2?delete-remote-files=false&delete-local-db=true&force=false', headers=headers)
        assert reply.status == 200 and reply.json()['Status'] == 'OK' and reply.json()['Reason'] is None
        _wait_idle(srv, headers)
        assert srv.request('GET', '/api/v1/backup/2', headers=headers).status == 404
        assert srv.app.db.backup_ids() == ['1']
        import os
        assert not os.path.exists(db_path)


def test_export_without_passphrase_strips_passwords():
    # Connection.PrepareBackupForExport: export-passwords=false drops password settings and query keys, keeps auth-username
    with running_server('--webservice-password', PW, '--seed-backups', '1') as srv:
        headers = _auth(srv)
        reply = _export(srv, headers, 1, 'passphrase=&export-passwords=False')
        assert reply.status == 200 and reply.header('Content-Type') == 'application/octet-stream'
        assert reply.header('Content-Disposition') == 'attachment; filename=Documents-duplicati-config.json'
        doc = json.loads(reply.body)
        assert list(doc) == ['CreatedByVersion', 'Schedule', 'Backup', 'DisplayNames']
        assert 'auth-password' not in doc['Backup']['TargetURL'] and 'auth-username=AKIAEXAMPLE1' in doc['Backup']['TargetURL']
        assert 'passphrase' not in [s['Name'] for s in doc['Backup']['Settings']]
        assert not doc['Backup']['DBPath'].startswith('/')  # relative to the data folder
        assert reply.body.startswith(b'{\n  "CreatedByVersion": ')
        full = json.loads(_export(srv, headers, 1, 'export-passwords=true').body)
        assert 'auth-password=s3cr3t-key-1' in full['Backup']['TargetURL']


def test_export_with_passphrase_is_aescrypt_v2():
    with running_server('--webservice-password', PW, '--seed-backups', '1') as srv:
        headers = _auth(srv)
        reply = _export(srv, headers, 1, 'passphrase=s%C3%A9cret&export-passwords=True')
        assert reply.header('Content-Disposition') == 'attachment; filename=Documents-duplicati-config.json.aes'
        assert reply.body[:4] == b'AES\x02'
        out = io.BytesIO()
        pyAesCrypt.decryptStream(io.BytesIO(reply.body), out, 'sécret', 64 * 1024)
        assert json.loads(out.getvalue())['Backup']['Name'] == 'Documents'


def test_export_token_rules():
    with running_server('--webservice-password', PW, '--seed-backups', '1') as srv:
        headers = _auth(srv)
        missing = srv.request('GET', '/api/v1/backup/1/export')
        assert missing.status == 400 and missing.body == b''
        garbage = srv.request('GET', '/api/v1/backup/1/export?token=abc')
        assert garbage.status == 500 and garbage.json() == {'Error': 'An error occurred', 'Code': 500}
        other = srv.request('POST', '/api/v1/auth/issuetoken/bugreport', headers=headers).json()['Token']
        wrong_op = srv.request('GET', '/api/v1/backup/1/export?token=' + other)
        assert wrong_op.status == 401 and wrong_op.json() == {'Error': 'Invalid operation', 'Code': 401}


def test_import_name_clash_and_missing_passphrase():
    # ServerUtil Import.cs / Backups.cs: JSON body with base64 config; BackupListService.Import: direct resolves a clash with " (n)"
    with running_server('--webservice-password', PW, '--seed-backups', '1') as srv:
        headers = _auth(srv)
        stripped = _export(srv, headers, 1, 'export-passwords=false').body
        body = {'config': base64.b64encode(stripped).decode(), 'import_metadata': False, 'passphrase': None, 'direct': True}
        refused = srv.request('POST', '/api/v1/backups/import', json_body=body, headers=headers)
        assert refused.status == 500 and refused.json() == {'Error': 'Failed to import backup: Missing passphrase', 'Code': 500}
        body['replace_settings'] = {'settings.passphrase': 'new-pass', 'targeturl': 'file:///mnt/backup'}
        first = srv.request('POST', '/api/v1/backups/import', json_body=body, headers=headers)
        assert first.status == 200 and first.json() == {'Id': '2', 'data': None}
        second = srv.request('POST', '/api/v1/backups/import', json_body=body, headers=headers).json()
        names = [b['Backup']['Name'] for b in srv.request('GET', '/api/v1/backups', headers=headers).json()]
        assert names == ['Documents', 'Documents (1)', 'Documents (2)'] and second['Id'] == '3'
        imported = srv.request('GET', '/api/v1/backup/2', headers=headers).json()
        assert imported['Backup']['TargetURL'] == 'file:///mnt/backup' and imported['Backup']['Metadata'] == {}
        assert imported['Schedule']['Tags'] == ['ID=2'] and imported['Schedule']['AllowedDays'] == ['mon', 'tue', 'wed', 'thu', 'fri']
        cmdline = srv.request('POST', '/api/v1/backups/import', json_body=dict(body, cmdline=True), headers=headers)
        assert cmdline.json() == {'Error': 'Failed to import backup: Import from commandline not yet implemented', 'Code': 500}


def test_import_encrypted_file_and_metadata():
    with running_server('--webservice-password', PW, '--seed-backups', '1') as srv:
        headers = _auth(srv)
        encrypted = _export(srv, headers, 1, 'passphrase=filepw&export-passwords=true').body
        body = {'config': base64.b64encode(encrypted).decode(), 'import_metadata': True, 'passphrase': 'wrong', 'direct': True}
        wrong = srv.request('POST', '/api/v1/backups/import', json_body=body, headers=headers)
        assert wrong.status == 500 and wrong.json()['Error'].startswith('Failed to import backup: ')
        body['passphrase'] = 'filepw'
        ok = srv.request('POST', '/api/v1/backups/import', json_body=body, headers=headers).json()
        imported = srv.request('GET', '/api/v1/backup/%s' % ok['Id'], headers=headers).json()['Backup']
        assert imported['Name'] == 'Documents (1)' and imported['Metadata']['BackupListCount'] == '5'
        preview = srv.request('POST', '/api/v1/backups/import', json_body=dict(body, direct=False), headers=headers).json()
        assert preview['Id'] is None and preview['data']['Backup']['Name'] == 'Documents'
