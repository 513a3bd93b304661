# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-wide settings of a Duplicati server: the web UI password and forever tokens.

* ``PUT serversetting/server-passphrase`` with the password as a **JSON string** body
  (``"newpw"``), as ``duplicati-server-util change-password`` sends it;
* ``POST auth/issue-forever-token`` → ``{AccessToken, RefreshNonce: null}``: a 10-year
  access token. The server gives one per start, and only when it was started with
  ``--webservice-enable-forever-token``.
"""


from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.transport import Failure

PASSWORD_SETTING = 'server-passphrase'

_NOT_ENABLED = 'Forever tokens are not enabled'
_ONLY_ONE = 'Cannot generate multiple forever tokens'


def change_password(client, new_password):
    """Set the password of the server's web UI and API."""
    if new_password is None or str(new_password) == '':
        raise DuplicatiError('The new server password is empty.', hint='Give a non-empty new password.')
    client.request('PUT', 'serversetting/%s' % PASSWORD_SETTING, body=str(new_password), idempotent=True,
                   action='change the password of')


def _forever_token_failure(status, server_error):
    if status != 401 or not server_error:
        return None
    if server_error.startswith(_NOT_ENABLED):
        return Failure('forever tokens are not enabled on this server',
                       'Start the server with --webservice-enable-forever-token (or env DUPLICATI__WEBSERVICE_ENABLE_FOREVER_TOKEN=true).',
                       quote_server=True)
    if server_error.startswith(_ONLY_ONE):
        return Failure('the server issues only one forever token per server start, and it was already issued',
                       'Restart the server (still with --webservice-enable-forever-token) to issue a new one.',
                       quote_server=True)
    return None


def issue_forever_token(client):
    """A new forever token (a 10-year access token). Sent once, never repeated: each call uses up the server's one token."""
    answer = client.request('POST', 'auth/issue-forever-token', idempotent=False, action='issue a forever token from',
                            failures=_forever_token_failure)
    token = answer.get('AccessToken') if isinstance(answer, dict) else None
    if not token:
        raise DuplicatiError('Failed to issue a forever token from %s: the answer has no AccessToken.' % client.host_url)
    return token
