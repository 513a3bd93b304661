# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings
from ansible_collections.duplicati.fleet.plugins.modules import agent_info

PASSPHRASE = 'correct horse battery'
SETTINGS = {'jwt': 'eyJ.machine.token', 'serverUrl': 'wss://console/agent', 'certificateUrl': 'https://console/certs',
            'settingsEncryptionKey': 'local-key', 'serverCertificates': [
                {'publicKeyHash': 'a', 'publicKey': 'p', 'obtained': '2026-01-01T00:00:00+00:00', 'expiry': '2027-01-01T00:00:00+00:00'},
                {'publicKeyHash': 'b', 'publicKey': 'p', 'obtained': '2026-01-01T00:00:00+00:00', 'expiry': '2027-06-01T00:00:00+00:00'}]}


class Exit(Exception):
    pass


def run(monkeypatch, args):
    def exit_json(self, **kwargs):
        raise Exit(dict(kwargs, failed=False))

    def fail_json(self, **kwargs):
        raise Exit(dict(kwargs, failed=True))

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    state = {'name': 'duplicati-agent.service', 'active': True, 'enabled': False}
    monkeypatch.setattr(agent_info, '_service_state', lambda module, os_name: state)
    with patch_module_args(dict(args, _ansible_check_mode=True)):
        with pytest.raises(Exit) as caught:
            agent_info.main()
    return caught.value.args[0]


@pytest.fixture
def host(tmp_path):
    install = tmp_path / 'lib'
    install.mkdir()
    (install / 'duplicati-agent').write_text('#!/bin/sh\n')
    (install / 'duplicati-agent').chmod(0o755)
    (install / 'package_type_id.txt').write_text('linux-x64-agent.deb\n')
    (install / 'autoupdate.manifest').write_text('{"Version": "2.3.0.4"}')
    folder = tmp_path / 'data'
    folder.mkdir(mode=0o700)
    (folder / 'machineid.txt').write_text('abc123\n\nThis file ...')
    (folder / 'installation.txt').write_text('def456\r\n')
    return {'agent_path': str(install / 'duplicati-agent'), 'data_folder': str(folder)}


def test_registered_host(monkeypatch, host):
    agent_settings.save_agent_settings(os.path.join(host['data_folder'], 'agent.json'), SETTINGS)
    result = run(monkeypatch, host)
    assert not result['changed']
    assert result['installed'] and result['version'] == '2.3.0.4' and result['package_type'] == 'linux-x64-agent.deb'
    assert result['registered'] and result['server_url'] == 'wss://console/agent'
    assert result['machine_id'] == 'abc123' and result['install_id'] == 'def456'
    assert result['certificate_expiry'].startswith('2027-06-01')
    assert result['service'] == {'name': 'duplicati-agent.service', 'active': True, 'enabled': False}
    assert 'eyJ.machine.token' not in json.dumps(result) and 'local-key' not in json.dumps(result)


def test_unregistered_and_not_installed(monkeypatch, tmp_path):
    result = run(monkeypatch, {'agent_path': str(tmp_path / 'none'), 'data_folder': str(tmp_path / 'nothing')})
    assert not result['installed'] and result['install_dir'] is None and result['version'] is None
    assert not result['registered'] and not result['settings_exists'] and result['machine_id'] is None


def test_encrypted_settings(monkeypatch, host):
    path = os.path.join(host['data_folder'], 'agent.json')
    agent_settings.save_agent_settings(path, SETTINGS, PASSPHRASE)
    with_key = run(monkeypatch, dict(host, settings_passphrase=PASSPHRASE))
    assert with_key['registered'] and with_key['settings_encrypted'] and 'settings_error' not in with_key
    without = run(monkeypatch, host)
    assert without['registered'] and without['settings_encrypted']
    assert 'key is missing' in without['settings_error']
    wrong = run(monkeypatch, dict(host, settings_passphrase='not the passphrase'))
    assert 'settings_error' in wrong and wrong['registered']


def test_changes_nothing(monkeypatch, host):
    before = sorted(os.listdir(host['data_folder']))
    run(monkeypatch, host)
    assert sorted(os.listdir(host['data_folder'])) == before


def test_service_state_without_systemd_is_unknown():
    class Module(object):
        def get_bin_path(self, name, required=False):
            return None
    assert agent_info._service_state(Module(), 'linux') == {'name': 'duplicati-agent.service', 'active': None, 'enabled': None}


def test_service_state_of_an_installed_unit():
    class Module(object):
        def get_bin_path(self, name, required=False):
            return '/bin/systemctl'

        def run_command(self, argv):
            answers = {'show': (0, 'LoadState=loaded\n', ''), 'is-active': (0, 'active\n', ''), 'is-enabled': (1, 'disabled\n', '')}
            return answers[argv[1]]
    assert agent_info._service_state(Module(), 'linux') == {'name': 'duplicati-agent.service', 'active': True, 'enabled': False}
