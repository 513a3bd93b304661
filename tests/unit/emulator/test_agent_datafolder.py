# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data folder resolution and machine identity of the stand-in (DataFolderManager.cs, DataFolderLocator.cs)."""

import json
import os
import re
import stat
import subprocess
import sys

import pytest

from ansible_collections.duplicati.fleet.tests.emulator import child_environment
from ansible_collections.duplicati.fleet.tests.emulator.agent import datafolder

MODULE = 'ansible_collections.duplicati.fleet.tests.emulator.agent'


def run_agent(args, env, cwd):
    full = child_environment({'PATH': os.environ.get('PATH', '')}, **env)
    return subprocess.run([sys.executable, '-m', MODULE] + args, env=full, cwd=str(cwd), check=False, capture_output=True,
                          text=True, timeout=60)


def fake_registered(folder):
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o700)
    with open(os.path.join(folder, 'agent.json'), 'w') as handle:
        json.dump({'jwt': 'token', 'serverUrl': 'wss://console.test'}, handle)


@pytest.mark.parametrize('case', ['default', 'xdg', 'duplicati_home', 'env_datafolder', 'arg_datafolder', 'portable'])
def test_register_uses_the_resolved_data_folder(tmp_path, case):
    # DataFolderManager.GetDataFolder order: --server-datafolder / DUPLICATI__SERVER_DATAFOLDER, --portable-mode, DUPLICATI_HOME, XDG/~/.config
    home = tmp_path / 'home'
    home.mkdir()
    env = {'HOME': str(home), 'DUPLICATI_EMULATOR_INSTALL_DIR': str(tmp_path / 'inst')}
    args = ['register', 'http://127.0.0.1:9/never']
    expected = home / '.config' / 'Duplicati'
    if case == 'xdg':
        env['XDG_CONFIG_HOME'] = str(tmp_path / 'xdg')
        expected = tmp_path / 'xdg' / 'Duplicati'
    elif case == 'duplicati_home':
        env['DUPLICATI_HOME'] = str(tmp_path / 'dh')
        env['XDG_CONFIG_HOME'] = str(tmp_path / 'xdg')
        expected = tmp_path / 'dh'
    elif case == 'env_datafolder':
        env['DUPLICATI_HOME'] = str(tmp_path / 'dh')
        env['DUPLICATI__SERVER_DATAFOLDER'] = str(tmp_path / 'sdf')
        expected = tmp_path / 'sdf'
    elif case == 'arg_datafolder':
        # register has no --server-datafolder option, run has one; both read the raw process args
        env['DUPLICATI__SERVER_DATAFOLDER'] = str(tmp_path / 'sdf')
        args = ['run', '--agent-register-only', '--agent-registration-url=http://127.0.0.1:9/never',
                '--server-datafolder=%s' % (tmp_path / 'arg')]
        expected = tmp_path / 'arg'
    elif case == 'portable':
        env['DUPLICATI_HOME'] = str(tmp_path / 'dh')
        args = ['run', '--agent-register-only', '--agent-registration-url=http://127.0.0.1:9/never', '--portable-mode']
        expected = tmp_path / 'inst' / 'data'
    fake_registered(str(expected))
    os.chmod(str(expected), 0o700)
    result = run_agent(args, env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    install = (expected / 'installation.txt').read_bytes().decode('utf-8')
    assert re.match(r'^[0-9a-f]{32}\r\n\r\nThis file is used to track the number of unique installs\.', install)
    machine = (expected / 'machineid.txt').read_bytes().decode('utf-8')
    assert machine.split('\n')[0] == install.split('\r\n')[0]


def test_new_folder_is_0700_and_existing_loose_folder_is_refused(tmp_path):
    home = tmp_path / 'home'
    home.mkdir()
    env = {'HOME': str(home), 'DUPLICATI_EMULATOR_RETRY_SECONDS': '0'}
    result = run_agent(['clear'], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    folder = home / '.config' / 'Duplicati'
    assert stat.S_IMODE(os.stat(str(folder)).st_mode) == 0o700
    os.chmod(str(folder), 0o755)
    result = run_agent(['clear'], env, tmp_path)
    assert result.returncode == 2
    assert 'ErrorID: InsecureDataFolderPermissions' in result.stdout
    result = run_agent(['clear'], dict(env, DUPLICATI__ALLOW_INSECURE_DATAFOLDER='true'), tmp_path)
    assert result.returncode == 0


def test_no_home_falls_back_to_var_lib(monkeypatch, tmp_path):
    # DataFolderLocator.GetDefaultStorageFolder: ApplicationData '' -> relative var/lib/Duplicati
    monkeypatch.setattr(datafolder, '_home_directory', lambda environ: '')
    assert datafolder.default_storage_folder_internal('agent.json', {}) == os.path.join('var', 'lib', 'Duplicati')
    assert datafolder.resolve_data_folder([], {}, str(tmp_path)) == (os.path.join('var', 'lib', 'Duplicati') + os.sep, False)


def test_existing_identity_files_are_kept(tmp_path):
    folder = tmp_path / 'df'
    folder.mkdir(mode=0o700)
    (folder / 'installation.txt').write_text('\n  abcdef0123456789abcdef0123456789  \nrest\n')
    datafolder.open_data_folder([], {'DUPLICATI_HOME': str(folder)}, str(tmp_path))
    assert datafolder.install_id(str(folder)) == 'abcdef0123456789abcdef0123456789'
    assert datafolder.machine_id(str(folder)) == 'abcdef0123456789abcdef0123456789'
    (folder / 'machineid.txt').write_text('my-machine\n')
    assert datafolder.machine_id(str(folder)) == 'my-machine'


def test_extract_option_slim():
    assert datafolder.extract_option_slim('server-datafolder', ['--SERVER-DATAFOLDER=/a', '--server-datafolder', '/b'], {}) == '/b'
    assert datafolder.extract_option_slim('server-datafolder', [], {'DUPLICATI__SERVER_DATAFOLDER': '/env'}) == '/env'
    assert datafolder.extract_option_slim('portable-mode', ['--portable-mode', '--x'], {}) == ''
    assert datafolder.portable_mode(['--portable-mode=false'], {}) is False
    assert datafolder.portable_mode(['--portable-mode'], {}) is True
