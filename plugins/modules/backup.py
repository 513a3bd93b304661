#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: backup
short_description: Make sure a backup configuration exists on a Duplicati server, or does not
version_added: 0.1.0
description:
  - With O(state=present) and O(definition), converges the backup named O(name) to the declared job
    ("backup jobs as code"), B(whether or not it exists) - created when absent, updated in place (same ID,
    local database, metadata and run history) when it differs, left alone when it is the same.
  - With O(state=present) and O(src) or O(config), imports a backup configuration (an exported file, or a dict in the export format)
    under the name O(name), like C(duplicati-server-util import), B(only when no backup with that name exists).
    An existing backup with that name is left as it is, whatever its configuration.
  - With O(state=absent), deletes the backup with that name (or O(id)), like C(duplicati-server-util delete).
  - Names are matched case-insensitively, as the server does when it checks for duplicate names.
author:
  - duplicati.fleet contributors (!UNKNOWN)
extends_documentation_fragment:
  - duplicati.fleet.server
attributes:
  check_mode:
    support: full
    description: The file or dict is read and checked (and decrypted) and the server is asked which backups exist; nothing is imported or deleted.
  diff_mode:
    support: full
    description:
      - With O(definition), the definition before and after, field by field, with secret values masked.
      - Otherwise the backup (name, ID) before and after.
requirements:
  - The Python package C(cryptography) on the managed host to check an encrypted O(src) before it is sent.
options:
  name:
    description:
      - Name of the backup. Required with O(state=present); the imported backup gets this name even when the
        configuration has another one.
      - With O(state=absent), the backup to delete when O(id) is not given.
    type: str
  state:
    description:
      - V(present) imports the configuration when no backup named O(name) exists.
      - V(absent) deletes the backup when it exists.
    type: str
    choices: [present, absent]
    default: present
  definition:
    description:
      - The backup job, declared. The playbook is the source of truth - what the definition does not list
        (a setting, a filter, a schedule) is removed from the backup.
      - Compared after the normalisation the server applies or that makes no difference to it - option names with
        or without C(--), sizes (V(50mb) = V(50MB)), durations (V(1W) = V(7D)), the days of the week and the sources in any order,
        and only the time of day of the schedule (the server moves the date to the next run).
      - Secret values (O(definition.passphrase), settings whose name says password, passphrase, secret, token or key,
        credentials in O(definition.target_url) and in the URL of a remote source C(@/path|url)) are compared but never
        returned; the diff shows C(********).
        A value given as C(********) (as M(duplicati.fleet.backup_info) returns it) keeps the value the server has.
      - M(duplicati.fleet.backup_info) returns each backup's definition in this shape.
      - Mutually exclusive with O(src), O(config), O(passphrase) and O(replace_settings).
    type: dict
    suboptions:
      description:
        description: The backup description.
        type: str
        default: ''
      tags:
        description: The tags of the backup. The server keeps them joined with commas, so V(a,b) is the two tags V(a) and V(b).
        type: list
        elements: str
        default: []
      target_url:
        description:
          - Where the backup is stored, as a Duplicati storage URL (C(file:///srv/backups/home), C(s3://bucket/path?auth-username=...)).
          - Credentials in it (user info, query values whose name says password, secret, token or key) are masked in the output.
        type: str
        required: true
      sources:
        description:
          - The folders and files to back up (compared in any order, as the server does not keep it). At least one,
            none of them blank (C(Connection.ValidateBackup)).
          - A remote source is written C(@/path|url), as in Duplicati.
        type: list
        elements: str
        required: true
      passphrase:
        description:
          - The encryption passphrase of the backup (the C(passphrase) setting). Without it, the server refuses the backup
            unless O(definition.settings) has C(--no-encryption=true), written with its C(--), the only spelling that the
            server's check (C(Connection.ValidateBackup)) reads.
        type: str
      schedule:
        description: When the backup runs. Without it the backup runs only on demand.
        type: dict
        suboptions:
          repeat:
            description: How often, as a Duplicati duration (V(1D), V(12h), V(1W)); more than 5 minutes.
            type: str
            required: true
          time:
            description:
              - The time of day of the runs, C(HH:MM) in UTC, or with an offset (V(02:00+01:00)).
              - Without it the time of day is not managed (a new schedule starts at 00:00 UTC).
            type: str
          allowed_days:
            description: The days the backup may run (V(mon) ... V(sun)); empty means every day.
            type: list
            elements: str
      settings:
        description:
          - The advanced options of the backup, named as Duplicati names them (V(keep-versions), V(--dblock-size), ...),
            with string values.
        type: dict
        default: {}
      filters:
        description: Filters in order, each starting with V(+) (include) or V(-) (exclude), for example V(-*.tmp).
        type: list
        elements: str
        default: []
  src:
    description:
      - An exported configuration file on the managed host, encrypted (AES Crypt) or plain JSON.
      - Mutually exclusive with O(config). With O(state=present), one of O(src), O(config) and O(definition) is required.
    type: path
  config:
    description:
      - The configuration as a dict in the export format (keys C(Backup), C(Schedule), C(DisplayNames), ...),
        for example the parsed content of an unencrypted export.
    type: dict
  passphrase:
    description:
      - The passphrase of an encrypted O(src).
    type: str
  import_metadata:
    description:
      - Keep the metadata (statistics of earlier runs) of the configuration. The server clears it otherwise.
    type: bool
    default: false
  replace_settings:
    description:
      - Values that replace those of the configuration on import, as the import API takes them.
        Keys are V(name), V(dbpath), V(description), V(sources), V(targeturl) and V(settings.<option>),
        for example V(settings.passphrase) for the encryption passphrase of the backup.
      - V(name) is always set to O(name).
    type: dict
  id:
    description:
      - With O(state=absent), the ID of the backup to delete (instead of O(name)).
    type: str
  delete_remote_files:
    description:
      - With O(state=absent), also delete the backup's files at its destination.
    type: bool
    default: false
  delete_local_db:
    description:
      - With O(state=absent), also delete the backup's local database.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), abort a run of the backup that is in progress and delete it. Without it, deleting a running backup fails.
    type: bool
    default: false
notes:
  - O(replace_settings) and O(config) can hold secrets (V(settings.passphrase), a V(targeturl) with C(auth-password)). Values
    under secret names and credentials in URLs are masked in the result, the logged invocation and messages; C(no_log) on the
    task hides the rest.
seealso:
  - module: duplicati.fleet.backup_export
  - module: duplicati.fleet.backup_info
'''

EXAMPLES = r'''
- name: The nightly home backup, as code
  duplicati.fleet.backup:
    name: nightly-home
    definition:
      description: Home folders, nightly
      target_url: "file:///srv/backups/home"
      sources: [/home/]
      passphrase: "{{ vault_backup_passphrase }}"
      schedule: {repeat: 1D, time: "02:00", allowed_days: [mon, tue, wed, thu, fri]}
      settings: {keep-versions: "5", dblock-size: 50mb}
      filters: ["-*.tmp"]
    password: "{{ duplicati_password }}"

- name: Import the backup "Documents" from an encrypted export, once
  duplicati.fleet.backup:
    name: Documents
    src: /etc/duplicati/documents.json.aes
    passphrase: "{{ export_passphrase }}"
    replace_settings:
      settings.passphrase: "{{ backup_encryption_passphrase }}"
    password: "{{ duplicati_password }}"
  no_log: true

- name: Declare backups for the whole fleet
  module_defaults:
    group/duplicati.fleet.server:
      password: "{{ duplicati_password }}"
  block:
    - name: The standard home backup, from a template dict
      duplicati.fleet.backup:
        name: "Home of {{ inventory_hostname }}"
        config: "{{ lookup('ansible.builtin.file', 'files/home-backup.json') | from_json }}"
        replace_settings:
          sources: /home/
          description: Home folders

    - name: The old backup is gone, with its local database
      duplicati.fleet.backup:
        name: Legacy
        state: absent
        delete_local_db: true
'''

RETURN = r'''
definition:
  description: With O(definition), the backup's definition after the module ran (in check mode, the one it would have), secrets masked.
  returned: when O(definition) is given
  type: dict
  sample: {"description": "Home folders, nightly", "passphrase": "********", "target_url": "file:///srv/backups/home"}
changed_fields:
  description: With O(definition), the fields that differed (V(settings.<option>) for one option); all of them for a new backup.
  returned: when O(definition) is given
  type: list
  elements: str
  sample: [description, schedule, settings.keep-versions]
backup:
  description:
    - The backup after the module ran, V(null) when it does not exist (O(state=absent), or a check-mode import or create).
  returned: always
  type: dict
  sample: {"id": "4", "name": "Documents"}
  contains:
    id:
      description: The backup ID.
      type: str
    name:
      description: The backup name.
      type: str
'''

import time

from ansible_collections.duplicati.fleet.plugins.module_utils import backup_definition, backups
from ansible_collections.duplicati.fleet.plugins.module_utils.aescrypt import HAS_CRYPTOGRAPHY, is_aescrypt
from ansible_collections.duplicati.fleet.plugins.module_utils.backup_config import check_config, encode_config, read_export
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.server_module import ServerModule, diff_result


DELETE_WAIT_SECONDS = 60
# An exported configuration is a few KiB; a larger src (or a device that never ends) is refused before it fills memory.
MAX_SRC_BYTES = 16 * 1048576


def _by_name(client, name):
    """The backup called ``name`` (case-insensitive, as the server compares names), or None."""
    wanted = name.lower()
    return next((b for b in backups.list_backups(client) if (backups.backup_name(b) or '').lower() == wanted), None)


def _wait_until_deleted(server, ident, task_id, sleep=time.sleep, clock=time.monotonic):
    """The server deletes in a queued task: wait (bounded) until the backup is gone, else warn."""
    deadline = clock() + DELETE_WAIT_SECONDS
    while any(backups.backup_id(b) == ident for b in backups.list_backups(server.client)):
        if clock() >= deadline:
            server.warn('The delete of backup %s is queued as task %s but has not run within %d seconds (is the server paused or busy?); '
                        'the backup disappears when the server runs it.' % (ident, task_id, DELETE_WAIT_SECONDS))
            return
        sleep(0.5)


def _view(entry):
    return None if entry is None else dict(id=backups.backup_id(entry), name=backups.backup_name(entry))


def _replace_settings(params):
    """``replace_settings`` as the import API takes it (string values), with ``name`` set to the module's name."""
    replace = {}
    for key, value in (params['replace_settings'] or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = 'true' if value else 'false'
        elif isinstance(value, (list, tuple)):
            raise DuplicatiError('Invalid replace_settings value for %s: give a string (several sources are joined with ":").' % key)
        elif not isinstance(value, str):
            value = str(value)
        replace[str(key)] = value
    for key in list(replace):
        if key.lower() == 'name':
            del replace[key]
    replace['name'] = params['name']
    return replace


def _configuration(params):
    """The bytes to import, checked before anything is sent: a readable file (decrypted if it can be) or the dict."""
    if params['config'] is not None:
        check_config(params['config'], 'the config option')
        return encode_config(params['config'])
    path = params['src']
    try:
        with open(path, 'rb') as handle:
            data = handle.read(MAX_SRC_BYTES + 1)
    except (IOError, OSError) as err:
        raise DuplicatiError('Cannot read %s: %s' % (path, err.strerror or err), hint='Check the src option.')
    if len(data) > MAX_SRC_BYTES:
        raise DuplicatiError('%s is larger than %d MiB: it is not an exported backup configuration' % (path, MAX_SRC_BYTES // 1048576),
                             hint='Check the src option.')
    if is_aescrypt(data) and not HAS_CRYPTOGRAPHY:
        if not params['passphrase']:
            raise DuplicatiError('%s is encrypted (AES Crypt) but no passphrase was given.' % path,
                                 hint='Set the passphrase the file was exported with.')
        return data  # the server decrypts it; it is checked there
    read_export(data, params['passphrase'], source=path)
    return data


def converge(server):
    """``state=present`` with a definition: create, update in place, or nothing (backup_definition.converge)."""
    result = backup_definition.converge(server.client, server.params['name'], server.params['definition'], check_mode=server.check_mode)
    entry, before, after = result.pop('entry'), result.pop('before'), result.pop('after')
    result['backup'] = _view(entry)
    if server.diff_mode:
        diff_result(result, before, after)
    return result


def present(server):
    params = server.params
    if params['definition'] is not None:
        return converge(server)
    data = _configuration(params)
    entry = _by_name(server.client, params['name'])
    if entry is not None:
        return dict(changed=False, backup=_view(entry))
    result = dict(changed=True, backup=None)
    if not server.check_mode:
        entry = backups.import_backup(server.client, data, passphrase=params['passphrase'] if is_aescrypt(data) else None,
                                      import_metadata=params['import_metadata'], replace_settings=_replace_settings(params))
        result['backup'] = _view(entry)
    if server.diff_mode:
        diff_result(result, {}, dict(name=params['name'], id=result['backup']['id'] if result['backup'] else None))
    return result


def absent(server):
    params = server.params
    if params['id'] is not None:
        entry = next((b for b in backups.list_backups(server.client) if backups.backup_id(b) == str(params['id'])), None)
        if entry is not None and params['name'] is not None and (backups.backup_name(entry) or '').lower() != params['name'].lower():
            raise DuplicatiError('The backup with ID %s is called %r, not %r; nothing was deleted.'
                                 % (params['id'], backups.backup_name(entry), params['name']),
                                 hint='Give only the id, or the name that matches it.')
    else:
        entry = _by_name(server.client, params['name'])
    if entry is None:
        return dict(changed=False, backup=None)
    result = dict(changed=True, backup=None)
    if server.diff_mode:
        diff_result(result, _view(entry), {})
    if not server.check_mode:
        ident = backups.backup_id(entry)
        answer = backups.delete_backup(server.client, ident, delete_remote_files=params['delete_remote_files'],
                                       delete_local_db=params['delete_local_db'], force=params['force'])
        _wait_until_deleted(server, ident, answer.get('ID'))
    return result


def run(server):
    return present(server) if server.params['state'] == 'present' else absent(server)


def main():
    argument_spec = dict(
        name=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        src=dict(type='path'),
        config=dict(type='dict'),
        definition=dict(type='dict', options=dict(
            description=dict(type='str', default=''),
            tags=dict(type='list', elements='str', default=[]),
            target_url=dict(type='str', required=True),
            sources=dict(type='list', elements='str', required=True),
            passphrase=dict(type='str', no_log=True),
            schedule=dict(type='dict', options=dict(
                repeat=dict(type='str', required=True),
                time=dict(type='str'),
                allowed_days=dict(type='list', elements='str'),
            )),
            settings=dict(type='dict', default={}),
            filters=dict(type='list', elements='str', default=[]),
        )),
        passphrase=dict(type='str', no_log=True),
        import_metadata=dict(type='bool', default=False),
        replace_settings=dict(type='dict'),
        id=dict(type='str'),
        delete_remote_files=dict(type='bool', default=False),
        delete_local_db=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
    )
    ServerModule(
        argument_spec,
        mutually_exclusive=[('src', 'config', 'definition'), ('definition', 'passphrase'), ('definition', 'replace_settings')],
        required_if=[('state', 'present', ('name',)), ('state', 'present', ('src', 'config', 'definition'), True)],
        required_one_of=[('name', 'id')],
    ).execute(run)


if __name__ == '__main__':
    main()
