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
import platform

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_runner
from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings
from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils import registration
from ansible_collections.duplicati.fleet.plugins.module_utils import service_manager as sm
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import (
    ensure_private_directory,
    file_lock,
    resolve_gid,
    resolve_uid,
    user_home,
    write_atomic,
)
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError


def _host_os():
    return df.normalize_os(platform.system())


def _console_user_home():
    try:
        return user_home(os.stat('/dev/console').st_uid)
    except OSError:
        return df.host_home()


def default_paths(module, params):
    """``(agent.json, data folder, overridden)`` of the agent service when the task names neither."""
    if params['data_folder']:
        return os.path.join(params['data_folder'], df.AGENT_SETTINGS_FILENAME), params['data_folder'], True
    os_name = _host_os()
    if os_name == df.LINUX:
        agent_path = params['agent_path'] or agent_runner.default_agent_path(os_name)
        install_dir = agent_runner.agent_install_dir(agent_path) if os.path.exists(agent_path) else None
        return sm.agent_service_paths(sm.agent_options_text(module), install_dir)
    home = _console_user_home() if os_name == df.MACOS else None
    settings_file = df.service_agent_settings_path(os_name, home=home)
    return settings_file, os.path.dirname(settings_file), False


def _state(settings):
    return {'registered': agent_settings.is_registered(settings), 'server_url': settings.get('serverUrl') or None}


def _machine_id(folder):
    try:
        return df.read_machine_id(folder) or None
    except (IOError, OSError):
        return None


def planned_identity(folder):
    """The install and machine IDs the agent would use, and the identity files still to write.

    Nothing is written here: the files are written only once the console accepted the
    machine, so a refused registration leaves the host as it was.
    """
    files = {}
    install_id = df.read_install_id(folder)
    install_path = os.path.join(folder, df.INSTALL_ID_FILENAME)
    if not os.path.isfile(install_path):
        legacy = os.path.join(folder, 'updates', df.INSTALL_ID_FILENAME)
        if os.path.isfile(legacy):
            with open(legacy, 'rb') as handle:
                content = handle.read()
        else:
            content = df.install_id_file_text().encode('utf-8')
        files[install_path] = content
        install_id = df.first_nonblank_line(content.decode('utf-8-sig', 'replace'))
    machine_path = os.path.join(folder, df.MACHINE_ID_FILENAME)
    if os.path.isfile(machine_path):
        machine_id = df.read_machine_id(folder)
    else:
        content = df.machine_id_file_text(install_id)
        files[machine_path] = content.encode('utf-8')
        machine_id = df.first_nonblank_line(content)
    return install_id, machine_id, files


def register_native(module, params, settings_file, folder, url, existing):
    owner, group = params['owner'], params['group']
    install_id, machine_id, identity_files = planned_identity(folder)
    install_dir = agent_runner.agent_install_dir(params['agent_path']) if os.path.exists(params['agent_path']) else None
    body = registration.registration_body(
        url,
        machine_id=machine_id,
        install_id=install_id,
        version=agent_runner.read_installed_version(install_dir) if install_dir else None,
        package_type_id=agent_runner.read_package_type_id(install_dir) if install_dir else '',
        operating_system=registration.operating_system_name(platform.system()))
    client = registration.RegistrationClient(url, timeout=params['timeout'], retries=params['retries'],
                                             validate_certs=params['validate_certs'], ca_path=params['ca_path'])
    claim = client.register(body)
    for path, content in sorted(identity_files.items()):
        write_atomic(path, content, mode=0o600, owner=owner, group=group)
    settings = dict(existing)
    settings.update({'jwt': claim['jwt'], 'serverUrl': claim['serverUrl'], 'settingsEncryptionKey': claim['localEncryptionKey'],
                     'serverCertificates': claim['serverCertificates'], 'certificateUrl': claim['certificateUrl']})
    agent_settings.save_agent_settings(settings_file, settings, params['settings_passphrase'], owner=owner, group=group)
    warning = registration.unapplied_settings_warning(claim)
    if warning:
        module.warn(warning)
    return {'attempts': client.attempts}


def _saved_registration(settings_file, passphrase):
    """Whether ``settings_file`` holds a registration now (False when it is absent or unreadable)."""
    try:
        return agent_settings.is_registered(agent_settings.load_agent_settings(settings_file, passphrase))
    except DuplicatiError:
        return False


def register_with_agent(module, params, settings_file, url, force):
    """Run the agent; with ``force`` the old file is set aside and restored if the agent fails.

    The agent's ``RegisterAsync`` (Duplicati/Agent/Program.cs) saves agent.json as soon as the
    console has claimed the machine, and only then hands claim ``settings`` to its local server
    (``OnControlAsync`` -> ``WaitForServerAsync``), which is started after ``RegisterAsync``
    returns: with such settings ``run --agent-register-only`` never exits. So when the run fails
    or times out, a ``jwt`` the agent saved means it registered: that is reported (with a
    warning) and the old file is not restored over it.
    """
    aside = None
    if force and os.path.exists(settings_file):
        aside = '%s.%s.previous' % (settings_file, os.urandom(4).hex())
        os.replace(settings_file, aside)
    try:
        try:
            agent_runner.run_agent_registration(
                params['agent_path'], url, settings_file=settings_file, passphrase=params['settings_passphrase'],
                data_folder=params['data_folder'], handover=params['url_handover'], timeout=params['timeout'])
        except agent_runner.AgentRunError as err:
            if not _saved_registration(settings_file, params['settings_passphrase']):
                raise
            module.warn('The Duplicati Agent saved its registration in %s but did not finish (%s); the registration is kept. '
                        'An agent that received settings with the claim waits for its local server to apply them, and that '
                        'server does not run with --agent-register-only: those settings were not applied by this run.'
                        % (settings_file, err.message.rstrip('.')))
        settings = agent_settings.load_agent_settings(settings_file, params['settings_passphrase'])
        if not agent_settings.is_registered(settings):
            raise DuplicatiError('The Duplicati Agent exited without an error but %s holds no registration' % settings_file)
    except Exception:
        if aside is not None:
            os.replace(aside, settings_file)
            aside = None
        raise
    finally:
        if aside is not None:
            os.unlink(aside)
    if params['owner'] or params['group']:
        os.chown(settings_file, resolve_uid(params['owner']), resolve_gid(params['group']))
    return {}


def run(module):
    params = module.params
    if params['settings_file']:
        settings_file = params['settings_file']
        folder = params['data_folder'] or os.path.dirname(settings_file)
    else:
        settings_file, folder, overridden = default_paths(module, params)
        if overridden:
            # The agent run here gets the service's data folder, as its options give it to the service.
            params['data_folder'] = folder
    result = {'changed': False, 'settings_file': settings_file, 'method': None}

    if params['state'] == 'absent':
        present = os.path.exists(settings_file)
        result.update(registered=False, server_url=None, machine_id=_machine_id(folder))
        if present:
            result['changed'] = True
            result['diff'] = {'before': {'registered': True, 'settings_file': settings_file}, 'after': {'registered': False}}
            if not module.check_mode:
                try:
                    os.unlink(settings_file)
                except OSError as err:
                    raise DuplicatiError('Cannot remove %s: %s' % (settings_file, err.strerror or err))
        return result

    settings = agent_settings.load_agent_settings(settings_file, params['settings_passphrase'])
    before = _state(settings)
    result.update(registered=before['registered'], server_url=before['server_url'], machine_id=_machine_id(folder))
    if before['registered'] and not params['force']:
        return result

    url = registration.check_registration_url(params['registration_url'])
    if not params['agent_path']:
        params['agent_path'] = agent_runner.default_agent_path(_host_os())
    result.update(changed=True, registered=True, method=params['method'],
                  diff={'before': before, 'after': {'registered': True, 'server_url': '(assigned by the console)'}})
    if module.check_mode:
        return result

    ensure_private_directory(folder, owner=params['owner'], group=params['group'])
    with file_lock(settings_file, timeout=max(60, params['timeout'])):
        # Another run may have registered this file while we waited for the lock.
        settings = agent_settings.load_agent_settings(settings_file, params['settings_passphrase'])
        if agent_settings.is_registered(settings) and not params['force']:
            after = _state(settings)
            result.update(changed=False, server_url=after['server_url'], method=None, machine_id=_machine_id(folder))
            result.pop('diff', None)
            return result
        if params['method'] == 'native':
            result.update(register_native(module, params, settings_file, folder, url, settings))
        else:
            result.update(register_with_agent(module, params, settings_file, url, params['force']))
    after = _state(agent_settings.load_agent_settings(settings_file, params['settings_passphrase']))
    result.update(server_url=after['server_url'], machine_id=_machine_id(folder))
    result['diff']['after'] = after
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
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
        supports_check_mode=True,
    )
    url = module.params['registration_url']
    try:
        if module.params['timeout'] <= 0:
            raise DuplicatiError('timeout must be a positive number of seconds')
        if module.params['retries'] < 0:
            raise DuplicatiError('retries must be 0 or more')
        result = run(module)
    except DuplicatiError as err:
        module.fail_json(msg=agent_runner.mask_secrets(str(err), url, module.params['settings_passphrase']))
    except (IOError, OSError) as err:
        module.fail_json(msg=agent_runner.mask_secrets('Failed to register the Duplicati Agent: %s' % err, url,
                                                       module.params['settings_passphrase']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
