#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: agent_info
short_description: Facts about the Duplicati Agent of a host
version_added: 0.1.0
description:
  - Reports the installed agent (binary, install folder, version, package type from C(package_type_id.txt)), its
    data folder and settings file, whether it is registered, the console URL, the expiry of the console's
    certificates and the service state.
  - Also reports the platform facts that decide which package and service the host needs (RV(system),
    RV(os_family), RV(architecture), named as in Ansible's facts), so that a role needs no C(setup) call.
  - Never changes anything.
author:
  - duplicati.fleet maintainers (!UNKNOWN)
options:
  agent_path:
    description: The agent binary. Default is the installed one for this OS.
    type: path
  settings_file:
    description:
      - The agent's C(agent.json). Default is C(<data_folder>/agent.json) when O(data_folder) is set, else the file
        the agent service reads, on Linux resolved from its options file as
        M(duplicati.fleet.agent_registration) does.
    type: path
  settings_passphrase:
    description:
      - The passphrase of an encrypted C(agent.json). Without it an encrypted file still reports C(registered)
        (the token is present) but its values are not decrypted.
    type: str
  data_folder:
    description: The agent's data folder. Default is the folder of O(settings_file) when that is set, else the agent service's.
    type: path
  macos_scope:
    description:
      - On macOS, how the agent runs, as in M(duplicati.fleet.service).
      - V(user) is the package's LaunchAgent of the logged-in console user, with that user's data folder.
      - V(system) is the LaunchDaemon written by M(duplicati.fleet.service) with O(duplicati.fleet.service#module:scope=system),
        with its data folder in C(/Library/Application Support/Duplicati).
      - Ignored on other systems.
    type: str
    choices: [user, system]
    default: user
  desired:
    description:
      - The state the host should be in. With it the module also reports RV(converged) and RV(differences), so that a
        role can skip its steps on a host that needs nothing (the role C(duplicati.fleet.duplicati_agent) does).
      - The desired C(preload.json) is worked out by the same functions as M(duplicati.fleet.preload) with
        O(duplicati.fleet.preload#module:merge=false), the options file's C(DAEMON_OPTS) as M(duplicati.fleet.service)
        writes them.
    type: dict
    suboptions:
      preload:
        description:
          - The sections of C(preload.json) (C(args), C(env), C(db)) as M(duplicati.fleet.preload) takes them. With no
            entry at all, C(preload.json) must not exist. Omitted, C(preload.json) is not compared.
          - Its secret entries (passphrases, passwords, tokens, URLs with credentials) are masked in the logged
            invocation and the result, as M(duplicati.fleet.preload) masks them; no other value is hidden, so that
            no short value of an entry masks the facts this module returns.
        type: dict
      preload_path:
        description: The C(preload.json) to compare. Default is the one M(duplicati.fleet.preload) writes by default.
        type: path
      preload_mode:
        description: The mode C(preload.json) must have.
        type: raw
        default: '0600'
      preload_owner:
        description: The owner C(preload.json) must have. Omitted, the owner is not compared.
        type: str
      registered:
        description: Whether the agent must be registered. Omitted, the registration is not compared.
        type: bool
      service:
        description:
          - Whether the agent service must be enabled and running with exactly O(desired.daemon_opts) in its options
            file. On macOS the options are not read, so a managed service never counts as converged there.
        type: bool
        default: false
      daemon_opts:
        description: The C(DAEMON_OPTS) the service's options file must hold, when O(desired.service=true).
        type: list
        elements: str
        default: []
      version:
        description:
          - The agent version that must be installed. An empty string means any installed version; V(latest) means a
            version known only from the package index, which never counts as converged. Omitted, the installed agent
            is not compared.
        type: str
notes:
  - The token and the settings encryption key are never returned.
seealso:
  - module: duplicati.fleet.agent_registration
  - module: duplicati.fleet.service
attributes:
  check_mode:
    support: full
    description: The module never changes anything, so check mode reports the same facts.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
'''

EXAMPLES = r'''
- name: Read the agent facts
  duplicati.fleet.agent_info:
  register: agent

- name: Report hosts whose agent is not registered
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} is not registered"
  when: not agent.registered

- name: Warn before the console certificates expire
  ansible.builtin.debug:
    msg: "Console certificate expires {{ agent.certificate_expiry }}"
  when: agent.certificate_expiry is not none

- name: Compare the host with the state a rollout would leave
  duplicati.fleet.agent_info:
    data_folder: /var/lib/duplicati-agent
    desired:
      preload:
        args:
          agent: ["--agent-settings-file-passphrase={{ vault_agent_passphrase }}"]
      registered: true
      service: true
      daemon_opts: [--server-datafolder=/var/lib/duplicati-agent]
      version: 2.3.0.4
  register: agent

- name: Show what is not as desired
  ansible.builtin.debug:
    var: agent.differences
  when: not agent.converged
'''

RETURN = r'''
converged:
  description:
    - Whether the host is in the state of O(desired) in every respect given. Compared in one pass, changing nothing.
  returned: when O(desired) is given
  type: bool
differences:
  description: What is not as O(desired), one short sentence each (never a secret).
  returned: when O(desired) is given
  type: list
  elements: str
  sample: [preload.json has other content, the service is not running]
installed:
  description: Whether the agent binary exists.
  returned: always
  type: bool
agent_path:
  description: The agent binary.
  returned: always
  type: str
  sample: /usr/bin/duplicati-agent
install_dir:
  description: The install folder (where the binary symlink points); null when not installed.
  returned: always
  type: str
  sample: /usr/lib/duplicati
version:
  description: The installed version (from C(autoupdate.manifest), else the package manager); null when unknown.
  returned: always
  type: str
  sample: 2.3.0.4
package_type:
  description: The package type id from C(package_type_id.txt) in the install folder; null when absent.
  returned: always
  type: str
  sample: linux-x64-agent.deb
data_folder:
  description: The agent's data folder.
  returned: always
  type: str
  sample: /root/.config/Duplicati
settings_file:
  description: The agent's settings file.
  returned: always
  type: str
  sample: /root/.config/Duplicati/agent.json
settings_exists:
  description: Whether the settings file exists.
  returned: always
  type: bool
settings_encrypted:
  description: Whether the settings file holds C(enc-v1) encrypted values.
  returned: always
  type: bool
registered:
  description: Whether C(agent.json) holds a machine token.
  returned: always
  type: bool
server_url:
  description: The console's websocket URL; null when not registered.
  returned: always
  type: str
  sample: wss://api.duplicati.com/remotecontrol/agent
machine_id:
  description: The machine ID (first line of C(machineid.txt)); null when absent.
  returned: always
  type: str
install_id:
  description: The install ID (first line of C(installation.txt)); null when absent.
  returned: always
  type: str
certificate_expiry:
  description: The latest expiry of the console certificates in C(agent.json), ISO 8601; null without certificates.
  returned: always
  type: str
  sample: '2027-08-22T10:11:12+00:00'
service:
  description:
    - The service state, with keys C(name), C(active) and C(enabled) (null when unknown).
    - C(daemon_opts) is the list of options in the service's options file (C(DAEMON_OPTS) of the unit's
      C(EnvironmentFile)), with the values of secret options masked, as M(duplicati.fleet.service) reports them;
      null when the file is absent and on macOS.
  returned: always
  type: dict
  sample: {"name": "duplicati-agent.service", "active": true, "enabled": true, "daemon_opts": ["--webservice-port=8210"]}
system:
  description: The operating system, as Ansible's C(ansible_facts.system) names it.
  returned: always
  type: str
  sample: Linux
os_family:
  description:
    - The OS family, as Ansible's C(ansible_facts.os_family) names it (C(Debian), C(RedHat), C(Suse), C(Darwin), ...).
    - On Linux it is read from the C(ID) and C(ID_LIKE) of C(/etc/os-release); C(Linux) when they name no family
      the module knows.
  returned: always
  type: str
  sample: Debian
architecture:
  description: The machine architecture, as Ansible's C(ansible_facts.architecture) names it.
  returned: always
  type: str
  sample: x86_64
console_user:
  description:
    - On macOS, the user logged in at the console (the owner of C(/dev/console)), who runs the package's LaunchAgent;
      null elsewhere or when nobody is logged in.
  returned: always
  type: str
  sample: alice
settings_error:
  description: Why C(agent.json) could not be read (for example a wrong passphrase); absent when it was read.
  returned: when the settings file could not be read
  type: str
'''

import os

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_host
from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings
from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils import host_platform
from ansible_collections.duplicati.fleet.plugins.module_utils.agent_module import AgentModule


def gather(host):
    params = host.params
    facts = host_platform.host_platform()
    os_name = df.normalize_os(facts['system'])
    console_uid, console_user = None, None
    if os_name == df.MACOS:
        from ansible_collections.duplicati.fleet.plugins.module_utils import launchd  # macOS only: not loaded on Linux
        console_uid, console_user = launchd.console_owner()
    agent_path = params['agent_path'] or agent_host.default_agent_path(os_name)
    installed = os.path.isfile(agent_path)
    install_dir = agent_host.agent_install_dir(agent_path) if installed else None
    version = agent_host.read_installed_version(install_dir) if install_dir else None
    if installed and not version and not params['agent_path']:
        version = agent_host.package_version(host.module)
    package_type = (agent_host.read_package_type_id(install_dir) or None) if install_dir else None

    service_folder = None
    if params['settings_file']:
        settings_file = params['settings_file']
    elif params['data_folder']:
        settings_file = os.path.join(params['data_folder'], df.AGENT_SETTINGS_FILENAME)
    else:
        settings_file, service_folder, dummy = agent_host.service_paths(host.module, os_name, install_dir, params['macos_scope'])
    folder = params['data_folder'] or service_folder or os.path.dirname(settings_file)

    result = {
        'changed': False, 'system': facts['system'], 'os_family': facts['os_family'],
        'architecture': facts['architecture'], 'console_user': console_user,
        'installed': installed, 'agent_path': agent_path, 'install_dir': install_dir,
        'version': version, 'package_type': package_type, 'data_folder': folder, 'settings_file': settings_file,
        'machine_id': df.read_machine_id(folder) or None if os.path.isdir(folder) else None,
        'install_id': df.read_install_id(folder) or None if os.path.isdir(folder) else None,
    }
    result.update(agent_settings.settings_facts(settings_file, params['settings_passphrase']))
    result['service'] = agent_host.service_state(host.module, os_name, params['macos_scope'], console_uid)
    options_text = result['service'].pop('options_text', None)
    if params['desired'] is not None:
        result['differences'] = agent_host.differences(params['desired'], result, options_text)
        result['converged'] = not result['differences']
    return result


def main():
    AgentModule(
        dict(
            agent_path=dict(type='path'),
            settings_file=dict(type='path'),
            settings_passphrase=dict(type='str', no_log=True),
            data_folder=dict(type='path'),
            macos_scope=dict(type='str', choices=['user', 'system'], default='user'),
            desired=dict(type='dict', options=dict(
                preload=dict(type='dict', no_log=False),
                preload_path=dict(type='path'),
                preload_mode=dict(type='raw', default='0600'),
                preload_owner=dict(type='str'),
                registered=dict(type='bool'),
                service=dict(type='bool', default=False),
                daemon_opts=dict(type='list', elements='str', default=[]),
                version=dict(type='str'),
            )),
        ),
        io_failure='Failed to read the Duplicati Agent facts',
    ).execute(gather)


if __name__ == '__main__':
    main()
