# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.duplicati.fleet.plugins.modules import preload
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import run_module

URL = 'https://console.example.test/remotecontrol/register?token=SecretTok3n123'


def run(monkeypatch, args, check_mode=False):
    return run_module(monkeypatch, preload, args, check_mode, invocation=True)


def test_creates_folder_and_file_private_then_idempotent(monkeypatch, tmp_path):
    path = tmp_path / 'usr' / 'lib' / 'duplicati' / 'preload.json'
    args = {'path': str(path), 'env': {'agent': {'DUPLICATI__REGISTER_REMOTE_CONTROL': URL}},
            'args': {'*': ['--log-level=Information']}, 'db': {'server': {'number-of-retries': 5}}}
    result = run(monkeypatch, args)
    assert result['changed']
    assert json.loads(path.read_text()) == {'env': {'agent': {'DUPLICATI__REGISTER_REMOTE_CONTROL': URL}},
                                            'db': {'server': {'number-of-retries': '5'}},
                                            'args': {'*': ['--log-level=Information']}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    dumped = json.dumps(result)
    assert 'SecretTok3n123' not in dumped
    assert '--log-level=Information' in result['diff']['after']
    again = run(monkeypatch, args)
    assert not again['changed']


def test_merge_keeps_other_entries_and_replace_drops_them(monkeypatch, tmp_path):
    path = tmp_path / 'preload.json'
    path.write_text(json.dumps({'args': {'agent': ['--a=1', '--b=2']}, 'env': {'*': {'X': '1'}}}))
    merged = run(monkeypatch, {'path': str(path), 'args': {'agent': ['--B=3', '--c=4']}})
    assert merged['changed']
    assert json.loads(path.read_text()) == {'env': {'*': {'X': '1'}}, 'args': {'agent': ['--a=1', '--B=3', '--c=4']}}
    replaced = run(monkeypatch, {'path': str(path), 'merge': False, 'env': {'server': {'Y': '2'}}})
    assert replaced['changed']
    assert json.loads(path.read_text()) == {'env': {'server': {'Y': '2'}}}


def test_absent_removes_names_then_the_file(monkeypatch, tmp_path):
    path = tmp_path / 'preload.json'
    path.write_text(json.dumps({'args': {'agent': ['--a=1', '--b=2']}, 'env': {'agent': {'X': '1', 'Y': '2'}}}))
    result = run(monkeypatch, {'path': str(path), 'state': 'absent', 'args': {'agent': ['--a']}, 'env': {'agent': {'x': ''}}})
    assert result['changed']
    assert json.loads(path.read_text()) == {'args': {'agent': ['--b=2']}, 'env': {'agent': {'Y': '2'}}}
    assert not run(monkeypatch, {'path': str(path), 'state': 'absent', 'args': {'agent': ['--a']}})['changed']
    checked = run(monkeypatch, {'path': str(path), 'state': 'absent'}, check_mode=True)
    assert checked['changed'] and path.exists()
    assert run(monkeypatch, {'path': str(path), 'state': 'absent'})['changed']
    assert not path.exists()
    assert not run(monkeypatch, {'path': str(path), 'state': 'absent'})['changed']


def test_check_mode_writes_nothing(monkeypatch, tmp_path):
    path = tmp_path / 'dir' / 'preload.json'
    result = run(monkeypatch, {'path': str(path), 'args': {'agent': ['--x=1']}}, check_mode=True)
    assert result['changed'] and not os.path.exists(str(tmp_path / 'dir'))


@pytest.mark.parametrize('args,message', [
    ({'args': {'Agent': ['--x=1']}}, "must be written 'agent'"),
    ({'args': {'nosuchtool': ['--x=1']}}, 'unknown executable key'),
    ({'args': {'agent': ['--x', '1']}}, 'not of the form --name=value'),
    ({'db': {'server': {'--x': '1', 'x': '2'}}}, 'both as'),
])
def test_invalid_input_is_refused_and_nothing_written(monkeypatch, tmp_path, args, message):
    path = tmp_path / 'preload.json'
    path.write_text('{"args": {"agent": ["--keep=1"]}}')
    result = run(monkeypatch, dict(args, path=str(path)))
    assert result['failed'] and message in result['msg']
    assert path.read_text() == '{"args": {"agent": ["--keep=1"]}}'


def test_mode_change_alone_is_a_change(monkeypatch, tmp_path):
    path = tmp_path / 'preload.json'
    run(monkeypatch, {'path': str(path), 'args': {'agent': ['--x=1']}})
    result = run(monkeypatch, {'path': str(path), 'args': {'agent': ['--x=1']}, 'mode': '0640'})
    assert result['changed'] and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_backup(monkeypatch, tmp_path):
    path = tmp_path / 'preload.json'
    path.write_text('{"args": {"agent": ["--x=1"]}}')
    result = run(monkeypatch, {'path': str(path), 'args': {'agent': ['--x=2']}, 'backup': True})
    assert os.path.exists(result['backup_file'])


def test_db_names_given_with_dashes(monkeypatch, tmp_path):
    # Connection.SetPreloadSettingsIfChanged keeps a leading "--" and adds it to names without one.
    path = tmp_path / 'preload.json'
    path.write_text(json.dumps({'db': {'server': {'update-channel': 'stable', 'keep': '1'}}}))
    result = run(monkeypatch, {'path': str(path), 'db': {'server': {'--update-channel': 'beta'}}})
    assert result['changed'] and not result['failed'], result
    assert json.loads(path.read_text()) == {'db': {'server': {'keep': '1', '--update-channel': 'beta'}}}
    assert not run(monkeypatch, {'path': str(path), 'db': {'server': {'--update-channel': 'beta'}}})['changed']
    removed = run(monkeypatch, {'path': str(path), 'state': 'absent', 'db': {'server': {'update-channel': ''}}})
    assert removed['changed'] and json.loads(path.read_text()) == {'db': {'server': {'keep': '1'}}}
