# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils.server_state import pause_end
from ansible_collections.duplicati.fleet.plugins.modules import server_state
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import calls, connection, run_module, server, state


def test_pause_check_mode_then_pause_then_idempotent_then_resume(monkeypatch):
    with server() as harness:
        check = run_module(monkeypatch, server_state, connection(harness, state='paused', duration='1h'), check_mode=True)
        assert state(harness)['paused'] is False
        paused = run_module(monkeypatch, server_state, connection(harness, state='paused', duration='1h30m', pause_transfers=True))
        assert state(harness)['paused'] is True
        again = run_module(monkeypatch, server_state, connection(harness, state='paused', duration='5m'))
        resumed = run_module(monkeypatch, server_state, connection(harness, state='running'))
        assert state(harness)['paused'] is False
        resumed_again = run_module(monkeypatch, server_state, connection(harness, state='running'))
    assert check['changed'] is True and check['program_state'] == 'Paused'
    assert check['diff'] == {'before': {'program_state': 'Running', 'estimated_pause_end': None},
                             'after': {'program_state': 'Paused', 'estimated_pause_end': None}}
    assert paused['changed'] is True and paused['program_state'] == 'Paused' and paused['estimated_pause_end']
    assert again['changed'] is False and again['estimated_pause_end'] == paused['estimated_pause_end']
    assert resumed['changed'] is True and resumed['program_state'] == 'Running' and resumed['estimated_pause_end'] is None
    assert resumed_again['changed'] is False and 'diff' not in resumed_again


@pytest.mark.parametrize('duration', ['1H', '30min', '1d', '5m x', 'soon', '-5m', '-1', '', '  ', '1h-2h'])
def test_invalid_duration_is_refused_before_anything_is_sent(monkeypatch, duration):
    with server() as harness:
        result = run_module(monkeypatch, server_state, connection(harness, state='paused', duration=duration))
        assert calls(harness, 'POST', '/api/v1/serverstate/pause') == 0
        assert calls(harness, 'POST', '/api/v1/auth/login') == 0
        assert state(harness)['paused'] is False
    assert result['failed'] is True
    assert 'Invalid pause duration' in result['msg']


@pytest.mark.parametrize('timeout', [0, -1, 86401])
def test_timeout_out_of_range_is_refused_with_the_range(monkeypatch, timeout):
    with server() as harness:
        result = run_module(monkeypatch, server_state, connection(harness, state='paused', timeout=timeout))
        assert calls(harness, 'POST', '/api/v1/auth/login') == 0
        assert state(harness)['paused'] is False
    assert result['failed'] is True
    assert result['msg'] == 'Invalid timeout %d: give 1 to 86400 seconds' % timeout


def test_indefinite_pause_has_no_end(monkeypatch):
    with server() as harness:
        result = run_module(monkeypatch, server_state, connection(harness, state='paused'))
    assert result['changed'] is True and result['program_state'] == 'Paused' and result['estimated_pause_end'] is None


def test_pause_end_ignores_the_dotnet_minimum_date():
    assert pause_end({'ProgramState': 'Paused', 'EstimatedPauseEnd': '0001-01-01T00:00:00'}) is None
    assert pause_end({'ProgramState': 'Running', 'EstimatedPauseEnd': '2026-08-22T10:00:00Z'}) is None
    assert pause_end({'ProgramState': 'Paused', 'EstimatedPauseEnd': '2026-08-22T10:00:00Z'}) == '2026-08-22T10:00:00Z'
