#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: server_login
short_description: Store or revoke a persistent login to a Duplicati server
version_added: 0.1.0
description:
  - With O(state=present), logs in to a Duplicati server and stores the refresh token (and its nonce) in the
    C(settings.json) of C(duplicati-server-util), like C(duplicati-server-util login). Later runs of this collection's
    modules and of C(duplicati-server-util) then need no password.
  - The file has the format C(duplicati-server-util) reads, and the token is encrypted (C(enc-v1)) with
    O(settings_encryption_key) when one is given, as C(duplicati-server-util) does.
  - With O(state=absent), logs out. The token is revoked on the server together with every token of its
    family (the nonce is sent, unlike C(duplicati-server-util logout)), and removed from the file.
  - Idempotent. With O(state=present), a stored login that still works is kept (it is renewed, as every use renews it).
    With O(state=absent), nothing happens when no login is stored.
author:
  - duplicati.fleet contributors (!UNKNOWN)
extends_documentation_fragment:
  - duplicati.fleet.server
attributes:
  check_mode:
    support: full
    description:
      - The settings file is read and nothing is sent or written. A stored token counts as working when it is not expired;
        a token that was revoked on the server is only found in a real run.
  diff_mode:
    support: full
    description: Whether a login is stored for the host, before and after. Tokens are never shown.
options:
  state:
    description:
      - V(present) makes sure a working login is stored, V(absent) revokes and removes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - When O(settings_file) is not set, the login is stored where C(duplicati-server-util) keeps its C(settings.json) on the host
    (in its data folder, for example C(~/.config/Duplicati/settings.json)); RV(settings_file) says where.
  - Later tasks use the stored login when they are given the same O(settings_file) and O(host_url).
  - With O(state=present), the module logs in with the other connection options (for example O(password),
    or a sign-in through the server database with O(server_data_folder)).
seealso:
  - module: duplicati.fleet.server_password
  - module: duplicati.fleet.forever_token
'''

EXAMPLES = r'''
- name: Log in once, so that later tasks and duplicati-server-util need no password
  duplicati.fleet.server_login:
    password: "{{ duplicati_password }}"
    settings_file: /root/.config/Duplicati/settings.json
    settings_encryption_key: "{{ settings_key }}"
  become: true

- name: Later tasks use the stored login
  module_defaults:
    group/duplicati.fleet.server:
      settings_file: /root/.config/Duplicati/settings.json
      settings_encryption_key: "{{ settings_key }}"
  become: true
  block:
    - name: List the backups without a password
      duplicati.fleet.backup_info:

    - name: Log out and revoke the stored login (and every token of its family)
      duplicati.fleet.server_login:
        state: absent
'''

RETURN = r'''
settings_file:
  description: The settings file the login is stored in.
  returned: always
  type: str
  sample: /root/.config/Duplicati/settings.json
logged_in:
  description: Whether a login for O(host_url) is stored after the module ran (in check mode, the prediction).
  returned: always
  type: bool
  sample: true
encrypted:
  description: Whether the stored token is encrypted with O(settings_encryption_key). V(false) when none is stored.
  returned: always
  type: bool
  sample: true
'''

import os
import time

from ansible_collections.duplicati.fleet.plugins.module_utils import serverutil_settings
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import ensure_private_directory
from ansible_collections.duplicati.fleet.plugins.module_utils.auth import METHOD_STORED_LOGIN, token_expiry
from ansible_collections.duplicati.fleet.plugins.module_utils.client import connect
from ansible_collections.duplicati.fleet.plugins.module_utils.data_folder import current_os, host_home
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.server_module import ServerModule, diff_result


def settings_path(params):
    """The settings file: the option, else where duplicati-server-util keeps it on this host."""
    if params['settings_file']:
        return params['settings_file']
    return serverutil_settings.default_settings_path(current_os(), env=dict(os.environ), home=host_home(), cwd=os.getcwd())


def stored_token(path, params):
    """The refresh token stored for host_url in ``path`` (decrypted), or None."""
    entries = serverutil_settings.load_serverutil_settings(path, params['settings_encryption_key'])
    entry = serverutil_settings.find_entry(entries, params['host_url'])
    token = (entry or {}).get('RefreshToken')
    return token if token and token.strip() else None


def token_is_current(token, now=None):
    """True unless the token's ``exp`` claim lies in the past (what check mode can know without using it)."""
    expiry = token_expiry(token)
    return expiry is None or expiry > (now or time.time())


def present(server, path, had_token):
    params = dict(server.connection_params(), settings_file=path)
    if params['access_token']:
        raise DuplicatiError('server_login cannot store a login made with access_token: an access token has no refresh token.',
                             hint='Log in with the password option (or a sign-in through server_data_folder) instead.')
    result = dict(settings_file=path, logged_in=True)
    if server.check_mode:
        if had_token is not None and token_is_current(had_token):
            result['changed'] = False
        else:
            # Check the credentials with a short-lived login that is revoked at once; nothing is stored.
            probe = connect(dict(params, settings_file=None))
            probe.login()
            server.mask(probe)
            probe.logout()
            result['changed'] = True
        return result
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        ensure_private_directory(folder)
    client = connect(params, persist=True)
    method = client.login()
    server.mask(client)
    for message in client.warnings:
        server.warn(message)
    if method == METHOD_STORED_LOGIN:
        result['changed'] = False
        return result
    if not stored_token(path, params):
        raise DuplicatiError('Logged in to %s, but the server sent no refresh token to store.' % client.host_url,
                             hint='Check that host_url points at the server itself and not at a proxy that drops cookies.')
    result['changed'] = True
    return result


def absent(server, path, had_token):
    result = dict(settings_file=path, logged_in=False, changed=had_token is not None)
    if had_token is not None and not server.check_mode:
        connect(dict(server.connection_params(), settings_file=path)).logout()
    return result


def run(server):
    path = settings_path(server.params)
    if os.path.isdir(path):
        raise DuplicatiError('The settings file %s is a folder.' % path, hint='Set settings_file to a file path.')
    had_token = stored_token(path, server.params)
    if server.params['state'] == 'present':
        result = present(server, path, had_token)
    else:
        result = absent(server, path, had_token)
    key, dummy = serverutil_settings.effective_key(server.params['settings_encryption_key'])
    result['encrypted'] = bool(result['logged_in'] and key is not None)
    if server.diff_mode and result['changed']:
        diff_result(result, dict(settings_file=path, host_url=server.params['host_url'], logged_in=had_token is not None),
                    dict(settings_file=path, host_url=server.params['host_url'], logged_in=result['logged_in']))
    return result


def main():
    argument_spec = dict(
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    ServerModule(argument_spec).execute(run)


if __name__ == '__main__':
    main()
