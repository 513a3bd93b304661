# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.modules import backup_run
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import PASSWORD, connection, plan_result, run_module, server, state


def test_check_mode_queues_nothing(monkeypatch):
    with server('--seed-backups', '1') as harness:
        result = run_module(monkeypatch, backup_run, connection(harness, backup='documents'), check_mode=True)
        after = state(harness)
    assert result['changed'] is True and result['task_id'] is None and result['backup_id'] == '1'
    assert after['runs_started'] == 0 and after['queued_tasks'] == [] and after['active_task'] is None


def test_run_and_wait_returns_the_result(monkeypatch):
    with server('--seed-backups', '2', '--run-duration', '0.2') as harness:
        result = run_module(monkeypatch, backup_run, connection(harness, backup='Photos', wait=True, poll_interval=1))
        after = state(harness)
    assert result['failed'] is False and result['changed'] is True
    assert result['backup_id'] == '2' and result['backup_name'] == 'Photos'
    assert isinstance(result['task_id'], int)
    assert result['result'] == 'Success'
    assert after['runs_finished'] == 1


@pytest.mark.parametrize('outcome, failed', [('Warning', False), ('Error', True), ('Fatal', True)])
def test_outcomes_of_a_waited_run(monkeypatch, outcome, failed):
    with server('--seed-backups', '1', '--run-duration', '0.2') as harness:
        plan_result(harness, '1', outcome)
        result = run_module(monkeypatch, backup_run, connection(harness, backup='1', wait=True, poll_interval=1))
    assert result['failed'] is failed
    assert result['result'] == outcome
    assert result['changed'] is True
    if failed:
        assert 'finished with %s' % outcome in result['msg']


def test_a_failed_task_without_a_log_entry_is_not_reported_as_the_previous_run(monkeypatch):
    with server('--seed-backups', '1', '--run-duration', '0.2') as harness:
        first = run_module(monkeypatch, backup_run, connection(harness, backup='1', wait=True, poll_interval=1))
        plan_result(harness, '1', 'WorkerError')  # the queue runner fails before the operation writes its log
        second = run_module(monkeypatch, backup_run, connection(harness, backup='1', wait=True, poll_interval=1))
        task = harness.request('GET', '/api/v1/task/%d' % second['task_id'], headers=harness.bearer(PASSWORD)).json()
    assert task['Status'] == 'Failed'
    # before: "Success", the result of the first run, read from the log
    assert second['failed'] is True and second['result'] == 'Unknown'
    assert second['task_status'] == 'Failed'
    assert first['failed'] is False and first['result'] == 'Success' and first['task_status'] == 'Completed'
    assert 'failed on the server before it wrote a result' in second['msg']
    assert 'backup database is currently in use' in second['msg'] and second['error_message'] == task['ErrorMessage']


def test_without_wait_the_run_is_only_queued(monkeypatch):
    with server('--seed-backups', '1', '--run-duration', '5') as harness:
        result = run_module(monkeypatch, backup_run, connection(harness, backup='1', skip_queue=True))
        after = state(harness)
    assert result['result'] is None and result['changed'] is True
    assert after['runs_started'] + len(after['queued_tasks']) == 1


def test_bad_poll_interval_is_refused_before_anything_is_sent(monkeypatch):
    with server('--seed-backups', '1') as harness:
        result = run_module(monkeypatch, backup_run, connection(harness, backup='1', wait=True, poll_interval=0))
        after = state(harness)
    assert result['failed'] is True and 'poll_interval' in result['msg']
    assert after['runs_started'] == 0 and after['queued_tasks'] == []


def test_unknown_backup_fails_and_queues_nothing(monkeypatch):
    with server('--seed-backups', '1') as harness:
        result = run_module(monkeypatch, backup_run, connection(harness, backup='nope'))
        after = state(harness)
    assert result['failed'] is True and 'No backup found' in result['msg']
    assert after['runs_started'] == 0


class _FakeClient(object):
    host_url = 'http://h/'


def test_wait_for_run_times_out(monkeypatch):
    now = [0.0]
    busy = {'ActiveTask': {'Item1': 3, 'Item2': '1'}, 'SchedulerQueueIds': []}
    monkeypatch.setattr(backup_run.server_state, 'get_state', lambda client: busy)

    def sleep(seconds):
        assert seconds >= 0.1
        now[0] += seconds

    with pytest.raises(DuplicatiError) as caught:
        backup_run.wait_for_run(_FakeClient(), '1', 10, 3, sleep=sleep, clock=lambda: now[0])
    assert 'after 10 seconds' in str(caught.value)
    assert now[0] == 10


def test_wait_for_run_returns_when_the_backup_is_idle(monkeypatch):
    states = [{'ActiveTask': None, 'SchedulerQueueIds': [{'Item1': 4, 'Item2': '1'}]},
              {'ActiveTask': {'Item1': 4, 'Item2': '1'}, 'SchedulerQueueIds': []},
              {'ActiveTask': {'Item1': 5, 'Item2': '2'}, 'SchedulerQueueIds': []}]
    monkeypatch.setattr(backup_run.server_state, 'get_state', lambda client: states.pop(0))
    slept = []
    backup_run.wait_for_run(_FakeClient(), '1', 100, 2, sleep=slept.append, clock=lambda: 0.0)
    assert slept == [2, 2] and states == []
