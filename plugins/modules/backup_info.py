#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: backup_info
short_description: List the backups of a Duplicati server
version_added: 0.1.0
description:
  - Lists the backup configurations of a Duplicati server, like C(duplicati-server-util list-backups).
  - With O(backup), returns only that backup, found by ID or by name (case-insensitive).
  - With O(detailed=true), adds the run statistics that C(duplicati-server-util list-backups --detailed) shows.
  - Never changes anything on the server.
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
options:
  backup:
    description:
      - ID or name of one backup. A name is matched case-insensitively, an ID exactly.
      - The module fails when no backup matches.
      - When omitted, every backup is returned.
    type: str
  detailed:
    description:
      - Also return RV(backups[].details), the statistics C(duplicati-server-util list-backups --detailed) prints
        (last run, duration, sizes, number of versions, last error).
    type: bool
    default: false
notes:
  - RV(backups[].definition) has the target URL and the options of each backup with their secret values masked
    (C(********)); use M(duplicati.fleet.backup_export) with O(duplicati.fleet.backup_export#module:export_passwords=true) to get them.
  - The definitions take one request per backup (C(GET api/v1/backup/{id})).
seealso:
  - module: duplicati.fleet.backup
  - module: duplicati.fleet.backup_export
  - module: duplicati.fleet.server_info
'''

EXAMPLES = r'''
- name: List every backup of the local server
  duplicati.fleet.backup_info:
    password: "{{ duplicati_password }}"
  register: result

- name: Show the names
  ansible.builtin.debug:
    msg: "{{ result.backups | map(attribute='name') | list }}"

- name: Connection options once for every server module
  module_defaults:
    group/duplicati.fleet.server:
      host_url: https://nas.example.com:8200/
      password: "{{ duplicati_password }}"
  block:
    - name: Get the statistics of one backup
      duplicati.fleet.backup_info:
        backup: Documents
        detailed: true
      register: documents

    - name: Warn when the last run of that backup failed
      ansible.builtin.debug:
        msg: "Last error: {{ documents.backups[0].details.last_error_message }}"
      when: documents.backups[0].details.last_error_message is not none
'''

RETURN = r'''
backups:
  description: The backups, in the order the server lists them.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The backup ID.
      type: str
      sample: "1"
    name:
      description: The backup name.
      type: str
      sample: Documents
    description:
      description: The backup description.
      type: str
      sample: Home folders to S3
    tags:
      description: The tags of the backup.
      type: list
      elements: str
      sample: []
    schedule:
      description: The schedule of the backup, or V(null) when it only runs on demand.
      type: dict
      contains:
        id:
          description: Schedule ID.
          type: int
        tags:
          description: Schedule tags.
          type: list
          elements: str
        time:
          description: The next planned run (UTC, as the server reports it).
          type: str
          sample: "2026-08-23T01:00:00Z"
        repeat:
          description: The repetition as a Duplicati timespan.
          type: str
          sample: 1D
        last_run:
          description: The last scheduled run (UTC).
          type: str
        rule:
          description: The raw schedule rule.
          type: str
        allowed_days:
          description: The days of the week the backup may run on.
          type: list
          elements: str
          sample: [mon, tue, wed, thu, fri]
    definition:
      description:
        - The backup job in the shape of the O(duplicati.fleet.backup#module:definition) option of M(duplicati.fleet.backup),
          secret values masked (C(********)). Given back to M(duplicati.fleet.backup), a masked value keeps the value the server has,
          so it can be edited and applied again.
      type: dict
      sample: {"description": "Home folders", "tags": [], "target_url": "file:///srv/backups/home", "sources": ["/home/"],
               "passphrase": "********", "schedule": {"repeat": "1D", "time": "02:00", "allowed_days": ["mon", "tue"]},
               "settings": {"keep-versions": "5"}, "filters": ["-*.tmp"]}
    metadata:
      description: The metadata the server keeps for the backup (key/value strings), as the API returns it.
      type: dict
      sample: {"LastBackupDate": "20260822T010000Z", "BackupListCount": "12"}
    details:
      description: The statistics C(list-backups --detailed) shows, parsed. Keys whose value the server does not have are V(null).
      returned: when O(detailed=true)
      type: dict
      contains:
        last_backup_date:
          description: When the last backup finished (ISO 8601, UTC).
          type: str
          sample: "2026-08-22T01:00:00Z"
        last_backup_duration:
          description: How long the last backup took, as the server formats it.
          type: str
          sample: "00:02:13.4410000"
        source_files_size:
          description: Size of the source files in bytes.
          type: int
          sample: 1048576
        target_files_size:
          description: Size of the files at the destination in bytes.
          type: int
        backup_list_count:
          description: Number of backup versions.
          type: int
          sample: 12
        last_error_date:
          description: When the last error happened (ISO 8601, UTC); only set when it is newer than the last backup.
          type: str
        last_error_message:
          description: The last error message; only set when the error is newer than the last backup.
          type: str
'''

from ansible_collections.duplicati.fleet.plugins.module_utils import backup_definition, backups
from ansible_collections.duplicati.fleet.plugins.module_utils.backup_config import describe_backup
from ansible_collections.duplicati.fleet.plugins.module_utils.server_module import ServerModule


def run(server):
    if server.params['backup'] is not None:
        entries = [backups.require_backup(server.client, server.params['backup'])]
    else:
        entries = backups.list_backups(server.client)
    result = []
    for entry in entries:
        described = describe_backup(entry, detailed=server.params['detailed'])
        full = backups.get_backup(server.client, described['id'])
        described['definition'] = backup_definition.masked(backup_definition.from_server(full))
        result.append(described)
    return dict(changed=False, backups=result)


def main():
    argument_spec = dict(
        backup=dict(type='str'),
        detailed=dict(type='bool', default=False),
    )
    ServerModule(argument_spec).execute(run)


if __name__ == '__main__':
    main()
