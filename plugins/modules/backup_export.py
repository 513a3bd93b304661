#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: backup_export
short_description: Export a backup configuration of a Duplicati server to a file
version_added: 0.1.0
description:
  - Exports the configuration of one backup to a file on the managed host, like C(duplicati-server-util export).
  - With O(passphrase), the file is an AES Crypt file (what the server sends, C(.json.aes) in Duplicati's naming);
    without it, plain JSON.
  - Idempotent on content. When O(dest) already holds the same configuration (decrypted with O(passphrase) and compared),
    the file is left untouched and C(changed) is V(false). Otherwise the file is replaced atomically.
  - The run state the server keeps in an export (the backup's metadata, the last run and the date of the next run of
    its schedule) changes with every run and does not count as a change.
author:
  - duplicati.fleet contributors (!UNKNOWN)
extends_documentation_fragment:
  - duplicati.fleet.server
attributes:
  check_mode:
    support: full
    description: The configuration is fetched and compared, and nothing is written.
  diff_mode:
    support: full
    description: A summary of the configuration in the file before and after (names, sources, settings names), never values of settings or credentials.
requirements:
  - The Python package C(cryptography) on the managed host when O(passphrase) is given or O(dest) holds an encrypted file.
options:
  backup:
    description:
      - ID or name of the backup to export. A name is matched case-insensitively, an ID exactly.
    type: str
    required: true
  dest:
    description:
      - The file to write on the managed host. Its folder must exist.
    type: path
    required: true
  passphrase:
    description:
      - Encrypt the file with this passphrase (AES Crypt, as Duplicati writes it).
      - When omitted, the file is written unencrypted.
      - An empty or whitespace-only passphrase is refused and no file is written, because the server takes it for no
        passphrase and would send the configuration unencrypted, with its passwords when O(export_passwords) is set.
    type: str
  export_passwords:
    description:
      - Include passwords and other secret options of the backup in the file.
      - When omitted, the rule of C(duplicati-server-util export) applies, V(true) with a O(passphrase),
        V(false) without one.
    type: bool
  mode:
    description:
      - Permissions of O(dest), as an octal string like V('0600') or a number.
    type: raw
    default: '0600'
  owner:
    description:
      - Owner of O(dest) (name or ID). When omitted, the user the module runs as.
    type: str
  group:
    description:
      - Group of O(dest) (name or ID). When omitted, the primary group of the user the module runs as.
    type: str
notes:
  - An unencrypted export with O(export_passwords=true) holds credentials in clear text; keep the default O(mode).
  - When O(dest) is encrypted with a different passphrase than O(passphrase), it cannot be compared and is replaced.
seealso:
  - module: duplicati.fleet.backup
  - module: duplicati.fleet.backup_info
'''

EXAMPLES = r'''
- name: Export the backup "Documents" encrypted, with its passwords
  duplicati.fleet.backup_export:
    backup: Documents
    dest: /var/backups/duplicati/documents.json.aes
    passphrase: "{{ export_passphrase }}"
    password: "{{ duplicati_password }}"

- name: Export every backup of a fleet without secrets
  module_defaults:
    group/duplicati.fleet.server:
      password: "{{ duplicati_password }}"
  block:
    - name: List the backups
      duplicati.fleet.backup_info:
      register: listed

    - name: Export each one unencrypted, passwords left out
      duplicati.fleet.backup_export:
        backup: "{{ item.id }}"
        dest: "/srv/exports/{{ inventory_hostname }}-{{ item.id }}.json"
        export_passwords: false
        mode: '0640'
        group: backup
      loop: "{{ listed.backups }}"
      loop_control:
        label: "{{ item.name }}"
'''

RETURN = r'''
dest:
  description: The file the configuration is in.
  returned: always
  type: str
  sample: /var/backups/duplicati/documents.json.aes
backup_id:
  description: The ID of the exported backup.
  returned: always
  type: str
  sample: "1"
backup_name:
  description: The name of the exported backup.
  returned: always
  type: str
  sample: Documents
encrypted:
  description: Whether O(dest) is an AES Crypt file.
  returned: always
  type: bool
  sample: true
'''

import os

from ansible_collections.duplicati.fleet.plugins.module_utils import backups
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import resolve_gid, resolve_uid, write_atomic
from ansible_collections.duplicati.fleet.plugins.module_utils.backup_config import read_export, same_configuration, summarize_config
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.server_module import ServerModule, diff_result


def file_mode(value):
    """The ``mode`` option as an int: an octal string ('0600') or a number (YAML 0600 arrives as 384)."""
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    else:
        text = str(value).strip()
        try:
            mode = int(text, 8)
        except ValueError:
            raise DuplicatiError('Invalid mode %r: give octal permissions such as \'0600\'.' % (value,))
    if mode < 0 or mode > 0o7777:
        raise DuplicatiError('Invalid mode %r: give octal permissions such as \'0600\'.' % (value,))
    return mode


def existing_file(path, passphrase):
    """``(config, encrypted, readable)`` of the file at ``path``; ``(None, None, False)`` when there is none.

    A file that cannot be read as an export with this passphrase counts as different.
    """
    if not os.path.exists(path):
        return None, None, False
    if os.path.isdir(path):
        raise DuplicatiError('Cannot export to %s: it is a folder.' % path, hint='Set dest to a file path.')
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as err:
        raise DuplicatiError('Cannot read %s: %s' % (path, err.strerror or err))
    try:
        config, encrypted = read_export(data, passphrase, source=path)
    except DuplicatiError:
        return None, bool(data[:3] == b'AES'), True
    return config, encrypted, True


def attributes_differ(path, mode, uid, gid):
    info = os.stat(path)
    return (info.st_mode & 0o7777) != mode or (uid != -1 and info.st_uid != uid) or (gid != -1 and info.st_gid != gid)


def run(server):
    params = server.params
    dest = params['dest']
    passphrase = params['passphrase']
    if passphrase is not None and not passphrase.strip():
        # BackupGet.ExecuteGetExport encrypts only when !IsNullOrWhiteSpace(passphrase)
        raise DuplicatiError('The passphrase is empty or only whitespace: the server would export the backup unencrypted.',
                             hint='Give a real passphrase, or leave passphrase out for an unencrypted export.')
    export_passwords = params['export_passwords']
    if export_passwords is None:
        export_passwords = passphrase is not None  # duplicati-server-util export's default
    mode = file_mode(params['mode'])
    uid, gid = resolve_uid(params['owner']), resolve_gid(params['group'])
    if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        raise DuplicatiError('Cannot export to %s: the folder %s does not exist.' % (dest, os.path.dirname(os.path.abspath(dest))))

    entry = backups.require_backup(server.client, params['backup'])
    ident = backups.backup_id(entry)
    data, dummy = backups.export_backup(server.client, ident, passphrase=passphrase, export_passwords=export_passwords)
    wanted, encrypted = read_export(data, passphrase, source='the export of backup %s' % ident)

    current, current_encrypted, exists = existing_file(dest, passphrase)
    same_content = current is not None and current_encrypted == encrypted and same_configuration(current, wanted)
    result = dict(changed=False, dest=dest, backup_id=ident, backup_name=backups.backup_name(entry), encrypted=encrypted)
    if same_content:
        if attributes_differ(dest, mode, uid, gid):
            result['changed'] = True
            if not server.check_mode:
                try:
                    os.chown(dest, uid, gid)
                    os.chmod(dest, mode)
                except OSError as err:
                    raise DuplicatiError('Failed to set the owner or mode of %s: %s' % (dest, err.strerror or err))
        return result

    result['changed'] = True
    if server.diff_mode:
        before = summarize_config(current, current_encrypted) if current is not None else ({'unreadable': True} if exists else {})
        diff_result(result, before, summarize_config(wanted, encrypted))
    if not server.check_mode:
        write_atomic(dest, data, mode=mode, owner=params['owner'], group=params['group'])
    return result


def main():
    argument_spec = dict(
        backup=dict(type='str', required=True),
        dest=dict(type='path', required=True),
        passphrase=dict(type='str', no_log=True),
        export_passwords=dict(type='bool'),
        mode=dict(type='raw', default='0600'),
        owner=dict(type='str'),
        group=dict(type='str'),
    )
    ServerModule(argument_spec).execute(run)


if __name__ == '__main__':
    main()
