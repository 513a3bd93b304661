# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server state against the emulated server: status, pause (duration checked before
sending), pauseTransfers, resume, retries of the idempotent POSTs, and health."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import server_state
from ansible_collections.duplicati.fleet.plugins.module_utils.client import connect
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import (
    PASSWORD, calls, client, server)


def test_status_pause_resume():
    with server() as h:
        c = client(h, password=PASSWORD)
        state = server_state.get_state(c)
        assert state['ProgramState'] == 'Running' and not server_state.is_paused(state)
        assert state['Type'] == 'legacystatus'
        server_state.pause(c, '5m')
        state = server_state.get_state(c)
        assert server_state.is_paused(state)
        assert state['EstimatedPauseEnd']
        server_state.resume(c)
        assert server_state.get_state(c)['ProgramState'] == 'Running'


def test_pause_without_duration_is_indefinite_and_query_is_as_serverutil_sends_it():
    with server() as h:
        c = client(h, password=PASSWORD)
        server_state.pause(c)
        server_state.pause(c, '1h30m', pause_transfers=True)
        targets = [e for e in h.app.log if e[2] == '/api/v1/serverstate/pause']
        assert len(targets) == 2
        assert server_state.is_paused(server_state.get_state(c))


@pytest.mark.parametrize('bad', ['1d', '30min', '1H', '5m garbage', 'soon'])
def test_bad_duration_is_refused_before_sending(bad):
    with server() as h:
        c = client(h, password=PASSWORD)
        with pytest.raises(DuplicatiError) as err:
            server_state.pause(c, bad)
        assert 'Invalid pause duration %r' % bad in str(err.value)
        assert 'case-sensitive' in str(err.value)
        assert calls(h, 'POST', '/api/v1/serverstate/pause') == 0
        assert calls(h, 'POST', '/api/v1/auth/login') == 0  # nothing at all was sent


@pytest.mark.parametrize('good,seconds', [('90', 90), ('5m', 300), ('1h30m', 5400), ('1D', 86400), ('', 0), (None, 0)])
def test_check_duration(good, seconds):
    assert server_state.check_duration(good) == seconds


def test_pause_and_resume_are_retried_on_503():
    with server() as h:
        c = client(h, password=PASSWORD)
        c.login()
        h.app.faults.configure(error_rate=1.0)
        with pytest.raises(DuplicatiError):
            server_state.resume(c)
        h.app.faults.configure(error_rate=0.0)
        assert calls(h, 'POST', '/api/v1/serverstate/resume', 503) == 4


def test_health_down_server():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    c = connect({'host_url': 'http://127.0.0.1:%d/' % port}, probe_data_folder=False)
    result = server_state.health(c)
    assert result['healthy'] is False and result['status'] is None
    assert 'connection was refused' in result['message']


def test_backup_is_busy():
    state = {'ActiveTask': {'Item1': 5, 'Item2': '1'}, 'SchedulerQueueIds': [{'Item1': 6, 'Item2': '3'}]}
    assert server_state.backup_is_busy(state, '1')
    assert server_state.backup_is_busy(state, 3)
    assert not server_state.backup_is_busy(state, '2')
    assert not server_state.backup_is_busy({'ActiveTask': None, 'SchedulerQueueIds': []}, '1')
