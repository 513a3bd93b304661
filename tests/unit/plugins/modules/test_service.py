# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

import pytest
from ansible.module_utils.common import warnings
from ansible.module_utils.common.warnings import get_deprecation_messages

from ansible_collections.duplicati.fleet.plugins.module_utils import launchd
from ansible_collections.duplicati.fleet.plugins.module_utils import systemd
from ansible_collections.duplicati.fleet.plugins.modules import service
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import run_module


def run(monkeypatch, args, check_mode=False, diff=True):
    return run_module(monkeypatch, service, args, check_mode, diff)


class FakeUnit(object):
    """A systemd unit: records the actions, keeps state."""
    instances = []

    def __init__(self, module, unit, installed=True, active=True, enabled=True, env_file=None, masked=False):
        self.unit = unit
        self.installed, self.active, self.enabled, self.env_file = installed, active, enabled, env_file
        self.masked = masked
        self.applied = []
        FakeUnit.instances.append(self)

    def exists(self):
        return self.installed

    def environment_file(self):
        return self.env_file

    # the real decision (EnvironmentFile, else the package family's default) on top of this fake state
    options_file = systemd.SystemdService.options_file

    def status(self):
        # systemd reports a masked unit's UnitFileState as "masked": not enabled
        return {'active': self.active, 'enabled': self.enabled and not self.masked}

    def is_masked(self):
        return self.masked

    def apply(self, action):
        self.applied.append(action)


@pytest.fixture
def unit(monkeypatch):
    state = {}
    FakeUnit.instances = []

    def factory(module, name):
        return FakeUnit(module, name, **state)
    monkeypatch.setattr(systemd, 'SystemdService', factory)
    monkeypatch.setattr(service.platform, 'system', lambda: 'Linux')
    return state


def test_writes_options_and_restarts_once_then_nothing(monkeypatch, tmp_path, unit):
    path = tmp_path / 'duplicati-agent'
    path.write_text('# Defaults for duplicati-agent\nDAEMON_OPTS=""\n')
    path.chmod(0o644)
    args = {'name': 'agent', 'daemon_opts': ['--webservice-port=8210', '--log-file=/var/log/dup licati.log'],
            'options_file': str(path), 'state': 'started'}
    first = run(monkeypatch, args)
    assert first['changed'] and first['options_changed']
    assert first['actions'] == ['restart']
    assert FakeUnit.instances[-1].applied == ['restart']
    assert path.read_text() == ('# Defaults for duplicati-agent\n'
                                'DAEMON_OPTS="--webservice-port=8210 \'--log-file=/var/log/dup licati.log\'"\n')
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert first['diff']['before'] != first['diff']['after']
    second = run(monkeypatch, args)
    assert not second['changed'] and second['actions'] == []
    assert FakeUnit.instances[-1].applied == []


def test_check_mode_predicts_and_changes_nothing(monkeypatch, tmp_path, unit):
    unit.update(active=False, enabled=False)
    path = tmp_path / 'duplicati'
    path.write_text('DAEMON_OPTS=""\n')
    before = path.read_bytes()
    result = run(monkeypatch, {'name': 'server', 'daemon_opts': ['--x=1'], 'options_file': str(path),
                               'state': 'started', 'enabled': True}, check_mode=True)
    assert result['changed'] and result['actions'] == ['enable', 'start']
    assert result['active'] and result['enabled']
    assert path.read_bytes() == before
    assert FakeUnit.instances[-1].applied == []


def test_no_options_change_no_restart(monkeypatch, tmp_path, unit):
    path = tmp_path / 'duplicati-agent'
    path.write_text('DAEMON_OPTS="--a=1"\n')
    result = run(monkeypatch, {'name': 'agent', 'daemon_opts': ['--a=1'], 'options_file': str(path), 'state': 'started'})
    assert not result['changed']
    assert FakeUnit.instances[-1].applied == []


def test_restarted_always_restarts(monkeypatch, tmp_path, unit):
    result = run(monkeypatch, {'name': 'agent', 'state': 'restarted', 'options_file': str(tmp_path / 'x')})
    assert result['changed'] and result['actions'] == ['restart']


def test_options_file_of_the_unit_is_used(monkeypatch, tmp_path, unit):
    target = tmp_path / 'sysconfig-duplicati-agent'
    unit.update(env_file=str(target), active=False)
    result = run(monkeypatch, {'name': 'agent', 'daemon_opts': []})
    assert result['options_file'] == str(target)
    assert target.read_text() == 'DAEMON_OPTS=""\n'
    # a new, stopped service: nothing to restart
    assert result['actions'] == []


def test_secret_options_are_masked_warned_and_private(monkeypatch, tmp_path, unit):
    path = tmp_path / 'duplicati'
    result = run(monkeypatch, {'name': 'server', 'daemon_opts': ['--webservice-password=hunter2hunter2'], 'options_file': str(path)})
    assert 'hunter2hunter2' not in json.dumps(result)
    assert result['daemon_opts'] == ['--webservice-password=********']
    assert any('process list' in w for w in result.get('warnings', []))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert 'hunter2hunter2' in path.read_text()


def test_uninstalled_service_with_state_fails_clearly(monkeypatch, tmp_path, unit):
    unit.update(installed=False)
    result = run(monkeypatch, {'name': 'agent', 'state': 'started', 'daemon_opts': ['--a=1'], 'options_file': str(tmp_path / 'f')})
    assert result['failed'] and 'not installed' in result['msg']
    assert not (tmp_path / 'f').exists()


def test_uninstalled_service_options_can_be_seeded(monkeypatch, tmp_path, unit):
    unit.update(installed=False)
    result = run(monkeypatch, {'name': 'agent', 'daemon_opts': ['--a=1'], 'options_file': str(tmp_path / 'f')})
    assert result['changed'] and result['actions'] == []
    assert 'active' not in result


def test_bad_option_is_a_clear_error_and_writes_nothing(monkeypatch, tmp_path, unit):
    path = tmp_path / 'f'
    result = run(monkeypatch, {'name': 'agent', 'daemon_opts': ['--a=1\n--b'], 'options_file': str(path)})
    assert result['failed'] and 'line break' in result['msg']
    assert not os.path.exists(str(path))


@pytest.mark.parametrize('check_mode', [False, True])
def test_masked_false_unmasks_before_enabling_and_starting(monkeypatch, tmp_path, unit, check_mode):
    unit.update(active=False, enabled=True, masked=True)
    args = {'name': 'agent', 'masked': False, 'enabled': True, 'state': 'started', 'options_file': str(tmp_path / 'f')}
    result = run(monkeypatch, args, check_mode=check_mode)
    assert result['changed'] and result['actions'] == ['unmask', 'enable', 'start']
    assert result['masked'] is False and result['active'] and result['enabled']
    assert result['diff'] == {'prepared': 'duplicati-agent.service: masked -> unmasked\n'}
    assert FakeUnit.instances[-1].applied == ([] if check_mode else ['unmask', 'enable', 'start'])


def test_masked_false_on_an_unmasked_unit_changes_nothing(monkeypatch, tmp_path, unit):
    result = run(monkeypatch, {'name': 'agent', 'masked': False, 'enabled': True, 'state': 'started', 'options_file': str(tmp_path / 'f')})
    assert not result['changed'] and result['actions'] == [] and result['masked'] is False and 'diff' not in result


def test_masked_true_stops_then_masks(monkeypatch, tmp_path, unit):
    result = run(monkeypatch, {'name': 'server', 'masked': True, 'options_file': str(tmp_path / 'f')})
    assert result['changed'] and result['actions'] == ['stop', 'mask']
    assert result['masked'] is True and not result['active'] and not result['enabled']
    assert result['diff'] == {'prepared': 'duplicati.service: unmasked -> masked\n'}
    assert FakeUnit.instances[-1].applied == ['stop', 'mask']
    unit.update(active=False, masked=True)
    again = run(monkeypatch, {'name': 'server', 'masked': True, 'options_file': str(tmp_path / 'f')})
    assert not again['changed'] and again['actions'] == []


def test_a_unit_that_is_not_installed_can_be_masked(monkeypatch, tmp_path, unit):
    unit.update(installed=False, active=False, enabled=False)
    result = run(monkeypatch, {'name': 'agent', 'masked': True, 'options_file': str(tmp_path / 'f')})
    assert result['changed'] and result['actions'] == ['mask'] and 'active' not in result


@pytest.mark.parametrize('masked, asked', [
    (True, {'masked': True, 'state': 'started'}),
    (False, {'masked': True, 'enabled': True}),
    (True, {'state': 'started'}),
    (True, {'state': 'restarted'}),
])
def test_running_or_enabling_a_masked_unit_fails_before_anything_changes(monkeypatch, tmp_path, unit, masked, asked):
    unit.update(masked=masked)
    path = tmp_path / 'duplicati-agent'
    path.write_text('DAEMON_OPTS=""\n')
    result = run(monkeypatch, dict(asked, name='agent', daemon_opts=['--webservice-port=8300'], options_file=str(path)))
    assert result['failed'] and 'neither starts nor enables a masked unit' in result['msg']
    assert path.read_text() == 'DAEMON_OPTS=""\n'
    assert FakeUnit.instances[-1].applied == []


def test_masked_on_macos(monkeypatch):
    """launchd has no masks: masked=false holds already, masked=true is an error."""
    monkeypatch.setattr(service.platform, 'system', lambda: 'Darwin')
    package_agent = ('com.duplicati.agent.launchagent', '/nonexistent/agent.plist', ['/usr/local/duplicati-agent/duplicati-agent', 'run'])
    monkeypatch.setattr(launchd, 'LAUNCHD_PACKAGE_AGENTS', {'agent': package_agent})
    refused = run(monkeypatch, {'name': 'agent', 'masked': True})
    assert refused['failed'] and 'launchd cannot mask a job' in refused['msg']
    accepted = run(monkeypatch, {'name': 'agent', 'masked': False, 'state': 'started'})
    # past the masked check, on to the LaunchAgent (not installed here)
    assert accepted['failed'] and 'use macos_scope=system' in accepted['msg']


@pytest.mark.parametrize('name', ['macos_scope', 'scope'])
def test_macos_scope_is_the_option_and_scope_a_deprecated_alias(monkeypatch, name):
    monkeypatch.setattr(warnings, '_global_deprecations', {})
    monkeypatch.setattr(service.platform, 'system', lambda: 'Darwin')
    package_agent = ('com.duplicati.agent.launchagent', '/nonexistent/agent.plist', ['/usr/local/duplicati-agent/duplicati-agent', 'run'])
    monkeypatch.setattr(launchd, 'LAUNCHD_PACKAGE_AGENTS', {'agent': package_agent})
    result = run(monkeypatch, {'name': 'agent', name: 'user', 'state': 'started'})
    assert result['failed'] and 'use macos_scope=system' in result['msg']
    deprecations = [d['msg'] for d in get_deprecation_messages()]
    assert any("'scope'" in msg for msg in deprecations) == (name == 'scope')


@pytest.mark.parametrize('daemon_opts', [None, ['--webservice-port=8300']])
def test_a_non_utf8_options_file_is_a_clear_error_and_kept(monkeypatch, tmp_path, unit, daemon_opts):
    path = tmp_path / 'duplicati-agent'
    path.write_bytes(b'# D\xe9faut\nDAEMON_OPTS="--x=\xff"\n')
    args = {'name': 'agent', 'options_file': str(path), 'state': 'started'}
    if daemon_opts is not None:
        args['daemon_opts'] = daemon_opts
    result = run(monkeypatch, args)
    assert result['failed'] and 'not UTF-8 text' in result['msg'] and str(path) in result['msg']
    assert path.read_bytes() == b'# D\xe9faut\nDAEMON_OPTS="--x=\xff"\n'
    assert FakeUnit.instances[-1].applied == []
