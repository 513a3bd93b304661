# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.duplicati.fleet.plugins.module_utils.backup_config import backup_details, parse_metadata_date
from ansible_collections.duplicati.fleet.plugins.modules import backup_info
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import connection, run_module, server


def test_lists_every_backup_without_secrets(monkeypatch):
    with server('--seed-backups', '3') as harness:
        result = run_module(monkeypatch, backup_info, connection(harness))
    assert result['failed'] is False and result['changed'] is False
    assert [b['name'] for b in result['backups']] == ['Documents', 'Photos', 'Server config']
    first = result['backups'][0]
    assert first['id'] == '1'
    assert first['description'] == 'Office documents and mail'
    assert first['schedule']['repeat'] == '1D'
    assert first['schedule']['allowed_days'] == ['mon', 'tue', 'wed', 'thu', 'fri']
    assert first['metadata']['BackupListCount'] == '5'
    assert 'details' not in first
    text = repr(result)
    assert 's3cr3t-key' not in text and 'backup-passphrase' not in text
    definition = first['definition']
    assert definition['passphrase'] == '********' and definition['target_url'].endswith('&auth-username=********&auth-password=********')
    assert definition['sources'] == ['/home/alice/Documents/', '/home/alice/Mail/'] and definition['filters'] == ['-*.tmp', '-[.*/cache/.*]']
    assert definition['schedule'] == {'repeat': '1D', 'time': '02:30', 'allowed_days': ['mon', 'tue', 'wed', 'thu', 'fri']}
    assert definition['settings']['--exclude-files-attributes'] == 'temporary,system' and 'passphrase' not in definition['settings']


def test_one_backup_by_name_case_insensitive_with_details(monkeypatch):
    with server('--seed-backups', '2') as harness:
        result = run_module(monkeypatch, backup_info, connection(harness, backup='pHoToS', detailed=True))
    assert [b['id'] for b in result['backups']] == ['2']
    details = result['backups'][0]['details']
    assert details['backup_list_count'] == 6
    assert details['source_files_size'] == 2147483649
    assert details['target_files_size'] == 734003200 + 1048576
    assert details['last_backup_duration'] == '00:03:12.4410000'
    assert details['last_backup_date'].endswith('Z') and details['last_backup_date'][4] == '-'
    assert details['last_error_date'] is None and details['last_error_message'] is None


def test_one_backup_by_id(monkeypatch):
    with server('--seed-backups', '2') as harness:
        result = run_module(monkeypatch, backup_info, connection(harness, backup='2'))
    assert [b['name'] for b in result['backups']] == ['Photos']


def test_unknown_backup_fails_naming_the_known_ones(monkeypatch):
    with server('--seed-backups', '2') as harness:
        result = run_module(monkeypatch, backup_info, connection(harness, backup='Nope'))
    assert result['failed'] is True
    assert "No backup found with ID or name 'Nope'" in result['msg']
    assert 'Documents (1)' in result['msg']


def test_wrong_password_fails_clearly(monkeypatch):
    with server('--seed-backups', '1') as harness:
        result = run_module(monkeypatch, backup_info, connection(harness, password='wrong password'))
    assert result['failed'] is True
    assert 'password was refused' in result['msg']
    assert 'wrong password' not in result['msg']


def test_unreachable_server_fails_clearly(monkeypatch):
    result = run_module(monkeypatch, backup_info, dict(host_url='http://127.0.0.1:9/', password='x', timeout=2))
    assert result['failed'] is True
    assert '127.0.0.1:9' in result['msg']


def test_details_parse_serverutil_metadata():
    details = backup_details({'LastBackupDate': '20260822T010000Z', 'LastErrorDate': '20260823T020000Z',
                              'LastErrorMessage': 'boom', 'SourceFilesSize': 'x'})
    assert details['last_backup_date'] == '2026-08-22T01:00:00Z'
    assert details['last_error_date'] == '2026-08-23T02:00:00Z'
    assert details['last_error_message'] == 'boom'
    assert details['source_files_size'] is None
    older = backup_details({'LastBackupDate': '20260824T010000Z', 'LastErrorDate': '20260823T020000Z', 'LastErrorMessage': 'old'})
    assert older['last_error_message'] is None
    assert parse_metadata_date('') is None
    assert parse_metadata_date('yesterday') == 'yesterday'
