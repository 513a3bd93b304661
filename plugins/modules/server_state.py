#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: server_state
short_description: Pause or resume a Duplicati server
version_added: 0.1.0
description:
  - Pauses a Duplicati server (no scheduled or queued backup starts) or resumes it, like
    C(duplicati-server-util pause) and C(resume).
  - Idempotent against the server's program state. A server that is already paused is left alone
    (its pause end is not moved), a running server is not resumed again.
author:
  - duplicati.fleet contributors (!UNKNOWN)
extends_documentation_fragment:
  - duplicati.fleet.server
attributes:
  check_mode:
    support: full
    description: The server state is read and nothing is sent.
  diff_mode:
    support: full
    description: The program state before and after.
options:
  state:
    description:
      - V(paused) pauses the server, V(running) resumes it.
    type: str
    choices: [paused, running]
    required: true
  duration:
    description:
      - With O(state=paused), how long to pause, as a Duplicati timespan, for example V(30m), V(1h30m), V(1D) or V(90)
        (seconds). Units are case-sensitive (V(s), V(m), V(h), V(D), V(W), V(M), V(Y)).
      - When omitted (or V(0)), the pause lasts until the server is resumed.
      - The value is checked before anything is sent to the server.
    type: str
  pause_transfers:
    description:
      - With O(state=paused), also pause the transfers of a backup that is running (C(pauseTransfers)).
    type: bool
    default: false
seealso:
  - module: duplicati.fleet.server_info
'''

EXAMPLES = r'''
- name: Pause every server of the fleet for the maintenance window
  duplicati.fleet.server_state:
    state: paused
    duration: 2h
    pause_transfers: true
    password: "{{ duplicati_password }}"

- name: Resume them afterwards
  module_defaults:
    group/duplicati.fleet.server:
      password: "{{ duplicati_password }}"
  duplicati.fleet.server_state:
    state: running
'''

RETURN = r'''
program_state:
  description: The program state of the server after the module ran (in check mode, the predicted one).
  returned: always
  type: str
  sample: Paused
estimated_pause_end:
  description:
    - When the pause ends, as the server reports it (C(EstimatedPauseEnd)). V(null) when the server runs, the pause has no end,
      or in check mode when the server would be paused.
  returned: always
  type: str
  sample: "2026-08-22T14:30:00Z"
'''

from ansible_collections.duplicati.fleet.plugins.module_utils import server_state
from ansible_collections.duplicati.fleet.plugins.module_utils.server_module import ServerModule, diff_result


def run(server):
    params = server.params
    want_paused = params['state'] == 'paused'
    if params['duration'] is not None:
        server_state.check_duration(params['duration'])  # before anything is sent
    before = server_state.get_state(server.client)
    result = dict(changed=server_state.is_paused(before) != want_paused)
    after = before
    if result['changed'] and not server.check_mode:
        if want_paused:
            server_state.pause(server.client, params['duration'], pause_transfers=True if params['pause_transfers'] else None)
        else:
            server_state.resume(server.client)
        after = server_state.get_state(server.client)
    if result['changed'] and server.check_mode:
        result.update(program_state=server_state.PAUSED if want_paused else server_state.RUNNING, estimated_pause_end=None)
    else:
        result.update(program_state=after.get('ProgramState'), estimated_pause_end=server_state.pause_end(after))
    if server.diff_mode and result['changed']:
        diff_result(result, dict(program_state=before.get('ProgramState'), estimated_pause_end=server_state.pause_end(before)),
                    dict(program_state=result['program_state'], estimated_pause_end=result['estimated_pause_end']))
    return result


def main():
    argument_spec = dict(
        state=dict(type='str', required=True, choices=['paused', 'running']),
        duration=dict(type='str'),
        pause_transfers=dict(type='bool', default=False),
    )
    ServerModule(argument_spec).execute(run)


if __name__ == '__main__':
    main()
