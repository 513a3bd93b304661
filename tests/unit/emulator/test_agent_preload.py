# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preload handling of the stand-ins (PreloadSettingsLoader.cs of master)."""

import json
import os

import pytest

from ansible_collections.duplicati.fleet.tests.emulator.agent import preload
from ansible_collections.duplicati.fleet.tests.emulator.agent.errors import UserInformationError


def write(path, payload, mode=0o700):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.chmod(os.path.dirname(path), mode)
    with open(path, 'w') as handle:
        handle.write(payload if isinstance(payload, str) else json.dumps(payload))
    return path


@pytest.fixture
def dirs(tmp_path):
    data = tmp_path / 'data'
    install = tmp_path / 'install'
    return str(data), str(install), tmp_path


def test_later_files_override_and_specific_beats_star(dirs):
    # PreloadSettingsLoader: data folder < install dir < env file; exe bucket over '*'
    data, install, tmp = dirs
    write(os.path.join(data, 'preload.json'), {'env': {'*': {'A': 'data', 'B': 'data'}, 'agent': {'C': 'data'}}})
    write(os.path.join(install, 'preload.json'), {'env': {'*': {'A': 'install'}}})
    envfile = write(str(tmp / 'e' / 'p.json'), {'env': {'*': {'C': 'star-env'}, 'agent': {'B': 'agent-env'}}})
    env = {'DUPLICATI_PRELOAD_SETTINGS': envfile}
    merged, args, dummy = preload.merged_settings('agent', data, install, env)
    assert merged == {'A': 'install', 'B': 'agent-env', 'C': 'data'}
    assert args == []


def test_bang_reads_only_that_file(dirs):
    # PreloadSettingsLoader: '!' prefix
    data, install, tmp = dirs
    write(os.path.join(data, 'preload.json'), {'env': {'*': {'A': 'data'}}})
    envfile = write(str(tmp / 'e' / 'p.json'), {'env': {'*': {'B': 'only'}}})
    merged, dummy, dummy = preload.merged_settings('agent', data, install, {'DUPLICATI_PRELOAD_SETTINGS': '!' + envfile})
    assert merged == {'B': 'only'}


def test_portable_mode_skips_the_data_folder(dirs):
    data, install, dummy = dirs
    write(os.path.join(data, 'preload.json'), {'env': {'*': {'A': 'data'}}})
    write(os.path.join(install, 'preload.json'), {'env': {'*': {'B': 'install'}}})
    assert preload.merged_settings('agent', data, install, {}, portable=True)[0] == {'B': 'install'}


def test_env_is_not_overridden_and_args_not_duplicated(dirs):
    # PreloadSettingsLoader: env only if unset; args appended only if the name is not on the command line
    data, install, dummy = dirs
    write(os.path.join(install, 'preload.json'), {
        'env': {'agent': {'SET': 'preload', 'NEW': 'preload'}},
        'args': {'*': ['--webservice-port=1', '--agent-registration-url=http://star'],
                 'agent': ['--agent-registration-url=http://agent', '--disable-pre-shared-key']}})
    environ = {'SET': 'process'}
    argv, dummy = preload.configure(['run', '--webservice-port', '9'], 'agent', data, install, environ)
    assert environ == {'SET': 'process', 'NEW': 'preload'}
    assert argv == ['run', '--webservice-port', '9', '--agent-registration-url=http://agent', '--disable-pre-shared-key']


def test_args_dedup_keeps_the_last_by_name_case_insensitive(dirs):
    data, install, dummy = dirs
    write(os.path.join(install, 'preload.json'), {'args': {'*': ['--A=1', '--b=1'], 'server': ['--a=2']}})
    assert preload.merged_settings('server', data, install, {})[1] == ['--b=1', '--a=2']


def test_args_dedup_index_quirk_of_the_real_loader(dirs):
    # PreloadSettingsLoader removes by a stored index that is not updated after earlier removals
    data, install, dummy = dirs
    write(os.path.join(install, 'preload.json'), {'args': {'*': ['--a=1', '--b=1', '--a=2', '--b=2']}})
    assert preload.merged_settings('agent', data, install, {})[1] == ['--b=1', '--b=2']


def test_keys_are_case_sensitive_and_bad_files_are_skipped(dirs):
    data, install, tmp = dirs
    write(os.path.join(install, 'preload.json'), {'env': {'Agent': {'A': '1'}, 'agent': {'B': '2'}}, 'Env': {'*': {'C': '3'}}})
    bad = write(str(tmp / 'e' / 'bad.json'), {'env': {'*': {'D': 4}}})
    merged, dummy, dummy = preload.merged_settings('agent', data, install, {'DUPLICATI_PRELOAD_SETTINGS': bad})
    assert merged == {'B': '2'}
    write(str(tmp / 'e' / 'broken.json'), '{not json')
    assert preload.merged_settings('agent', data, install, {'DUPLICATI_PRELOAD_SETTINGS': str(tmp / 'e' / 'broken.json')})[0] == {'B': '2'}


def test_relative_env_path_is_skipped(dirs):
    data, install, dummy = dirs
    assert preload.merged_settings('agent', data, install, {'DUPLICATI_PRELOAD_SETTINGS': 'relative.json'}) == ({}, [], {})


def test_insecure_data_folder_preload_is_refused(dirs):
    # PreloadSettingsLoader (master): data-folder preload needs a user-only directory
    data, install, dummy = dirs
    write(os.path.join(data, 'preload.json'), {'env': {'*': {'A': '1'}}}, mode=0o755)
    with pytest.raises(UserInformationError) as info:
        preload.merged_settings('agent', data, install, {})
    assert info.value.help_id == 'InsecurePreloadFilePermissions'
    assert preload.merged_settings('agent', data, install, {}, allow_insecure=True)[0] == {'A': '1'}


def test_db_section_is_merged(dirs):
    data, install, dummy = dirs
    write(os.path.join(install, 'preload.json'), {'db': {'*': {'x': '1', 'y': '1'}, 'server': {'y': '2'}}})
    assert preload.merged_settings('server', data, install, {})[2] == {'x': '1', 'y': '2'}
