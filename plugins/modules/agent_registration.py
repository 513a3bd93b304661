#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: agent_registration
short_description: Register a Duplicati Agent with the Duplicati console, once
version_added: 0.1.0
description:
  - Registers the Duplicati Agent of a host with the Duplicati console using a pre-authorised registration URL
    (or any registration URL that a person then claims), idempotently.
  - The agent is registered when its C(agent.json) has a non-empty C(jwt) (decrypted with O(settings_passphrase)
    when the file's values are C(enc-v1) encrypted). Then, unless O(force=true), nothing runs and nothing changes.
  - The registration URL is a bearer secret; anyone holding it can add machines to the account. It never appears
    on a command line, in the result, in a log line or in an error message (errors show it with its query values
    masked).
  - O(method=agent) runs the installed agent binary (C(duplicati-agent run --agent-register-only)), handing the
    URL and passphrase over through a private preload file or the environment.
  - O(method=native) speaks the registration protocol itself and writes C(agent.json) exactly as the agent does,
    creating C(machineid.txt) and C(installation.txt) in the data folder when absent. It retries connection
    errors, HTTP 5xx and 429 (honouring C(Retry-After)) with exponential backoff and jitter, bounded by
    O(retries) and O(timeout). Useful on golden images, before the service first starts, or where the binary is
    slow to start.
  - O(state=absent) clears the registration like C(duplicati-agent clear) (the settings file is removed).
author:
  - duplicati.fleet maintainers (!UNKNOWN)
options:
  registration_url:
    description:
      - The registration URL from the Duplicati console, for example a pre-authorised link
        C(https://api.duplicati.com/remotecontrol/register?token=...).
      - Needed only when a registration happens. Falls back to the environment variable
        E(DUPLICATI_REGISTRATION_URL) (for AWX credentials).
    type: str
  state:
    description: V(present) registers when not yet registered; V(absent) removes the registration.
    type: str
    choices: [present, absent]
    default: present
  settings_file:
    description:
      - The agent's C(agent.json).
      - Default is C(<data_folder>/agent.json) when O(data_folder) is set, else the file the agent service reads.
      - On Linux it is resolved as the agent does, from the agent service's options file (the unit's
        C(EnvironmentFile), C(/etc/default/duplicati-agent) or C(/etc/sysconfig/duplicati-agent)). It is the file
        named by C(--agent-settings-file) in C(DAEMON_OPTS), else C(agent.json) in the data folder set by
        C(--server-datafolder) or C(--portable-mode) in C(DAEMON_OPTS) or by E(DUPLICATI__SERVER_DATAFOLDER) or
        E(DUPLICATI_HOME) in the file, else C(/root/.config/Duplicati/agent.json).
      - On macOS it is C(~/Library/Application Support/Duplicati/agent.json) of the console user.
    type: path
  settings_passphrase:
    description:
      - The passphrase the agent is started with (C(--agent-settings-file-passphrase)); at least 8 characters.
      - With it, the C(jwt) and C(settingsEncryptionKey) values of C(agent.json) are C(enc-v1) encrypted.
      - A wrong or missing passphrase for an encrypted file is an error.
    type: str
  data_folder:
    description:
      - The agent's data folder (C(--server-datafolder)), which holds C(machineid.txt) and C(installation.txt).
      - Default is the folder of O(settings_file) when that is set, else the agent service's data folder, resolved
        as described for O(settings_file).
    type: path
  force:
    description:
      - Register again even if already registered. The old registration is replaced only when the new one
        succeeded.
    type: bool
    default: false
  method:
    description: V(agent) runs the installed agent binary; V(native) speaks the registration protocol directly.
    type: str
    choices: [agent, native]
    default: agent
  agent_path:
    description:
      - The agent binary for O(method=agent). Default is the installed one (C(/usr/bin/duplicati-agent) on Linux,
        C(/usr/local/duplicati-agent/duplicati-agent) on macOS).
      - Its install folder also tells O(method=native) the version and package type to report.
    type: path
  url_handover:
    description:
      - How O(method=agent) gives the agent the URL. V(preload) writes a private preload file (every version);
        V(environment) uses E(DUPLICATI__REGISTER_REMOTE_CONTROL) (2.3.0.4 and later).
      - The passphrase always goes through a private preload file.
    type: str
    choices: [preload, environment]
    default: preload
  owner:
    description: Owner of C(agent.json), the identity files and a newly created data folder (the service user).
    type: str
  group:
    description: Group of the files written.
    type: str
  timeout:
    description: Seconds the whole registration may take, retries and waits included.
    type: int
    default: 120
  retries:
    description:
      - How often O(method=native) retries a failed request (connection error, 5xx, 429 without C(Retry-After)).
      - A 429 answer with C(Retry-After) (the console pacing a fleet) is waited out as told and does not count;
        O(timeout) bounds those waits.
    type: int
    default: 8
  validate_certs:
    description: Verify the console's TLS certificate (O(method=native)).
    type: bool
    default: true
  ca_path:
    description: A CA bundle to verify the console's certificate with (O(method=native)).
    type: path
notes:
  - Registrations of many hosts against one console can be spread with C(throttle) or C(serial); the native method
    backs off by itself when the console answers 429.
  - In check mode the module predicts the result from C(agent.json) and never contacts the console.
  - When the console sends settings with the claim, the agent (2.3.0.1, 2.3.0.100 canary and later) saves
    C(agent.json) and then waits for its local server to apply them, which never runs with C(--agent-register-only).
    With O(method=agent), a run that fails or times out after the agent saved a C(jwt) is reported as registered,
    with a warning, and an old C(agent.json) is not put back.
  - O(method=native) does not apply settings sent with the claim (the agent applies them as an C(updatesettings)
    control message); it warns and names them.
seealso:
  - module: duplicati.fleet.agent_info
  - module: duplicati.fleet.preload
  - module: duplicati.fleet.service
attributes:
  check_mode:
    support: full
    description: Predicts from C(agent.json) whether a registration would happen; the console is never contacted and nothing is written.
  diff_mode:
    support: full
    description: Whether the agent is registered and its console URL, before and after. Tokens are never shown.
'''

EXAMPLES = r'''
- name: Register the agent with a pre-authorised link kept in a vault
  duplicati.fleet.agent_registration:
    registration_url: "{{ vault_duplicati_registration_url }}"
  throttle: 20

- name: Register on a golden image without starting the agent, with an encrypted agent.json
  duplicati.fleet.agent_registration:
    registration_url: "{{ vault_duplicati_registration_url }}"
    method: native
    settings_passphrase: "{{ vault_agent_settings_passphrase }}"

- name: Move a machine to another account
  duplicati.fleet.agent_registration:
    registration_url: "{{ vault_new_account_link }}"
    force: true

- name: Forget the registration
  duplicati.fleet.agent_registration:
    state: absent
'''

RETURN = r'''
registered:
  description: Whether the agent is registered after this call (predicted in check mode).
  returned: always
  type: bool
  sample: true
settings_file:
  description: The C(agent.json) that was checked or written.
  returned: always
  type: str
  sample: /root/.config/Duplicati/agent.json
server_url:
  description:
    - The console's websocket URL the agent connects to (C(serverUrl) of C(agent.json)).
    - Null when not registered, and in check mode before a registration.
  returned: always
  type: str
  sample: wss://api.duplicati.com/remotecontrol/agent
machine_id:
  description: The machine ID the console knows this host by (first line of C(machineid.txt)); null when unknown.
  returned: always
  type: str
  sample: 3f2c0b3f9c1d4f7e8a4b1d2c3e4f5a6b
method:
  description: The method used (or that would be used) to register; null when nothing was registered.
  returned: always
  type: str
  sample: agent
attempts:
  description: HTTP requests sent to the console (O(method=native) only).
  returned: when a native registration ran
  type: int
  sample: 1
'''

import os

from ansible.module_utils.basic import env_fallback

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_host
from ansible_collections.duplicati.fleet.plugins.module_utils import agent_runner
from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings
from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils import registration
from ansible_collections.duplicati.fleet.plugins.module_utils.agent_module import AgentModule
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import ensure_private_directory, file_lock
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError


def _paths(host):
    """``(agent.json, data folder)``; the data folder of the service's options is handed to the agent run here."""
    params = host.params
    if params['settings_file']:
        return params['settings_file'], params['data_folder'] or os.path.dirname(params['settings_file'])
    if params['data_folder']:
        return os.path.join(params['data_folder'], df.AGENT_SETTINGS_FILENAME), params['data_folder']
    os_name = agent_host.host_os()
    agent_path = params['agent_path'] or agent_host.default_agent_path(os_name)
    settings_file, folder, overridden = agent_host.service_paths(host.module, os_name, agent_host.install_dir(agent_path))
    if overridden:
        params['data_folder'] = folder
    return settings_file, folder


def _state(settings_file, passphrase):
    settings = agent_settings.load_agent_settings(settings_file, passphrase)
    return {'registered': agent_settings.is_registered(settings), 'server_url': settings.get('serverUrl') or None}, settings


def _machine_id(folder):
    try:
        return df.read_machine_id(folder) or None
    except (IOError, OSError):
        return None


def _remove(host, settings_file, result):
    result.update(registered=False, server_url=None)
    if os.path.exists(settings_file):
        result.update(changed=True, diff={'before': {'registered': True, 'settings_file': settings_file}, 'after': {'registered': False}})
        if not host.check_mode:
            try:
                os.unlink(settings_file)
            except OSError as err:
                raise DuplicatiError('Cannot remove %s: %s' % (settings_file, err.strerror or err))
    return result


def _register(host, settings_file, folder, url, settings):
    params = host.params
    if params['method'] == 'native':
        client, warning = registration.register_native(
            settings_file, folder, url, settings, params['agent_path'], params['settings_passphrase'], params['owner'],
            params['group'], timeout=params['timeout'], retries=params['retries'], validate_certs=params['validate_certs'],
            ca_path=params['ca_path'])
        attempts = {'attempts': client.attempts}
    else:
        warning = agent_runner.register_with_agent(
            params['agent_path'], url, settings_file, params['settings_passphrase'], params['data_folder'],
            params['url_handover'], params['timeout'], params['force'], params['owner'], params['group'])
        attempts = {}
    if warning:
        host.warn(warning)
    return attempts


def run(host):
    params = host.params
    if params['timeout'] <= 0:
        raise DuplicatiError('timeout must be a positive number of seconds')
    if params['retries'] < 0:
        raise DuplicatiError('retries must be 0 or more')
    settings_file, folder = _paths(host)
    result = {'changed': False, 'settings_file': settings_file, 'method': None, 'machine_id': _machine_id(folder)}
    if params['state'] == 'absent':
        return _remove(host, settings_file, result)

    before, settings = _state(settings_file, params['settings_passphrase'])
    result.update(before)
    if before['registered'] and not params['force']:
        return result
    url = registration.check_registration_url(params['registration_url'])
    params['agent_path'] = params['agent_path'] or agent_host.default_agent_path(agent_host.host_os())
    result.update(changed=True, registered=True, method=params['method'],
                  diff={'before': before, 'after': {'registered': True, 'server_url': '(assigned by the console)'}})
    if host.check_mode:
        return result

    ensure_private_directory(folder, owner=params['owner'], group=params['group'])
    with file_lock(settings_file, timeout=max(60, params['timeout'])):
        # Another run may have registered this file while we waited for the lock.
        now, settings = _state(settings_file, params['settings_passphrase'])
        if now['registered'] and not params['force']:
            result.update(changed=False, server_url=now['server_url'], method=None, machine_id=_machine_id(folder))
            result.pop('diff')
            return result
        result.update(_register(host, settings_file, folder, url, settings))
    result['diff']['after'], dummy = _state(settings_file, params['settings_passphrase'])
    result.update(server_url=result['diff']['after']['server_url'], machine_id=_machine_id(folder))
    return result


def main():
    AgentModule(
        dict(
            registration_url=dict(type='str', no_log=True, fallback=(env_fallback, ['DUPLICATI_REGISTRATION_URL'])),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            settings_file=dict(type='path'),
            settings_passphrase=dict(type='str', no_log=True),
            data_folder=dict(type='path'),
            force=dict(type='bool', default=False),
            method=dict(type='str', choices=['agent', 'native'], default='agent'),
            agent_path=dict(type='path'),
            url_handover=dict(type='str', choices=['preload', 'environment'], default='preload'),
            owner=dict(type='str'),
            group=dict(type='str'),
            timeout=dict(type='int', default=120),
            retries=dict(type='int', default=8),
            validate_certs=dict(type='bool', default=True),
            ca_path=dict(type='path'),
        ),
        io_failure='Failed to register the Duplicati Agent',
        secret_urls=('registration_url',),
    ).execute(run)


if __name__ == '__main__':
    main()
