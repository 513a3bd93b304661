#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: backup_run
short_description: Run a backup on a Duplicati server
version_added: 0.1.0
description:
  - Queues a run of one backup on a Duplicati server, like C(duplicati-server-util run).
  - With O(wait=true), waits until the run has finished and returns its result from the backup log;
    the module then fails when the result is C(Error) or C(Fatal).
  - It also reads the state of the server's task (C(GET api/v1/task/{id})) and fails when the task failed.
    A failure of the server's task queue (the backup database is locked, the job could not start) writes no
    entry to the backup log, only to the server's error log; the task's C(ErrorMessage) is then the only report.
author:
  - duplicati.fleet contributors (!UNKNOWN)
extends_documentation_fragment:
  - duplicati.fleet.server
attributes:
  check_mode:
    support: full
    description: In check mode the backup is looked up but no run is queued; C(changed) is V(true).
  diff_mode:
    support: none
    description: A run changes no configuration, so there is no diff.
options:
  backup:
    description:
      - ID or name of the backup to run. A name is matched case-insensitively, an ID exactly.
    type: str
    required: true
  skip_queue:
    description:
      - Put the run at the front of the server's queue instead of at its end (C(--skip-queue)).
    type: bool
    default: false
  wait:
    description:
      - Wait until the run has finished and return its RV(result).
      - Without it the module returns as soon as the run is queued, and RV(result) is V(null).
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait for the run to finish when O(wait=true). The module fails when the run
        is still queued or running after that; the run itself goes on.
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between two looks at the server state while waiting. At least 1.
    type: int
    default: 5
notes:
  - Every run that is queued reports C(changed=true); a backup run is never idempotent.
  - "A run waited for can take hours. Give the task C(async) (the longest run, in seconds) so that no connection
    stays open meanwhile. With C(poll) above 0 the task waits and the output shows C(ASYNC POLL on <host>:
    jid=... started=True finished=False) at each poll, then C(ASYNC OK on <host>) and the usual result. With
    C(poll=0) the task returns at once with C(ansible_job_id) and C(finished=0); M(ansible.builtin.async_status)
    returns the module's result once the job is over (see EXAMPLES). A run still going when C(async) expires is
    not stopped on the server; the job reports a timeout."
seealso:
  - module: duplicati.fleet.backup_info
  - module: duplicati.fleet.server_info
'''

EXAMPLES = r'''
- name: Queue a run of the backup "Documents"
  duplicati.fleet.backup_run:
    backup: Documents
    password: "{{ duplicati_password }}"

- name: Run backup 3 first and wait for it (connection options for the whole group)
  module_defaults:
    group/duplicati.fleet.server:
      host_url: http://127.0.0.1:8200/
      password: "{{ duplicati_password }}"
  block:
    - name: Run and wait up to two hours
      duplicati.fleet.backup_run:
        backup: "3"
        skip_queue: true
        wait: true
        wait_timeout: 7200
        poll_interval: 10
      register: run

    - name: Report a run that finished with warnings
      ansible.builtin.debug:
        msg: "Backup {{ run.backup_id }} finished with warnings"
      when: run.result == 'Warning'

- name: Start a long run on every server at once, in the background
  duplicati.fleet.backup_run:
    backup: Documents
    wait: true
    wait_timeout: 14400
    password: "{{ duplicati_password }}"
  async: 14400
  poll: 0
  register: long_run

- name: Collect the results (until the job is over, at most four hours)
  ansible.builtin.async_status:
    jid: "{{ long_run.ansible_job_id }}"
  register: long_run_result
  until: long_run_result is finished
  retries: 480
  delay: 30

- name: Show each server's result (Success, Warning, Error or Fatal)
  ansible.builtin.debug:
    var: long_run_result.result
'''

RETURN = r'''
task_id:
  description: The ID of the server task that runs the backup. V(null) in check mode.
  returned: always
  type: int
  sample: 7
backup_id:
  description: The ID of the backup that was run.
  returned: always
  type: str
  sample: "3"
backup_name:
  description: The name of the backup that was run.
  returned: always
  type: str
  sample: Documents
result:
  description:
    - The result of the run from the backup log (C(ParsedResult)) when O(wait=true), one of
      C(Success), C(Warning), C(Error) or C(Fatal); C(Unknown) when the run wrote no new log entry
      (the result of an earlier run is never reported).
    - V(null) when the module did not wait, and in check mode.
  returned: always
  type: str
  sample: Success
task_status:
  description:
    - The state of the server's task for this run when O(wait=true), C(Completed) or C(Failed)
      (V(null) when the server no longer knows the task).
    - V(null) when the module did not wait, and in check mode.
  returned: always
  type: str
  sample: Completed
error_message:
  description: The C(ErrorMessage) of a failed task, else V(null).
  returned: always
  type: str
  sample: The backup database is currently in use by another operation and cannot be accessed concurrently.
'''

import time

from ansible_collections.duplicati.fleet.plugins.module_utils import backups, server_state
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.server_module import ServerModule

FAILED_RESULTS = ('Error', 'Fatal')


def wait_for_run(client, backup_id, timeout, poll_interval, sleep=time.sleep, clock=time.monotonic):
    """Poll ``GET serverstate`` until the backup is neither active nor queued (as ServerUtil's ``run --wait``).

    Raises ``DuplicatiError`` when it is still busy after ``timeout`` seconds.
    """
    deadline = clock() + timeout
    while server_state.backup_is_busy(server_state.get_state(client), backup_id):
        if clock() >= deadline:
            raise DuplicatiError('The backup %s is still queued or running on %s after %d seconds.' % (backup_id, client.host_url, timeout),
                                 hint='The run goes on; raise wait_timeout to wait longer.')
        sleep(max(0.1, min(poll_interval, deadline - clock())))


def newest_log_id(client, backup_id):
    """The ID of the newest entry of the backup log before the run (None: no log yet, or unreadable)."""
    try:
        entry = backups.latest_log_entry(client, backup_id)
    except DuplicatiError:
        return None
    return entry.get('ID') if entry is not None else None


def run(server):
    params = server.params
    if params['poll_interval'] < 1:
        raise DuplicatiError('Invalid poll_interval %d: it must be at least 1 second.' % params['poll_interval'])
    if params['wait_timeout'] < 1:
        raise DuplicatiError('Invalid wait_timeout %d: it must be at least 1 second.' % params['wait_timeout'])
    entry = backups.require_backup(server.client, params['backup'])
    result = dict(changed=True, backup_id=backups.backup_id(entry), backup_name=backups.backup_name(entry), task_id=None, result=None,
                  task_status=None, error_message=None)
    if server.check_mode:
        return result
    before = newest_log_id(server.client, result['backup_id']) if params['wait'] else None
    answer = backups.run_backup(server.client, result['backup_id'], skip_queue=params['skip_queue'])
    result['task_id'] = answer.get('ID') if isinstance(answer, dict) else None
    if not params['wait']:
        return result
    failure = None
    try:
        wait_for_run(server.client, result['backup_id'], params['wait_timeout'], params['poll_interval'])
        task = backups.task_state(server.client, result['task_id']) if result['task_id'] is not None else None
        if task is not None:
            result['task_status'], result['error_message'] = task.get('Status'), task.get('ErrorMessage')
        latest = backups.latest_log_entry(server.client, result['backup_id'])
        is_new = latest is not None and (before is None or latest.get('ID') != before)
        result['result'] = (backups.parsed_result(latest) if is_new else None) or 'Unknown'
    except DuplicatiError as err:
        failure = str(err)
    if failure is not None:
        # The run is queued: report it with the failure, so the caller knows what happened.
        server.fail('The run of backup %s was queued (task %s), but waiting for it failed: %s' % (result['backup_id'], result['task_id'], failure),
                    **result)
    reason = (': %s' % result['error_message']) if result['error_message'] else ''
    if result['result'] in FAILED_RESULTS:
        server.fail('The backup %s (%s) finished with %s%s.' % (result['backup_name'], result['backup_id'], result['result'], reason), **result)
    if result['task_status'] == 'Failed':
        server.fail('The run of backup %s (%s) failed on the server before it wrote a result%s.'
                    % (result['backup_name'], result['backup_id'], reason or ' (no error message)'), **result)
    return result


def main():
    argument_spec = dict(
        backup=dict(type='str', required=True),
        skip_queue=dict(type='bool', default=False),
        wait=dict(type='bool', default=False),
        wait_timeout=dict(type='int', default=3600),
        poll_interval=dict(type='int', default=5),
    )
    ServerModule(argument_spec).execute(run)


if __name__ == '__main__':
    main()
