# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils.aescrypt import decrypt_bytes
from ansible_collections.duplicati.fleet.plugins.module_utils.backup_config import same_configuration, summarize_config
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.modules import backup_export
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import connection, run_module, server

PASSPHRASE = 'export passphrase'


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_encrypted_export_is_private_idempotent_and_diff_shows_no_secret(monkeypatch, tmp_path):
    dest = str(tmp_path / 'documents.json.aes')
    with server('--seed-backups', '1') as harness:
        args = connection(harness, backup='Documents', dest=dest, passphrase=PASSPHRASE)
        check = run_module(monkeypatch, backup_export, args, check_mode=True)
        assert not os.path.exists(dest)
        first = run_module(monkeypatch, backup_export, args)
        content = open(dest, 'rb').read()
        mtime = os.stat(dest).st_mtime_ns
        second = run_module(monkeypatch, backup_export, args)
    assert check['changed'] is True and check['encrypted'] is True
    assert first['changed'] is True and first['backup_id'] == '1'
    assert content[:3] == b'AES' and _mode(dest) == 0o600
    config = json.loads(decrypt_bytes(content, PASSPHRASE).decode('utf-8'))
    assert 's3cr3t-key-1' in config['Backup']['TargetURL']  # passwords are exported with a passphrase by default
    assert first['diff']['before'] == {} and first['diff']['after']['name'] == 'Documents'
    assert 's3cr3t' not in json.dumps(first['diff']) and 'backup-passphrase' not in json.dumps(first['diff'])
    assert second['changed'] is False and 'diff' not in second
    assert os.stat(dest).st_mtime_ns == mtime and open(dest, 'rb').read() == content


def test_plain_export_leaves_passwords_out_and_mode_is_fixed_alone(monkeypatch, tmp_path):
    dest = str(tmp_path / 'documents.json')
    with server('--seed-backups', '1') as harness:
        first = run_module(monkeypatch, backup_export, connection(harness, backup='1', dest=dest, mode='0640'))
        content = open(dest, 'rb').read()
        mode_only = run_module(monkeypatch, backup_export, connection(harness, backup='1', dest=dest, mode=0o600))
        with_passwords = run_module(monkeypatch, backup_export, connection(harness, backup='1', dest=dest, export_passwords=True))
    assert first['changed'] is True and first['encrypted'] is False
    assert b's3cr3t-key' not in content and b'backup-passphrase' not in content
    assert json.loads(content.decode('utf-8'))['Backup']['Name'] == 'Documents'
    assert mode_only['changed'] is True and 'diff' not in mode_only and _mode(dest) == 0o600
    assert with_passwords['changed'] is True and b's3cr3t-key' in open(dest, 'rb').read()


def test_wrong_passphrase_on_the_existing_file_replaces_it(monkeypatch, tmp_path):
    dest = str(tmp_path / 'x.aes')
    with server('--seed-backups', '1') as harness:
        run_module(monkeypatch, backup_export, connection(harness, backup='1', dest=dest, passphrase='first passphrase'))
        result = run_module(monkeypatch, backup_export, connection(harness, backup='1', dest=dest, passphrase=PASSPHRASE))
    assert result['changed'] is True and result['diff']['before'] == {'unreadable': True}
    assert decrypt_bytes(open(dest, 'rb').read(), PASSPHRASE)


def test_failures_write_nothing(monkeypatch, tmp_path):
    with server('--seed-backups', '1') as harness:
        unknown = run_module(monkeypatch, backup_export, connection(harness, backup='nope', dest=str(tmp_path / 'a.json')))
        no_folder = run_module(monkeypatch, backup_export, connection(harness, backup='1', dest=str(tmp_path / 'no' / 'a.json')))
        bad_mode = run_module(monkeypatch, backup_export, connection(harness, backup='1', dest=str(tmp_path / 'a.json'), mode='u+rw'))
    assert unknown['failed'] and 'No backup found' in unknown['msg']
    assert no_folder['failed'] and 'does not exist' in no_folder['msg']
    assert bad_mode['failed'] and 'Invalid mode' in bad_mode['msg']
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize('blank', ['', ' ', '\t \n'])
def test_blank_passphrase_is_refused_and_nothing_is_written(monkeypatch, tmp_path, blank):
    dest = str(tmp_path / 'documents.json.aes')
    with server('--seed-backups', '1') as harness:
        mark = len(harness.app.log)
        result = run_module(monkeypatch, backup_export, connection(harness, backup='1', dest=dest, passphrase=blank))
        assert harness.app.log[mark:] == []  # refused before the server is asked
    assert result['failed'] is True
    assert 'passphrase is empty or only whitespace' in result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_run_state_is_not_a_change_of_configuration():
    base = {'Backup': {'Name': 'A', 'Metadata': {'LastBackupDate': '1'}, 'Settings': [{'Name': 'passphrase', 'Value': 'x'}]},
            'Schedule': {'Time': '2026-08-22T02:30:00Z', 'LastRun': '2026-08-21T02:30:00Z', 'Repeat': '1D'}}
    later = json.loads(json.dumps(base))
    later['Backup']['Metadata'] = {'LastBackupDate': '2'}
    later['Schedule'].update(Time='2026-08-23T02:30:00Z', LastRun='2026-08-22T02:30:00Z')
    assert same_configuration(base, later)
    moved = json.loads(json.dumps(base))
    moved['Schedule']['Time'] = '2026-08-22T03:30:00Z'
    assert not same_configuration(base, moved)
    summary = summarize_config(base, True)
    assert summary['settings'] == ['passphrase'] and 'x' not in json.dumps(summary)


def test_file_mode_parsing():
    assert backup_export.file_mode('0600') == 0o600
    assert backup_export.file_mode(384) == 0o600
    with pytest.raises(DuplicatiError):
        backup_export.file_mode('rw-------')
