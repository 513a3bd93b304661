#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: server_info
short_description: Health and state of a Duplicati server
version_added: 0.1.0
description:
  - Returns the health of a Duplicati server (C(duplicati-server-util health)), its program state, pause end,
    active task and queue (C(duplicati-server-util status)), its version and its number of backups.
  - Never changes anything.
author:
  - duplicati.fleet contributors (!UNKNOWN)
extends_documentation_fragment:
  - duplicati.fleet.server
attributes:
  check_mode:
    support: full
    description: The module never changes anything, so check mode returns the same result as a real run.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show.
options: {}
notes:
  - The health check needs no authentication. The module fails when the server cannot be reached,
    and returns RV(healthy=false) when it answers the health check with an error.
  - The module fails when a healthy server has no C(api/v1/systeminfo) endpoint. Every Duplicati server
    from 2.1 on has it, so such a O(host_url) does not point at a supported Duplicati server.
seealso:
  - module: duplicati.fleet.backup_info
  - module: duplicati.fleet.server_state
'''

EXAMPLES = r'''
- name: Read the state of every server
  duplicati.fleet.server_info:
    password: "{{ duplicati_password }}"
  register: info

- name: Fail when a server is unhealthy or paused
  ansible.builtin.assert:
    that:
      - info.healthy
      - info.program_state == 'Running'

- name: Through the action group
  module_defaults:
    group/duplicati.fleet.server:
      host_url: http://127.0.0.1:8200/
      access_token: "{{ forever_token }}"
  duplicati.fleet.server_info:

- name: A server with its own certificate, signed in from its database (its thumbprint is pinned)
  duplicati.fleet.server_info:
    host_url: https://127.0.0.1:8200/
    server_data_folder: /root/.config/Duplicati

- name: The server of a Duplicati Agent started with --disable-pre-shared-key=true --webservice-disable-signin-tokens=false
  duplicati.fleet.server_info:
    host_url: http://127.0.0.1:8210/
    agent_settings_file: /root/.config/Duplicati/agent.json

- name: Pin a certificate by its SHA1 thumbprint
  duplicati.fleet.server_info:
    host_url: https://nas.example:8200/
    password: "{{ duplicati_password }}"
    host_certificate: [9F:3A:5C:21:0B:7E:44:D1:86:2C:5A:90:13:E7:6B:C4:0D:F2:88:1A]
'''

RETURN = r'''
healthy:
  description: Whether the server answered its health check (C(GET /health)) with success.
  returned: always
  type: bool
  sample: true
program_state:
  description: C(Running) or C(Paused).
  returned: when the server is healthy
  type: str
  sample: Running
estimated_pause_end:
  description: When a pause ends, as the server reports it; V(null) when it is not paused or the pause has no end.
  returned: when the server is healthy
  type: str
  sample: "2026-08-22T14:30:00Z"
active_task:
  description: The task the server is running, V(null) when it is idle.
  returned: when the server is healthy
  type: dict
  sample: {"task_id": 7, "backup_id": "3"}
  contains:
    task_id:
      description: The task ID.
      type: int
    backup_id:
      description: The ID of the backup the task belongs to.
      type: str
queue:
  description: The tasks waiting in the scheduler queue, first to run first.
  returned: when the server is healthy
  type: list
  elements: dict
  sample: [{"task_id": 8, "backup_id": "1"}]
  contains:
    task_id:
      description: The task ID.
      type: int
    backup_id:
      description: The ID of the backup the task belongs to.
      type: str
server_version:
  description:
    - The version of the Duplicati server (C(ServerVersion) of C(GET api/v1/systeminfo), which every supported server answers).
    - V(null) only when the server itself reports no version.
  returned: when the server is healthy
  type: str
  sample: 2.3.0.4
backup_count:
  description: The number of backups on the server.
  returned: when the server is healthy
  type: int
  sample: 3
has_warning:
  description: Whether the server reports a warning (C(HasWarning)).
  returned: when the server is healthy
  type: bool
has_error:
  description: Whether the server reports an error (C(HasError)).
  returned: when the server is healthy
  type: bool
'''

from ansible_collections.duplicati.fleet.plugins.module_utils import backups, server_state
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.server_module import ServerModule
from ansible_collections.duplicati.fleet.plugins.module_utils.transport import Failure


def _task(pair):
    """A ``{Item1: task id, Item2: backup id}`` pair of the status DTO."""
    if not isinstance(pair, dict):
        return None
    return dict(task_id=pair.get('Item1'), backup_id=None if pair.get('Item2') is None else str(pair.get('Item2')))


# Every supported server (2.1 and later, WebserverCore/Endpoints/V1/SystemInfo.cs) answers GET systeminfo.
NO_SYSTEMINFO = Failure('the server has no systeminfo endpoint, which every Duplicati server from 2.1 on has',
                        'Check that host_url points at a Duplicati server (2.1 or later) and includes its path prefix, if any.')


def server_version(client):
    """``ServerVersion`` of ``GET systeminfo`` (None only if the server reports none); a missing endpoint is an error."""
    info = client.request('GET', 'systeminfo', action='read the version of', failures={404: NO_SYSTEMINFO})
    if not isinstance(info, dict):
        raise DuplicatiError('Failed to read the version of %s: the systeminfo answer is not an object.' % client.host_url)
    version = info.get('ServerVersion')
    return None if version is None else str(version)


def run(server):
    health = server_state.health(server.client)
    if not health['healthy'] and health['status'] is None:
        raise DuplicatiError(health['message'])  # not reachable at all: no answer to report
    result = dict(changed=False, healthy=health['healthy'])
    if not health['healthy']:
        server.warn('The server at %s is unhealthy: %s' % (server.client.host_url, health['message']))
        return result
    state = server_state.get_state(server.client)
    result.update(
        program_state=state.get('ProgramState'),
        estimated_pause_end=server_state.pause_end(state),
        active_task=_task(state.get('ActiveTask')),
        queue=[t for t in (_task(p) for p in state.get('SchedulerQueueIds') or []) if t is not None],
        has_warning=bool(state.get('HasWarning')),
        has_error=bool(state.get('HasError')),
        server_version=server_version(server.client),
        backup_count=len(backups.list_backups(server.client)),
    )
    return result


def main():
    ServerModule(dict()).execute(run)


if __name__ == '__main__':
    main()
