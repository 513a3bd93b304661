#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: service
short_description: Converge the Duplicati Agent or Server service, its options and its state
version_added: 0.1.0
description:
  - Writes the service options (C(DAEMON_OPTS)) the Duplicati packages read, enables or disables the service and
    starts, stops or restarts it, in one call.
  - On Linux the packages start C(duplicati-agent.service) (C(duplicati-agent run $DAEMON_OPTS)) and
    C(duplicati.service) (C(duplicati-server $DAEMON_OPTS)) with systemd. The options live in
    C(/etc/default/duplicati-agent) or C(/etc/default/duplicati) on deb systems and in C(/etc/sysconfig/...) on rpm
    systems; the file the unit really uses (its C(EnvironmentFile)) wins when the unit is installed.
  - Every option is quoted so that systemd (and a shell sourcing the file) hands exactly that argument to the
    service binary. Other lines of the file are kept.
  - A running service is restarted only when its options changed or when O(state=restarted).
  - On macOS the options are the C(ProgramArguments) of the launchd job. O(macos_scope=user) uses the package's
    LaunchAgent for the logged-in console user; O(macos_scope=system) writes a LaunchDaemon so the agent runs without
    anyone logged in, and takes the package's LaunchAgent out of the way.
author:
  - duplicati.fleet maintainers (!UNKNOWN)
options:
  name:
    description: Which Duplicati service.
    type: str
    required: true
    choices: [agent, server]
  state:
    description:
      - V(started) starts a stopped service (and restarts a running one whose options changed).
      - V(stopped) stops it. V(restarted) always restarts it.
      - When omitted, the running state is left alone, except that a running service whose options changed is
        restarted so that they take effect.
    type: str
    choices: [started, stopped, restarted]
  enabled:
    description: Whether the service starts at boot (systemd) or at load (launchd). Omit to leave it as it is.
    type: bool
  masked:
    description:
      - Whether the systemd unit is masked (linked to C(/dev/null), so that nothing can start it), as
        O(ansible.builtin.systemd_service#module:masked). Omit to leave it as it is.
      - V(false) unmasks a masked unit (C(systemctl unmask)) before it is enabled or started.
      - V(true) stops the unit and then masks it (C(systemctl mask)); it cannot go with O(state=started),
        O(state=restarted) or O(enabled=true). A unit that is not installed yet can be masked.
      - A masked unit is neither started nor enabled by systemd, so with O(masked) omitted, O(state=started),
        O(state=restarted) or O(enabled=true) on a masked unit fail before anything changes.
      - On macOS launchd has no masks, so V(false) holds already and is accepted, and V(true) is an error (use
        O(enabled=false) there). Windows hosts do not run this module; the role C(duplicati.fleet.duplicati_agent) uses
        M(ansible.windows.win_service) there.
    type: bool
  daemon_opts:
    description:
      - The arguments given to the service binary after C(run) (agent) or as its only arguments (server), for
        example C(--webservice-port=8210). Use the C(--name=value) form.
      - Omit to leave the options as they are; an empty list clears them.
      - Secret values (C(--webservice-password), C(--settings-encryption-key), ...) are visible to every local
        user on the process list; put them into C(preload.json) with M(duplicati.fleet.preload) instead. The module
        warns when it sees one, and masks their values in its result and diff.
    type: list
    elements: str
  options_file:
    description:
      - Path of the options file (Linux). Default is the C(EnvironmentFile) of the installed unit, else
        C(/etc/default/...) on deb systems and C(/etc/sysconfig/...) on rpm systems.
      - systemd does not read the file of a masked unit, so for a masked unit the default is the package's path.
    type: path
  macos_scope:
    description:
      - macOS only. V(user) drives the package's LaunchAgent in the console user's C(gui/<uid>) domain.
      - V(system) installs C(/Library/LaunchDaemons/com.duplicati.<name>.launchdaemon.plist) running as root
        without a logged-in user, and boots out and disables the package's LaunchAgent.
      - The same name as M(duplicati.fleet.agent_info)'s option. The alias O(scope) is deprecated.
    type: str
    choices: [user, system]
    default: user
    aliases: [scope]
notes:
  - Needs root to write the options file and control system services.
  - The options file is written atomically; it keeps its mode, or gets 0644 (0600 when it holds a secret option).
seealso:
  - module: duplicati.fleet.preload
  - module: duplicati.fleet.agent_info
attributes:
  check_mode:
    support: full
    description: Computes the options file and the service actions; nothing is written and no service is touched.
  diff_mode:
    support: full
    description:
      - The options file (or launchd plist) before and after, with secret values masked.
      - "When O(masked) changes the unit, the diff also says so (for example C(duplicati-agent.service: masked -> unmasked))."
'''

EXAMPLES = r'''
- name: Run the agent with its local API on port 8210 only, enabled and started
  duplicati.fleet.service:
    name: agent
    daemon_opts:
      - --webservice-port=8210
      - --webservice-interface=loopback
    enabled: true
    state: started

- name: Stop and disable the Duplicati server
  duplicati.fleet.service:
    name: server
    state: stopped
    enabled: false

- name: Unmask the agent's unit (someone ran systemctl mask on it), then enable and start it
  duplicati.fleet.service:
    name: agent
    masked: false
    enabled: true
    state: started

- name: Keep the Duplicati server from being started at all on this host
  duplicati.fleet.service:
    name: server
    masked: true

- name: Restart the agent (for example after changing preload.json)
  duplicati.fleet.service:
    name: agent
    state: restarted

- name: On a Mac, run the agent as a LaunchDaemon so it works without a logged-in user
  duplicati.fleet.service:
    name: agent
    macos_scope: system
    enabled: true
    state: started
'''

RETURN = r'''
options_file:
  description: The options file (Linux) or launchd plist (macOS) that holds the options.
  returned: always
  type: str
  sample: /etc/default/duplicati-agent
daemon_opts:
  description: The options now in effect, with secret values masked. V(null) when no options were found.
  returned: always
  type: list
  elements: str
  sample: ['--webservice-port=8210']
options_changed:
  description: Whether the options were (or in check mode would be) changed.
  returned: always
  type: bool
actions:
  description: The service manager actions taken (or that would be taken in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ['enable', 'restart']
active:
  description: Whether the service runs after this call (predicted in check mode).
  returned: when the service is installed
  type: bool
enabled:
  description: Whether the service is enabled after this call (predicted in check mode). A masked unit is not enabled.
  returned: when the service is installed
  type: bool
masked:
  description: Whether the systemd unit is masked after this call (predicted in check mode).
  returned: on Linux
  type: bool
service:
  description: The systemd unit or launchd label.
  returned: always
  type: str
  sample: duplicati-agent.service
'''

import platform

from ansible_collections.duplicati.fleet.plugins.module_utils import launchd
from ansible_collections.duplicati.fleet.plugins.module_utils import systemd
from ansible_collections.duplicati.fleet.plugins.module_utils.agent_module import AgentModule


def run(host):
    params = host.params
    wanted = dict(state=params['state'], enabled=params['enabled'], daemon_opts=params['daemon_opts'], masked=params['masked'])
    if platform.system() == 'Darwin':
        return launchd.converge(host.module, params['name'], macos_scope=params['macos_scope'], **wanted)
    return systemd.converge(host.module, params['name'], options_file=params['options_file'], **wanted)


def main():
    AgentModule(
        dict(
            name=dict(type='str', required=True, choices=['agent', 'server']),
            state=dict(type='str', choices=['started', 'stopped', 'restarted']),
            enabled=dict(type='bool'),
            masked=dict(type='bool'),
            daemon_opts=dict(type='list', elements='str'),
            options_file=dict(type='path'),
            macos_scope=dict(type='str', choices=['user', 'system'], default='user', aliases=['scope'],
                             deprecated_aliases=[dict(name='scope', version='2.0.0', collection_name='duplicati.fleet')]),
        ),
        io_failure='Failed to manage the Duplicati service',
    ).execute(run)


if __name__ == '__main__':
    main()
