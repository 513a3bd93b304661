# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.duplicati.fleet.plugins.module_utils.aescrypt import encrypt_bytes
from ansible_collections.duplicati.fleet.plugins.modules import backup, backup_info
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import calls, connection, run_module, server, state

PASSPHRASE = 'export passphrase'


def _config(harness, monkeypatch, tmp_path):
    from ansible_collections.duplicati.fleet.plugins.modules import backup_export
    dest = str(tmp_path / 'export.json')
    run_module(monkeypatch, backup_export, connection(harness, backup='Photos', dest=dest, export_passwords=True))
    with open(dest) as handle:
        return json.load(handle)


def _names(harness, monkeypatch):
    return [b['name'] for b in run_module(monkeypatch, backup_info, connection(harness))['backups']]


def test_import_from_encrypted_file_once(monkeypatch, tmp_path):
    with server('--seed-backups', '2') as harness:
        config = _config(harness, monkeypatch, tmp_path)
        src = tmp_path / 'photos.json.aes'
        src.write_bytes(encrypt_bytes(json.dumps(config).encode('utf-8'), PASSPHRASE))
        args = connection(harness, name='Photos copy', src=str(src), passphrase=PASSPHRASE,
                          replace_settings={'description': 'Imported', 'settings.dblock-size': '100mb'})
        check = run_module(monkeypatch, backup, args, check_mode=True)
        assert state(harness)['backups'] == 2
        first = run_module(monkeypatch, backup, args)
        second = run_module(monkeypatch, backup, dict(args, name='PHOTOS COPY'))
        info = run_module(monkeypatch, backup_info, connection(harness, backup='Photos copy'))
        imports = calls(harness, 'POST', '/api/v1/backups/import')
    assert check['changed'] is True and check['backup'] is None and check['diff']['after']['name'] == 'Photos copy'
    assert first['changed'] is True and first['backup']['name'] == 'Photos copy'
    assert second['changed'] is False and second['backup'] == first['backup']
    assert info['backups'][0]['description'] == 'Imported' and info['backups'][0]['metadata'] == {}
    assert imports == 1


def test_import_from_dict_with_metadata(monkeypatch, tmp_path):
    with server('--seed-backups', '2') as harness:
        config = _config(harness, monkeypatch, tmp_path)
        result = run_module(monkeypatch, backup, connection(harness, name='From dict', config=config, import_metadata=True))
        info = run_module(monkeypatch, backup_info, connection(harness, backup='From dict'))
    assert result['changed'] is True
    assert info['backups'][0]['metadata']['BackupListCount'] == '6'


def test_bad_input_is_refused_and_nothing_is_imported(monkeypatch, tmp_path):
    with server('--seed-backups', '1') as harness:
        src = tmp_path / 'x.aes'
        src.write_bytes(encrypt_bytes(b'{"Backup": {"Name": "X"}}', PASSPHRASE))
        wrong = run_module(monkeypatch, backup, connection(harness, name='X', src=str(src), passphrase='wrong'))
        missing = run_module(monkeypatch, backup, connection(harness, name='X', src=str(src)))
        not_export = run_module(monkeypatch, backup, connection(harness, name='X', config={'Name': 'X'}))
        no_file = run_module(monkeypatch, backup, connection(harness, name='X', src=str(tmp_path / 'none')))
        both = run_module(monkeypatch, backup, connection(harness, name='X', src=str(src), config={'Backup': {}}))
        neither = run_module(monkeypatch, backup, connection(harness, name='X'))
        imports = calls(harness, 'POST', '/api/v1/backups/import')
        count = state(harness)['backups']
    assert wrong['failed'] and 'Cannot decrypt' in wrong['msg']
    assert missing['failed'] and 'no passphrase' in missing['msg']
    assert not_export['failed'] and '"Backup"' in not_export['msg']
    assert no_file['failed'] and 'Cannot read' in no_file['msg']
    assert both['failed'] and 'mutually exclusive' in both['msg']
    assert neither['failed'] and 'src' in neither['msg']
    assert imports == 0 and count == 1


def test_absent_by_name_and_id(monkeypatch):
    with server('--seed-backups', '3') as harness:
        check = run_module(monkeypatch, backup, connection(harness, name='photos', state='absent'), check_mode=True)
        assert state(harness)['backups'] == 3
        by_name = run_module(monkeypatch, backup, connection(harness, name='photos', state='absent', delete_local_db=True))
        by_id = run_module(monkeypatch, backup, connection(harness, id='3', state='absent'))
        again = run_module(monkeypatch, backup, connection(harness, name='Photos', state='absent'))
        mismatch = run_module(monkeypatch, backup, connection(harness, id='1', name='Other', state='absent'))
        names = _names(harness, monkeypatch)
    assert check['changed'] is True and check['diff']['before'] == {'id': '2', 'name': 'Photos'}
    assert by_name['changed'] is True and by_id['changed'] is True
    assert again['changed'] is False and again['backup'] is None
    assert mismatch['failed'] and 'nothing was deleted' in mismatch['msg']
    assert names == ['Documents']


def test_replace_settings_are_strings_and_name_wins():
    params = dict(name='Mine', replace_settings={'Name': 'Other', 'settings.keep': 3, 'settings.flag': True, 'skip': None})
    assert backup._replace_settings(params) == {'name': 'Mine', 'settings.keep': '3', 'settings.flag': 'true'}


def test_a_src_that_never_ends_is_refused_without_filling_memory(monkeypatch):
    with server() as harness:
        result = run_module(monkeypatch, backup, connection(harness, name='X', src='/dev/zero'))
        imports = calls(harness, 'POST', '/api/v1/backups/import')
    assert result['failed'] and 'larger than 16 MiB' in result['msg'] and imports == 0
