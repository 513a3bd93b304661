# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError


def exists_in(*paths):
    present = set(paths)
    return lambda p: p in present


NOTHING = exists_in()


def test_normalize_os():
    assert df.normalize_os('Linux') == df.LINUX
    assert df.normalize_os('Darwin') == df.MACOS
    assert df.normalize_os('win32') == df.WINDOWS
    assert df.normalize_os('Windows') == df.WINDOWS
    with pytest.raises(DuplicatiError):
        df.normalize_os('Plan9')


def test_linux_default_uses_dot_config():
    folder, overridden = df.resolve_data_folder('Linux', env={}, home='/home/ann', exists=NOTHING)
    assert (folder, overridden) == ('/home/ann/.config/Duplicati/', False)


def test_linux_xdg_config_home_rooted_only():
    env = {'XDG_CONFIG_HOME': '/data'}
    assert df.resolve_data_folder('linux', env=env, home='/root', exists=NOTHING)[0] == '/data/Duplicati/'
    env = {'XDG_CONFIG_HOME': 'relative/cfg'}
    assert df.resolve_data_folder('linux', env=env, home='/root', exists=NOTHING)[0] == '/root/.config/Duplicati/'


def test_linux_root_service_agent_json():
    assert df.agent_settings_path('linux', env={}, home='/root', exists=NOTHING) == '/root/.config/Duplicati/agent.json'
    assert df.service_agent_settings_path('linux') == '/root/.config/Duplicati/agent.json'


def test_linux_no_home_uses_var_lib_unless_legacy_file_only():
    assert df.default_storage_folder('agent.json', 'linux', env={}, home='', exists=NOTHING) == '/var/lib/Duplicati'
    legacy = exists_in('/Duplicati/agent.json')
    assert df.default_storage_folder('agent.json', 'linux', env={}, home=None, exists=legacy) == '/Duplicati'
    both = exists_in('/Duplicati/agent.json', '/var/lib/Duplicati/agent.json')
    assert df.default_storage_folder('agent.json', 'linux', env={}, home=None, exists=both) == '/var/lib/Duplicati'
    # the path is relative in .NET: it follows the working directory
    assert df.default_storage_folder('agent.json', 'linux', env={}, home=None, exists=NOTHING, cwd='/srv') == '/srv/var/lib/Duplicati'


def test_macos_application_support_and_legacy_rule():
    home = '/Users/ann'
    new = '/Users/ann/Library/Application Support/Duplicati'
    old = '/Users/ann/.config/Duplicati'
    assert df.default_storage_folder('agent.json', 'Darwin', env={}, home=home, exists=NOTHING) == new
    assert df.default_storage_folder('agent.json', 'Darwin', env={}, home=home, exists=exists_in(old + '/agent.json')) == old
    both = exists_in(old + '/agent.json', new + '/agent.json')
    assert df.default_storage_folder('agent.json', 'Darwin', env={}, home=home, exists=both) == new
    # macOS ignores XDG_CONFIG_HOME
    assert df.default_storage_folder('agent.json', 'Darwin', env={'XDG_CONFIG_HOME': '/x'}, home=home, exists=NOTHING) == new
    assert df.service_agent_settings_path('Darwin', home=home) == new + '/agent.json'
    assert df.service_agent_settings_path('Darwin', macos_scope='system') == '/Library/Application Support/Duplicati/agent.json'
    with pytest.raises(DuplicatiError):
        df.service_agent_settings_path('Darwin')


WIN_USER = {'APPDATA': 'C:\\Users\\ann\\AppData\\Roaming', 'LOCALAPPDATA': 'C:\\Users\\ann\\AppData\\Local',
            'SystemRoot': 'C:\\Windows', 'ProgramData': 'C:\\ProgramData'}
WIN_SYSTEM = {'APPDATA': 'C:\\Windows\\system32\\config\\systemprofile\\AppData\\Roaming',
              'LOCALAPPDATA': 'C:\\Windows\\system32\\config\\systemprofile\\AppData\\Local',
              'SystemRoot': 'C:\\Windows', 'ProgramData': 'C:\\ProgramData'}


def test_windows_user_candidates_and_last_wins():
    roaming = 'C:\\Users\\ann\\AppData\\Roaming\\Duplicati'
    local = 'C:\\Users\\ann\\AppData\\Local\\Duplicati'
    assert df.default_storage_folder_candidates('windows', WIN_USER) == [roaming, local]
    assert df.default_storage_folder('agent.json', 'windows', WIN_USER, exists=NOTHING) == local
    assert df.default_storage_folder('agent.json', 'windows', WIN_USER, exists=exists_in(roaming + '\\agent.json')) == roaming
    both = exists_in(roaming + '\\agent.json', local + '\\agent.json')
    assert df.default_storage_folder('agent.json', 'windows', WIN_USER, exists=both) == local


def test_windows_localsystem_uses_programdata():
    assert df.default_storage_folder('agent.json', 'windows', WIN_SYSTEM, exists=NOTHING) == 'C:\\ProgramData\\Duplicati'
    roaming = WIN_SYSTEM['APPDATA'] + '\\Duplicati'
    # an older file in the roaming profile is still found when ProgramData has none
    assert df.default_storage_folder('agent.json', 'windows', WIN_SYSTEM, exists=exists_in(roaming + '\\agent.json')) == roaming
    assert df.service_agent_settings_path('windows') == 'C:\\ProgramData\\Duplicati\\agent.json'
    # env names are case-insensitive on Windows
    lower = dict((k.lower(), v) for k, v in WIN_SYSTEM.items())
    assert df.default_storage_folder('agent.json', 'windows', lower, exists=NOTHING) == 'C:\\ProgramData\\Duplicati'


def test_override_priority():
    env = {'DUPLICATI_HOME': '/opt/home', 'DUPLICATI__SERVER_DATAFOLDER': '/env/df'}
    args = ['run', '--server-datafolder=/arg/df']
    assert df.resolve_data_folder('linux', args, env, '/root', '/usr/lib/duplicati') == ('/arg/df/', True)
    assert df.resolve_data_folder('linux', ['run'], env, '/root', '/usr/lib/duplicati') == ('/env/df/', True)
    env2 = {'DUPLICATI_HOME': '/opt/home'}
    assert df.resolve_data_folder('linux', ['--portable-mode'], env2, '/root', '/usr/lib/duplicati') == ('/usr/lib/duplicati/data/', True)
    assert df.resolve_data_folder('linux', ['--portable-mode=false'], env2, '/root', '/x') == ('/opt/home/', True)
    assert df.resolve_data_folder('linux', [], {'DUPLICATI__PORTABLE_MODE': 'true'}, '/root', '/x') == ('/x/data/', True)
    with pytest.raises(DuplicatiError):
        df.resolve_data_folder('linux', ['--portable-mode'], {}, '/root', None)


def test_override_parsing_details():
    # --option value form, last occurrence wins, quotes trimmed, %VAR% expanded
    args = ['--server-datafolder', '/a', '--SERVER-DATAFOLDER="/b"']
    assert df.resolve_data_folder('linux', args, {}, '/root')[0] == '/b/'
    env = {'BASE': '/srv'}
    assert df.resolve_data_folder('linux', ['--server-datafolder=%BASE%/dup'], env, '/root')[0] == '/srv/dup/'
    assert df.extract_option(['--server-datafolder', '--other'], {}, 'server-datafolder') == ''
    assert df.extract_option([], {'DUPLICATI__SERVER_DATAFOLDER': '/e'}, 'server-datafolder') == '/e'
    assert df.extract_option([], {}, 'server-datafolder') is None
    assert df.resolve_data_folder('windows', ['--server-datafolder=D:\\dup'], {}, None)[0] == 'D:\\dup\\'


def test_agent_json_follows_override_but_default_probes_agent_json():
    env = {'DUPLICATI_HOME': '/srv/dup'}
    assert df.agent_settings_path('linux', [], env, '/root') == '/srv/dup/agent.json'
    home = '/Users/ann'
    old = '/Users/ann/.config/Duplicati'
    # agent.json only in the legacy folder, the DB only in the new one: each file is probed by its own name
    exists = exists_in(old + '/agent.json', home + '/Library/Application Support/Duplicati/Duplicati-server.sqlite')
    assert df.agent_settings_path('darwin', [], {}, home, exists=exists) == old + '/agent.json'


def test_install_dirs():
    assert df.install_dir('linux', 'deb', 'agent') == '/usr/lib/duplicati'
    assert df.install_dir('linux', 'rpm', 'agent') == '/usr/lib/duplicati-agent'
    assert df.install_dir('darwin', 'pkg', 'agent') == '/usr/local/duplicati-agent'
    assert df.install_dir('windows', 'msi', 'agent') == 'C:\\Program Files\\Duplicati Agent'
    with pytest.raises(DuplicatiError):
        df.install_dir('windows', 'deb', 'agent')


def test_identity_files_created_like_duplicati(tmp_path):
    folder = str(tmp_path)
    created = df.ensure_identity_files(folder, check_mode=True)
    assert len(created) == 2 and os.listdir(folder) == []
    created = df.ensure_identity_files(folder)
    assert sorted(os.path.basename(p) for p in created) == ['installation.txt', 'machineid.txt']
    install = open(os.path.join(folder, 'installation.txt'), 'rb').read().decode('utf-8')
    machine = open(os.path.join(folder, 'machineid.txt'), 'rb').read().decode('utf-8')
    m = re.match(r'^([0-9a-f]{32})\r\n\r\nThis file is used to track the number of unique installs\.\r\n', install)
    assert m, install
    assert install.endswith('will not be part of the usage statistics.')
    assert machine == df.MACHINE_ID_TEMPLATE.format(m.group(1))
    assert machine.startswith(m.group(1) + '\n\nThis file is used to assign a unique ID')
    assert df.read_install_id(folder) == m.group(1)
    assert df.read_machine_id(folder) == m.group(1)
    assert oct(os.stat(os.path.join(folder, 'machineid.txt')).st_mode & 0o777) == '0o600'
    # existing files are never changed
    assert df.ensure_identity_files(folder) == []
    assert open(os.path.join(folder, 'installation.txt'), 'rb').read().decode('utf-8') == install


def test_identity_legacy_copy_and_blank_ids(tmp_path):
    folder = str(tmp_path)
    os.mkdir(os.path.join(folder, 'updates'))
    legacy = b'\xef\xbb\xbf  \nabc123\nold text\n'
    open(os.path.join(folder, 'updates', 'installation.txt'), 'wb').write(legacy)
    df.ensure_identity_files(folder)
    assert open(os.path.join(folder, 'installation.txt'), 'rb').read() == legacy
    assert df.read_install_id(folder) == 'abc123'
    assert df.read_machine_id(folder) == 'abc123'
    open(os.path.join(folder, 'machineid.txt'), 'w').write('\n\n')
    assert df.read_machine_id(folder) == 'abc123'
    assert df.read_machine_id(str(tmp_path / 'none')) == ''


def test_host_wrappers(monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv('XDG_CONFIG_HOME', raising=False)
    monkeypatch.delenv('DUPLICATI_HOME', raising=False)
    monkeypatch.delenv('DUPLICATI__SERVER_DATAFOLDER', raising=False)
    monkeypatch.delenv('DUPLICATI__PORTABLE_MODE', raising=False)
    assert df.host_data_folder() == (str(tmp_path) + '/.config/Duplicati/', False)
    assert df.host_agent_settings_path() == str(tmp_path) + '/.config/Duplicati/agent.json'
