# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import platform

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_host
from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings
from ansible_collections.duplicati.fleet.plugins.module_utils import host_platform
from ansible_collections.duplicati.fleet.plugins.module_utils import daemon_options
from ansible_collections.duplicati.fleet.plugins.module_utils import launchd
from ansible_collections.duplicati.fleet.plugins.module_utils import preload as pl
from ansible_collections.duplicati.fleet.plugins.modules import agent_info
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import run_module

PASSPHRASE = 'correct horse battery'
SETTINGS = {'jwt': 'eyJ.machine.token', 'serverUrl': 'wss://console/agent', 'certificateUrl': 'https://console/certs',
            'settingsEncryptionKey': 'local-key', 'serverCertificates': [
                {'publicKeyHash': 'a', 'publicKey': 'p', 'obtained': '2026-01-01T00:00:00+00:00', 'expiry': '2027-01-01T00:00:00+00:00'},
                {'publicKeyHash': 'b', 'publicKey': 'p', 'obtained': '2026-01-01T00:00:00+00:00', 'expiry': '2027-06-01T00:00:00+00:00'}]}


def run(monkeypatch, args, service_state=None):
    state = {'name': 'duplicati-agent.service', 'active': True, 'enabled': False}
    monkeypatch.setattr(agent_host, 'service_state', service_state or (lambda module, os_name, *scope: state))
    return run_module(monkeypatch, agent_info, args, check_mode=True)


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
    assert agent_host.service_state(Module(), 'linux') == {'name': 'duplicati-agent.service', 'active': None, 'enabled': None,
                                                           'daemon_opts': None}


def _systemd_module(show):
    class Module(object):
        def get_bin_path(self, name, required=False):
            return '/bin/systemctl'

        def run_command(self, argv):
            return {'show': (0, show, '')}[argv[1]]
    return Module()


def test_service_state_of_an_installed_unit(tmp_path):
    options = tmp_path / 'duplicati-agent'
    options.write_text('# comment\nDAEMON_OPTS="--webservice-port=8300 --webservice-password=hunter2-secret"\n')
    show = 'LoadState=loaded\nActiveState=active\nUnitFileState=disabled\nEnvironmentFiles=%s (ignore_errors=yes)\n' % options
    state = agent_host.service_state(_systemd_module(show), 'linux')
    text = state.pop('options_text')  # kept for the comparison with desired, never returned
    assert state == {'name': 'duplicati-agent.service', 'active': True, 'enabled': False,
                     'daemon_opts': ['--webservice-port=8300', '--webservice-password=********']}
    assert 'hunter2' not in json.dumps(state) and text == options.read_text()


def test_service_state_without_an_options_file(tmp_path):
    show = 'LoadState=loaded\nActiveState=inactive\nUnitFileState=enabled\nEnvironmentFiles=%s (ignore_errors=yes)\n' % (tmp_path / 'none')
    assert agent_host.service_state(_systemd_module(show), 'linux') == {
        'name': 'duplicati-agent.service', 'active': False, 'enabled': True, 'daemon_opts': None, 'options_text': None}


def test_reports_the_platform_facts_of_this_host(monkeypatch, host):
    result = run(monkeypatch, host)
    assert result['system'] == platform.system() and result['architecture'] == platform.machine()
    assert result['os_family'] == host_platform.host_platform()['os_family']
    assert result['console_user'] is None


@pytest.fixture
def macos(monkeypatch, tmp_path):
    """A macOS host whose console user alice has her home under tmp_path; records the scope of the service lookup."""
    from ansible_collections.duplicati.fleet.plugins.module_utils import atomic_file
    seen = {}
    monkeypatch.setattr(host_platform, 'host_platform', lambda: {'system': 'Darwin', 'os_family': 'Darwin', 'architecture': 'arm64'})
    monkeypatch.setattr(launchd, 'console_owner', lambda: (501, 'alice'))
    monkeypatch.setattr(atomic_file, 'user_home', lambda uid: str(tmp_path / 'Users' / 'alice') if uid == 501 else None)

    def service_state(module, os_name, scope='user', console_uid=None):
        seen.update(os_name=os_name, scope=scope, console_uid=console_uid)
        return {'name': 'x', 'active': None, 'enabled': None, 'daemon_opts': None}
    return seen, service_state


def run_macos(monkeypatch, macos, args):
    seen, service_state = macos
    return run(monkeypatch, args, service_state), seen


def test_macos_user_scope_reads_the_console_user_s_agent(monkeypatch, macos, tmp_path):
    result, seen = run_macos(monkeypatch, macos, {'agent_path': str(tmp_path / 'none')})
    assert result['system'] == 'Darwin' and result['os_family'] == 'Darwin' and result['architecture'] == 'arm64'
    assert result['console_user'] == 'alice'
    assert result['settings_file'] == str(tmp_path / 'Users' / 'alice' / 'Library' / 'Application Support' / 'Duplicati' / 'agent.json')
    assert seen == {'os_name': 'macos', 'scope': 'user', 'console_uid': 501}


def test_macos_system_scope_reads_the_launch_daemon_s_agent(monkeypatch, macos, tmp_path):
    result, seen = run_macos(monkeypatch, macos, {'agent_path': str(tmp_path / 'none'), 'macos_scope': 'system'})
    assert result['settings_file'] == '/Library/Application Support/Duplicati/agent.json'
    assert result['data_folder'] == '/Library/Application Support/Duplicati'
    assert seen['scope'] == 'system'


def test_an_explicit_data_folder_wins_over_the_macos_scope(monkeypatch, macos, host):
    result, dummy = run_macos(monkeypatch, macos, dict(host, macos_scope='system'))
    assert result['settings_file'] == os.path.join(host['data_folder'], 'agent.json')


def test_default_agent_json_follows_the_service_options(monkeypatch, host):
    from ansible_collections.duplicati.fleet.plugins.module_utils import systemd
    folder = host['data_folder']
    with open(os.path.join(folder, 'agent.json'), 'w') as handle:
        json.dump(SETTINGS, handle)
    monkeypatch.setattr(systemd, 'agent_options_text', lambda module: 'DUPLICATI_HOME="%s"\nDAEMON_OPTS=""\n' % folder)
    monkeypatch.setattr(host_platform, 'host_platform', lambda: {'system': 'Linux', 'os_family': 'Debian', 'architecture': 'x86_64'})
    result = run(monkeypatch, {'agent_path': host['agent_path']})
    assert result['settings_file'] == os.path.join(folder, 'agent.json') and result['data_folder'] == folder, result
    assert result['registered'] and result['machine_id'] == 'abc123'


# --- desired state: one call decides whether the role's steps can be skipped -------------------------------------

PRELOAD = {'args': {'agent': ['--agent-settings-file-passphrase=' + PASSPHRASE]}, 'env': {'agent': {'DEBUG_FLAG': True}}}
OPTIONS = ['--webservice-port=8300', '--server-datafolder=/var/lib/duplicati-agent']


@pytest.fixture
def converged(monkeypatch, host, tmp_path):
    """A host as the role leaves it: preload.json as the preload module writes it, registered, the service
    enabled and running with the role's options. Returns (args with desired, the service state)."""
    agent_settings.save_agent_settings(os.path.join(host['data_folder'], 'agent.json'), SETTINGS, PASSPHRASE)
    preload_path = tmp_path / 'preload.json'
    preload_path.write_text(pl.render_preload(pl.replace_preload(pl.string_values(PRELOAD))))
    preload_path.chmod(0o600)
    state = {'name': 'duplicati-agent.service', 'active': True, 'enabled': True,
             'daemon_opts': OPTIONS, 'options_text': daemon_options.render_options_file('# options\n', OPTIONS)}
    monkeypatch.setattr(agent_host, 'service_state', lambda module, os_name, *scope: dict(state))
    desired = {'preload': PRELOAD, 'preload_path': str(preload_path), 'registered': True, 'service': True,
               'daemon_opts': OPTIONS, 'version': '2.3.0.4'}
    return dict(host, settings_passphrase=PASSPHRASE, desired=desired), state


def decide(monkeypatch, args):
    return run_module(monkeypatch, agent_info, args, check_mode=False)


def test_a_converged_host_is_reported_converged(monkeypatch, converged):
    args, dummy = converged
    result = decide(monkeypatch, args)
    assert result['converged'] is True and result['differences'] == []
    assert not result['changed']
    assert PASSPHRASE not in json.dumps(result)


def test_without_desired_nothing_is_compared(monkeypatch, converged):
    args, dummy = converged
    result = decide(monkeypatch, dict((k, v) for k, v in args.items() if k != 'desired'))
    assert 'converged' not in result and 'differences' not in result


def _set(key, value):
    def change(args, state, tmp_path):
        args['desired'][key] = value
    return change


def _service(key, value):
    def change(args, state, tmp_path):
        state[key] = value
    return change


def _preload_file(text=None, mode=None, remove=False):
    def change(args, state, tmp_path):
        path = tmp_path / 'preload.json'
        if remove:
            path.unlink()
        if text is not None:
            path.write_text(text)
        if mode is not None:
            path.chmod(mode)
    return change


@pytest.mark.parametrize('change, difference', [
    (_set('preload', {'args': {'agent': ['--agent-settings-file-passphrase=another one']}}), 'preload.json has other content'),
    (_set('preload', {'env': {'agent': {'DEBUG_FLAG': 'true'}}}), 'preload.json has other content'),
    (_set('preload', {}), 'preload.json is to be removed'),
    (_preload_file(remove=True), 'preload.json is missing'),
    (_preload_file(text='{not json'), 'preload.json cannot be read'),
    (_preload_file(mode=0o644), 'preload.json has mode 644'),
    (_set('version', '2.3.0.5'), 'version 2.3.0.4 is installed, not 2.3.0.5'),
    (_set('version', 'latest'), 'the latest version is known only from the package index'),
    (_set('registered', False), 'the agent is registered'),
    (_service('active', False), 'the service is not running'),
    (_service('enabled', False), 'the service is not enabled'),
    (_set('daemon_opts', OPTIONS + ['--log-level=verbose']), 'the service options differ'),
    (_service('options_text', None), 'the service options differ'),
    (_service('options_text', 'DAEMON_OPTS="%s"\n# a line the service module would keep\n' % ' '.join(OPTIONS[::-1])),
     'the service options differ'),
])
def test_each_difference_is_found(monkeypatch, converged, tmp_path, change, difference):
    args, state = converged
    change(args, state, tmp_path)
    monkeypatch.setattr(agent_host, 'service_state', lambda module, os_name, *scope: dict(state))
    result = decide(monkeypatch, args)
    assert result['converged'] is False
    assert result['differences'] == [difference]
    assert PASSPHRASE not in json.dumps(result)


def test_an_unregistered_host_and_an_unreadable_agent_json(monkeypatch, converged):
    args, dummy = converged
    wrong = decide(monkeypatch, dict(args, settings_passphrase='not the passphrase'))
    assert wrong['converged'] is False and wrong['differences'] == ['agent.json cannot be read']
    os.unlink(os.path.join(args['data_folder'], 'agent.json'))
    assert decide(monkeypatch, args)['differences'] == ['the agent is not registered']


def test_what_is_not_desired_is_not_compared(monkeypatch, converged):
    args, state = converged
    state.update(active=False, enabled=False, options_text=None)
    monkeypatch.setattr(agent_host, 'service_state', lambda module, os_name, *scope: dict(state))
    args['desired'] = {'preload': PRELOAD, 'preload_path': args['desired']['preload_path']}
    assert decide(monkeypatch, args)['converged'] is True


def test_the_desired_preload_masks_its_secrets_and_nothing_else(monkeypatch, converged):
    """Only the secret entries of the desired preload.json are hidden: a short value of another entry (an
    environment flag '1', a database value 'a') is no secret, and masking it would garble the facts the role
    reads from this result (its version, machine id, system)."""
    args, dummy = converged
    args['desired']['preload'] = {
        'args': {'agent': ['--agent-settings-file-passphrase=' + PASSPHRASE, '--webservice-password=local pw 456']},
        'env': {'agent': {'FLAG': '1', 'OTHER': 1}}, 'db': {'server': {'x': 'a'}}}
    result = run_module(monkeypatch, agent_info, args, invocation=True)
    assert result['converged'] is False and result['differences'] == ['preload.json has other content']
    assert result['machine_id'] == 'abc123' and result['version'] == '2.3.0.4' and result['system'] == platform.system()
    assert result['settings_file'] == os.path.join(args['data_folder'], 'agent.json')
    shown = json.dumps(result)
    assert PASSPHRASE not in shown and 'local pw 456' not in shown
    assert result['invocation']['module_args']['desired']['preload']['env'] == {'agent': {'FLAG': '1', 'OTHER': 1}}
