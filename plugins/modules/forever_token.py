#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
module: forever_token
short_description: Issue a forever access token of a Duplicati server
version_added: 0.1.0
description:
  - Issues an access token that is valid for ten years, like C(duplicati-server-util issue-forever-token).
    Other tools (and the O(access_token) option of this collection's modules) can use it without a password.
  - The server issues one forever token per start, and only when it was started with
    C(--webservice-enable-forever-token). Otherwise the module fails and says so.
  - Each call issues a new token, so C(changed) is always V(true).
author:
  - duplicati.fleet contributors (!UNKNOWN)
extends_documentation_fragment:
  - duplicati.fleet.server
attributes:
  check_mode:
    support: full
    description: Nothing is issued and RV(token) is not returned; C(changed) is V(true).
  diff_mode:
    support: none
    description: The token is a secret and is never shown.
options: {}
notes:
  - The token is a secret. Use C(no_log) on the task, and store it in a vault.
  - A forever token can only be revoked by restarting the server with C(--webservice-reset-jwt-config=true),
    which invalidates all tokens and logins.
seealso:
  - module: duplicati.fleet.server_login
'''

EXAMPLES = r'''
- name: Issue the forever token of a server started with --webservice-enable-forever-token
  duplicati.fleet.forever_token:
    password: "{{ duplicati_password }}"
  register: forever
  no_log: true

- name: Use it for the next calls
  duplicati.fleet.server_info:
    access_token: "{{ forever.token }}"
'''

RETURN = r'''
token:
  description:
    - The forever access token (a JWT). Send it as C(Authorization Bearer <token>), or give it to O(access_token).
    - This is a secret.
  returned: success, not in check mode
  type: str
  sample: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...
'''

from ansible_collections.duplicati.fleet.plugins.module_utils import server_settings
from ansible_collections.duplicati.fleet.plugins.module_utils.server_module import ServerModule


def run(server):
    if server.check_mode:
        server.client.login()  # the credentials are checked; nothing is issued
        return dict(changed=True)
    return dict(changed=True, token=server_settings.issue_forever_token(server.client))


def main():
    ServerModule(dict()).execute(run)


if __name__ == '__main__':
    main()
