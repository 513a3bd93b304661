#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: server_password
short_description: Set the password of a Duplicati server's web interface
version_added: 0.1.0
description:
  - Sets the password of the web interface and REST API of a Duplicati server, like
    C(duplicati-server-util change-password).
  - Idempotent. The module first tries to log in with O(new_password); when that works, nothing is changed.
  - The module authenticates with the connection options (for example the current O(password), a stored login
    or the server database) to change the password.
author:
  - duplicati.fleet contributors (!UNKNOWN)
extends_documentation_fragment:
  - duplicati.fleet.server
attributes:
  check_mode:
    support: full
    description:
      - The module checks whether O(new_password) already works, and that the connection options sign in; it changes nothing.
  diff_mode:
    support: none
    description: Passwords are never shown.
options:
  new_password:
    description:
      - The password the server should have.
    type: str
    required: true
notes:
  - Checking O(new_password) is a login with it (a short-lived token), which the module revokes right away.
  - Logins that were made with the old password stay valid until they expire or are revoked.
seealso:
  - module: duplicati.fleet.server_login
'''

EXAMPLES = r'''
- name: Set the server password (the current one from the vault)
  duplicati.fleet.server_password:
    password: "{{ duplicati_old_password }}"
    new_password: "{{ duplicati_password }}"

- name: Set the password of a fresh server, signing in through its database
  duplicati.fleet.server_password:
    server_data_folder: /root/.config/Duplicati
    new_password: "{{ duplicati_password }}"
  become: true
'''

RETURN = r'''
# Only the common return values (changed, failed, msg).
'''

from ansible_collections.duplicati.fleet.plugins.module_utils import server_settings
from ansible_collections.duplicati.fleet.plugins.module_utils.client import connect
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.server_module import ServerModule


def password_works(params, password):
    """True if the server accepts ``password`` (a short-lived login, revoked right after); False on HTTP 401."""
    probe = dict(params, password=password, access_token=None, settings_file=None, server_data_folder=None)
    client = connect(probe, probe_data_folder=False)
    try:
        client.login()
    except DuplicatiError as err:
        if err.status == 401:
            return False
        raise
    try:
        client.logout()
    except DuplicatiError:
        pass  # the short-lived token expires by itself within two hours
    return True


def run(server):
    new_password = server.params['new_password']
    if new_password.strip() == '':
        raise DuplicatiError('The new password is empty.', hint='Give a non-empty new_password.')
    if password_works(server.connection_params(), new_password):
        return dict(changed=False)
    if server.check_mode:
        server.client.login()  # the change needs the connection options: they must work in check mode too
    else:
        server_settings.change_password(server.client, new_password)
        if not password_works(server.connection_params(), new_password):
            raise DuplicatiError('The server at %s accepted the new password but refuses logins with it.' % server.client.host_url,
                                 hint='Check the server log; the server may have been started with --webservice-password, '
                                      'which sets the password on every start.')
    return dict(changed=True)


def main():
    argument_spec = dict(
        new_password=dict(type='str', required=True, no_log=True),
    )
    ServerModule(argument_spec).execute(run)


if __name__ == '__main__':
    main()
