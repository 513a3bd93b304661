# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the connection options shared by every module that talks to a Duplicati server."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  host_url:
    description:
      - URL of the Duplicati server (or of the server inside a Duplicati Agent).
      - The REST API is reached at I(host_url) + C(api/v1/), as C(duplicati-server-util --hosturl) does.
        A URL with a path, such as C(https://nas.example/duplicati), is given a trailing C(/) when it has none.
      - The refresh cookie is named after the port of this URL (C(RefreshToken_8200)); 80 and 443 are used when the URL has no port.
      - If not set, the environment variable E(DUPLICATI_HOST_URL) is used.
    type: str
    default: http://127.0.0.1:8200/
  password:
    description:
      - Password of the server's web UI and API, sent to C(POST api/v1/auth/login).
      - Tried last, after O(access_token), a login stored in O(settings_file) and a sign-in from the server database.
        When it is set, the server database is not used, as with C(duplicati-server-util --password).
      - If not set, the environment variable E(DUPLICATI_PASSWORD) is used.
    type: str
  access_token:
    description:
      - An access token used as it is, before any other way of logging in.
      - A forever token (a JWT from C(duplicati-server-util issue-forever-token)) is sent in an C(Authorization) header of type C(Bearer).
        Any other token is taken for one of the server's C(--webservice-pre-auth-tokens) and sent in an C(Authorization) header of type C(PreAuth).
      - If not set, the environment variable E(DUPLICATI_ACCESS_TOKEN) is used.
    type: str
  pre_shared_key:
    description:
      - Pre-shared key of a server that runs inside a Duplicati Agent, sent in the C(X-Duplicati-PreSharedKey) header of every request.
      - If not set, the environment variable E(DUPLICATI_PRE_SHARED_KEY) is used.
    type: str
  server_data_folder:
    description:
      - Data folder of the server, the folder that holds C(Duplicati-server.sqlite), on the host the module runs on.
      - Without O(password), the module reads the server's C(jwt-config) there, read-only, and signs in as user C(server-cli)
        with a token it mints itself (C(POST api/v1/auth/signin)), as C(duplicati-server-util) does.
      - When not set and O(password) is not set either, the default data folder of the host is probed.
    type: path
  settings_encryption_key:
    description:
      - Key of the server's field encryption (C(--settings-encryption-key)). It decrypts C(jwt-config) in an encrypted server database,
        and encrypts and decrypts the refresh token stored in O(settings_file).
      - If not set, the environment variable E(SETTINGS_ENCRYPTION_KEY) is used, as by Duplicati itself.
    type: str
  settings_file:
    description:
      - A C(duplicati-server-util) C(settings.json) with a stored login for O(host_url).
      - The stored refresh token is used with its nonce (C(POST api/v1/auth/refresh)); the server rotates it, and the new token and
        nonce are written back to the file at once (atomically, mode 0600), so the file stays usable by C(duplicati-server-util).
    type: path
  validate_certs:
    description:
      - Whether to verify the TLS certificate of an C(https) O(host_url).
      - Set to V(false) only for a server with a self-signed certificate you trust; better, give its CA in O(ca_path).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA certificate(s) that signed the server's TLS certificate.
    type: path
  timeout:
    description:
      - Seconds to wait for each answer of the server, 1 to 86400.
    type: int
    default: 30
notes:
  - "Authentication order (that of C(duplicati-server-util)): 1. O(access_token); 2. the login stored in O(settings_file);
    3. without O(password): a sign-in token minted from the server database in O(server_data_folder); 4. O(password).
    A refused stored login or sign-in falls through to the next way with a warning."
  - Access tokens are renewed before they expire and once after the server refuses one.
  - Requests that are safe to repeat are retried with exponential backoff on connection errors, HTTP 503 and HTTP 429
    (honouring C(Retry-After)); a request that changes something, such as running a backup, is never sent twice.
  - Proxies are used as set in the usual C(https_proxy)/C(http_proxy)/C(no_proxy) environment variables.
'''
