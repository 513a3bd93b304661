#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: preload
short_description: Manage Duplicati's preload.json (arguments, environment and database defaults per executable)
version_added: 0.1.0
description:
  - Every Duplicati executable reads C(preload.json) at start and takes arguments (C(args)), environment variables
    (C(env)) and, for the server, database option defaults (C(db)) from it, per executable name or C(*) for all.
  - The default file is the C(preload.json) in the install folder of the agent package on this OS, which every
    Duplicati version reads (C(/usr/lib/duplicati/preload.json) for deb, C(/usr/lib/duplicati-agent/preload.json)
    for rpm, C(/usr/local/duplicati-agent/preload.json) on macOS).
  - Executable names and C(--name=value) arguments are validated the way Duplicati reads them, so that nothing is
    silently ignored.
  - The file is written atomically; the diff shows before and after with secret values masked.
  - Works before the package is installed (the folder is created).
author:
  - duplicati.fleet maintainers (!UNKNOWN)
options:
  path:
    description:
      - The preload.json file. Default is the agent package's install folder file (see above).
      - A symbolic link is followed. The file it points to is the one written, and it gets O(mode), O(owner) and O(group).
        The link itself is kept.
    type: path
  args:
    description:
      - Arguments per executable (C(agent), C(server), C(cli), ... or C(*)), each a C(--name=value) string.
      - With O(state=absent), the names to remove (C(--name) or C(--name=value)); an empty list removes the
        executable's entry.
    type: dict
  env:
    description:
      - Environment variables per executable, a dict of name to value. They are set only when the process does not
        have them already.
      - With O(state=absent), the variable names to remove (values are ignored); an empty dict removes the
        executable's entry.
    type: dict
  db:
    description:
      - Server database option defaults per executable, applied by the server when they change. Names may be given
        with or without C(--) (the server adds it when missing), but not both ways for one executable.
      - With O(state=absent), the option names to remove.
    type: dict
  merge:
    description:
      - V(true) updates the given entries and keeps everything else in the file.
      - V(false) makes the file exactly what is given (O(state=present) only).
    type: bool
    default: true
  state:
    description:
      - V(present) writes the given entries.
      - V(absent) removes the given entries, or the whole file when none are given.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description: Owner of the file.
    type: str
  group:
    description: Group of the file.
    type: str
  mode:
    description:
      - Mode of the file, octal (V('0600')) between V('0000') and V('7777'). It often holds secrets, so only its owner may
        read it by default.
      - A mode that lets the group or others write is refused. The agent, often running as root, takes command-line
        options and environment variables from this file.
    type: raw
    default: '0600'
  backup:
    description: Keep a timestamped copy of the old file when it changes.
    type: bool
    default: false
notes:
  - Values of secret entries (passwords, keys, tokens, URLs with credentials or tokens) are masked in the result,
    the diff and the logged invocation. Set C(no_log) on the task as well when it carries secrets.
  - Preload arguments are added only when the real command line does not already give that option, and preload
    environment variables only when the process does not already have them.
seealso:
  - module: duplicati.fleet.service
  - module: duplicati.fleet.agent_registration
attributes:
  check_mode:
    support: full
    description: Computes the new content and reports the same C(changed) and diff; nothing is written.
  diff_mode:
    support: full
    description: The file before and after, with secret values masked.
'''

EXAMPLES = r'''
- name: Give the agent its registration link and settings passphrase without putting them on a command line
  duplicati.fleet.preload:
    env:
      agent:
        DUPLICATI__REGISTER_REMOTE_CONTROL: "{{ vault_duplicati_registration_url }}"
    args:
      agent:
        - "--agent-settings-file-passphrase={{ vault_agent_settings_passphrase }}"

- name: Same options for every Duplicati executable on the host
  duplicati.fleet.preload:
    args:
      "*":
        - --log-level=Information

- name: Make preload.json exactly this (everything else is dropped)
  duplicati.fleet.preload:
    merge: false
    db:
      server:
        number-of-retries: "5"

- name: Remove one option and one variable
  duplicati.fleet.preload:
    state: absent
    args:
      agent: [--agent-settings-file-passphrase]
    env:
      agent: {DUPLICATI__REGISTER_REMOTE_CONTROL: ""}

- name: Remove the file
  duplicati.fleet.preload:
    state: absent
'''

RETURN = r'''
path:
  description: The preload.json file.
  returned: always
  type: str
  sample: /usr/lib/duplicati/preload.json
preload:
  description: The content of the file after this call (predicted in check mode), secret values masked; V(null) when the file is absent.
  returned: always
  type: dict
  sample: {"args": {"agent": ["--agent-settings-file-passphrase=********"]}}
backup_file:
  description: The copy of the old file, when O(backup=true) and the file changed.
  returned: changed and backup requested
  type: str
  sample: /usr/lib/duplicati/preload.json.12345.2026-08-22@10:11:12~
warnings_preload:
  description: Parts of the existing file that Duplicati ignores (unknown top-level keys).
  returned: when there are some
  type: list
  elements: str
'''

import os

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_host
from ansible_collections.duplicati.fleet.plugins.module_utils import preload as pl
from ansible_collections.duplicati.fleet.plugins.module_utils.agent_module import AgentModule
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import file_lock


def run(host):
    """Plan the change of preload.json, and apply it under the file's lock, so two runs on one host never lose an
    update. A rejected or idempotent run leaves no trace (no folder, no lock file); under the lock the change is
    planned again from the file as it is then."""
    params = host.params
    path = params['path'] or agent_host.default_preload_path()
    if os.path.islink(path):
        path = os.path.realpath(path)
    wanted = dict(given=pl.given_sections(params), state=params['state'], merge=params['merge'],
                  mode=pl.file_mode(params['mode']), owner=params['owner'], group=params['group'])
    change = pl.plan_change(path, **wanted)
    if host.check_mode or not change.result['changed']:
        return change.result
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o755)
    with file_lock(path):
        return pl.plan_change(path, **wanted).apply(host.module, params['backup'])


def main():
    AgentModule(
        dict(
            path=dict(type='path'),
            args=dict(type='dict', no_log=False),
            env=dict(type='dict', no_log=False),
            db=dict(type='dict', no_log=False),
            merge=dict(type='bool', default=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            owner=dict(type='str'),
            group=dict(type='str'),
            mode=dict(type='raw', default='0600'),
            backup=dict(type='bool', default=False),
        ),
        io_failure='Failed to update preload.json',
    ).execute(run)


if __name__ == '__main__':
    main()
