# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups against the emulated server: list, find (ID or name, case-insensitive), run,
the ParsedResult of the last log entry, delete with its flags, export and import."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import time

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import backups, server_state
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import (
    PASSWORD, calls, client, server)


def _wait_idle(c, backup_id, limit=20.0):
    deadline = time.time() + limit
    while time.time() < deadline:
        if not server_state.backup_is_busy(server_state.get_state(c), backup_id):
            return
        time.sleep(0.1)
    raise AssertionError('backup %s still busy' % backup_id)


@pytest.fixture
def seeded():
    with server('--seed-backups', '3', '--run-duration', '0.3') as h:
        yield h, client(h, password=PASSWORD)


def test_list_and_get(seeded):
    h, c = seeded
    entries = backups.list_backups(c)
    assert [backups.backup_name(e) for e in entries] == ['Documents', 'Photos', 'Server config']
    assert [backups.backup_id(e) for e in entries] == ['1', '2', '3']
    one = backups.get_backup(c, '2')
    assert one['Backup']['Name'] == 'Photos'
    with pytest.raises(DuplicatiError) as err:
        backups.get_backup(c, '99')
    assert err.value.status == 404
    assert 'there is no backup with ID 99 (HTTP 404)' in str(err.value)


def test_find_by_id_or_name_case_insensitively(seeded):
    h, c = seeded
    assert backups.backup_id(backups.find_backup(c, '3')) == '3'
    assert backups.backup_id(backups.find_backup(c, 'photos')) == '2'
    assert backups.backup_id(backups.find_backup(c, 'SERVER CONFIG')) == '3'
    assert backups.find_backup(c, 'Photo') is None
    with pytest.raises(DuplicatiError) as err:
        backups.require_backup(c, 'Nope')
    assert "No backup found with ID or name 'Nope'" in str(err.value)
    assert 'Documents (1)' in str(err.value)
    with pytest.raises(DuplicatiError, match='No backup given'):
        backups.find_backup(c, '')


def test_run_then_parsed_result_of_the_latest_log(seeded):
    h, c = seeded
    assert backups.latest_log_entry(c, '1') is None  # never ran here
    h.request('POST', '/_emulator/backup/1/next-result', json_body={'result': 'Warning'})
    answer = backups.run_backup(c, '1', skip_queue=True)
    assert answer['Status'] == 'OK' and isinstance(answer['ID'], int)
    assert calls(h, 'POST', '/api/v1/backup/1/run') == 1
    _wait_idle(c, '1')
    assert backups.parsed_result(backups.latest_log_entry(c, '1')) == 'Warning'
    assert backups.task_state(c, answer['ID'])['Status'] == 'Completed'
    assert backups.task_state(c, 987654) is None  # unknown to the server: 404
    assert backups.parsed_result({'Message': 'not json'}) is None
    assert backups.parsed_result({'Message': json.dumps({'ParsedResult': 'Success'})}) == 'Success'


def test_run_unknown_backup(seeded):
    h, c = seeded
    with pytest.raises(DuplicatiError) as err:
        backups.run_backup(c, '42')
    assert 'there is no backup with ID 42' in str(err.value)


def test_delete_with_flags_and_refusal_while_running():
    with server('--seed-backups', '3', '--run-duration', '3') as h:
        c = client(h, password=PASSWORD)
        backups.run_backup(c, '2')
        deadline = time.time() + 10
        while (server_state.get_state(c).get('ActiveTask') or {}).get('Item2') != '2' and time.time() < deadline:
            time.sleep(0.05)
        with pytest.raises(DuplicatiError) as err:
            backups.delete_backup(c, '2')
        assert 'Failed to delete the backup 2 on %s: the backup is running; set force to stop it first (HTTP 500)' % h.url in str(err.value)
        assert 'Server error (500): backup-in-progress' in str(err.value)
        assert calls(h, 'DELETE', '/api/v1/backup/2') == 1  # a refused DELETE is not repeated
        _wait_idle(c, '2')
        answer = backups.delete_backup(c, '2', delete_remote_files=False, delete_local_db=True)
        assert answer['Status'] == 'OK'
        deadline = time.time() + 10
        while backups.find_backup(c, '2') is not None and time.time() < deadline:
            time.sleep(0.1)
        assert backups.find_backup(c, '2') is None
        with pytest.raises(DuplicatiError, match='there is no backup with ID 2'):
            backups.delete_backup(c, '2')


def test_export_plain_strips_passwords_and_import_it_back(seeded):
    h, c = seeded
    data, name = backups.export_backup(c, '1')
    doc = json.loads(data.decode('utf-8'))
    assert doc['Backup']['Name'] == 'Documents'
    assert 'auth-password' not in doc['Backup']['TargetURL']
    assert not any(s['Name'] == 'passphrase' for s in doc['Backup']['Settings'])
    assert name and name.endswith('-duplicati-config.json')
    assert calls(h, 'POST', '/api/v1/auth/issuetoken/export') == 1
    imported = backups.import_backup(c, data, backup_passphrase='new-pass', backup_url='file:///tmp/target')
    assert imported['Backup']['Name'].startswith('Documents')
    assert imported['Backup']['ID'] not in ('1', '2', '3')
    assert len(backups.list_backups(c)) == 4


def test_export_with_passwords_keeps_them(seeded):
    h, c = seeded
    data, dummy = backups.export_backup(c, '1', export_passwords=True)
    assert 'auth-password' in json.loads(data.decode('utf-8'))['Backup']['TargetURL']


def test_export_encrypted_and_import_needs_the_passphrase(seeded):
    h, c = seeded
    data, name = backups.export_backup(c, '3', passphrase='export secret', export_passwords=True)
    assert data[:3] == b'AES'
    assert name.endswith('.json.aes')
    with pytest.raises(DuplicatiError) as err:
        backups.import_backup(c, data)
    assert 'encrypted' in str(err.value) and 'passphrase' in str(err.value)
    assert calls(h, 'POST', '/api/v1/backups/import') == 0  # refused before anything was sent
    imported = backups.import_backup(c, data, passphrase='export secret')
    assert imported['Backup']['Name'].startswith('Server config')


def test_import_garbage_is_a_server_error(seeded):
    h, c = seeded
    with pytest.raises(DuplicatiError) as err:
        backups.import_backup(c, b'{"not": "a backup"')
    assert str(err.value).startswith('Failed to import a backup configuration into %s' % h.url)
    assert 'Server error' in str(err.value)
    with pytest.raises(DuplicatiError, match='empty'):
        backups.import_backup(c, b'')
