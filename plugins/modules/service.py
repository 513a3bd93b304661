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
    description: The options file (or launchd plist) before and after, with secret values masked.
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
  description: Whether the service is enabled after this call (predicted in check mode).
  returned: when the service is installed
  type: bool
service:
  description: The systemd unit or launchd label.
  returned: always
  type: str
  sample: duplicati-agent.service
'''

import os
import platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import write_atomic
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils import service_manager as sm


def _read(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _masked_text(text, args):
    """The options file text for a diff, secrets masked."""
    if text is None:
        return ''
    parsed = sm.parse_daemon_opts(text)
    if parsed and sm.secret_options(parsed):
        return sm.render_options_file(text, sm.mask_daemon_opts(parsed))
    return text


def _predict(status, actions):
    active, enabled = status['active'], status['enabled']
    for action in actions:
        if action in ('start', 'restart'):
            active = True
        elif action == 'stop':
            active = False
        elif action == 'enable':
            enabled = True
        elif action == 'disable':
            enabled = False
    return active, enabled


def converge_systemd(module, params):
    name = params['name']
    unit = sm.SystemdService(module, sm.SYSTEMD_UNITS[name])
    installed = unit.exists()
    wants_service = params['state'] is not None or params['enabled'] is not None
    if not installed and wants_service:
        raise DuplicatiError('The %s service is not installed on this host' % unit.unit,
                             hint='Install the Duplicati package first.')
    path = params['options_file'] or unit.options_file(name)
    result = {'options_file': path, 'service': unit.unit, 'options_changed': False}
    old_bytes = _read(path)
    old_text = old_bytes.decode('utf-8') if old_bytes is not None else None
    try:
        current = sm.parse_daemon_opts(old_text) if old_text is not None else None
    except DuplicatiError as err:
        if params['daemon_opts'] is None:
            raise DuplicatiError('Cannot read the options of %s: %s' % (path, err))
        current = None
    wanted = params['daemon_opts']
    options_changed = False
    if wanted is not None:
        new_text = sm.render_options_file(old_text, wanted)
        options_changed = (current or []) != wanted
        file_changed = new_text != old_text
        if sm.secret_options(wanted):
            module.warn('daemon_opts hold %s: every local user can read them on the process list. '
                        'Put secrets into preload.json (duplicati.fleet.preload) instead.' % ', '.join(sm.secret_options(wanted)))
        if file_changed:
            result['diff'] = {'before': _masked_text(old_text, current), 'after': _masked_text(new_text, wanted),
                              'before_header': path, 'after_header': path}
            if not module.check_mode:
                folder = os.path.dirname(path)
                if not os.path.isdir(folder):
                    raise DuplicatiError('Cannot write %s: the folder %s does not exist' % (path, folder))
                if old_bytes is not None:
                    mode = os.stat(path).st_mode & 0o7777
                else:
                    mode = 0o600 if sm.secret_options(wanted) else 0o644
                if sm.secret_options(wanted):
                    mode &= 0o700
                write_atomic(path, new_text, mode=mode)
            result['options_changed'] = True
        current = wanted
    result['daemon_opts'] = sm.mask_daemon_opts(current) if current is not None else None
    actions = []
    if installed:
        status = unit.status()
        actions = sm.plan_actions(status['active'], status['enabled'], params['state'], params['enabled'], options_changed)
        if not module.check_mode:
            for action in actions:
                unit.apply(action)
        result['active'], result['enabled'] = _predict(status, actions)
    result['actions'] = actions
    result['changed'] = bool(actions) or result['options_changed']
    return result


def _console_uid():
    uid = sm.console_owner()[0]
    return uid if uid is not None else os.getuid()


def converge_launchd(module, params):
    name = params['name']
    label, plist, default_args = sm.LAUNCHD_PACKAGE_AGENTS[name]
    package_args = sm.plist_program_arguments(_read(plist) or b'') or list(default_args)
    base = package_args[:len(default_args)]
    result = {'options_changed': False}
    actions = []
    if params['macos_scope'] == 'system':
        label, path = sm.LAUNCHD_SYSTEM_DAEMONS[name]
        job = sm.LaunchdService(module, label, path, 'system')
        old = _read(path)
        current = sm.plist_program_arguments(old)[len(base):] if old and sm.plist_program_arguments(old) else None
        wanted = params['daemon_opts'] if params['daemon_opts'] is not None else (current or [])
        new = sm.launchd_plist(label, base + wanted)
        if new != old:
            result['options_changed'] = True
            result['diff'] = {'before': (old or b'').decode('utf-8'), 'after': new.decode('utf-8'),
                              'before_header': path, 'after_header': path}
            if not module.check_mode:
                write_atomic(path, new, mode=0o644, owner=0, group=0)
        package_job = sm.LaunchdService(module, sm.LAUNCHD_PACKAGE_AGENTS[name][0], plist, 'gui/%d' % _console_uid())
        if params['state'] in ('started', 'restarted') and os.path.exists(plist) and package_job.is_loaded():
            actions.append('bootout package LaunchAgent')
            if not module.check_mode:
                package_job.apply('stop')
                package_job.apply('disable')
    else:
        path = plist
        job = sm.LaunchdService(module, label, path, 'gui/%d' % _console_uid())
        if not os.path.exists(path):
            raise DuplicatiError('The launchd job %s is not installed (%s is missing)' % (label, path),
                                 hint='Install the Duplicati package first, or use macos_scope=system.')
        current = package_args[len(base):]
        wanted = params['daemon_opts']
        if wanted is not None and wanted != current:
            old = _read(path)
            new = sm.launchd_plist(label, base + wanted, keep_alive=False)
            result['options_changed'] = True
            result['diff'] = {'before': old.decode('utf-8'), 'after': new.decode('utf-8'), 'before_header': path, 'after_header': path}
            if not module.check_mode:
                write_atomic(path, new, mode=0o644, owner=0, group=0)
    result['options_file'] = path
    result['service'] = label
    effective = params['daemon_opts'] if params['daemon_opts'] is not None else current
    result['daemon_opts'] = sm.mask_daemon_opts(effective) if effective is not None else None
    status = job.status() if job.exists() or module.check_mode else {'active': False, 'enabled': False}
    planned = sm.plan_actions(status['active'], status['enabled'], params['state'], params['enabled'], result['options_changed'])
    if not module.check_mode:
        for action in planned:
            job.apply(action)
    result['active'], result['enabled'] = _predict(status, planned)
    result['actions'] = actions + planned
    result['changed'] = bool(result['actions']) or result['options_changed']
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True, choices=['agent', 'server']),
            state=dict(type='str', choices=['started', 'stopped', 'restarted']),
            enabled=dict(type='bool'),
            daemon_opts=dict(type='list', elements='str'),
            options_file=dict(type='path'),
            macos_scope=dict(type='str', choices=['user', 'system'], default='user', aliases=['scope'],
                             deprecated_aliases=[dict(name='scope', version='2.0.0', collection_name='duplicati.fleet')]),
        ),
        supports_check_mode=True,
    )
    try:
        if platform.system() == 'Darwin':
            result = converge_launchd(module, module.params)
        else:
            result = converge_systemd(module, module.params)
    except DuplicatiError as err:
        module.fail_json(msg=str(err))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
