# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the connection options shared by every module that talks to a Duplicati server."""


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  host_url:
    description:
      - URL of the Duplicati server (or of the server inside a Duplicati Agent).
      - The REST API is reached at I(host_url) + C(api/v1/), as C(duplicati-server-util --hosturl) does.
        A URL with a path, such as C(https://nas.example/duplicati), is given a trailing C(/) when it has none.
      - The refresh cookie is named after the port of this URL (C(RefreshToken_8200)), as the server names it from the C(Host) header;
        a URL without a port (C(https://backup.example.com/)) gets C(RefreshToken_0).
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
  agent_settings_file:
    description:
      - The C(agent.json) of a Duplicati Agent whose hosted server O(host_url) points at, on the host the module runs on.
      - The Agent starts its server with C(--settings-encryption-key) set to its own C(--settings-encryption-key) (or the
        environment variable E(SETTINGS_ENCRYPTION_KEY)), else to the C(settingsEncryptionKey) of C(agent.json), so the server
        database is encrypted with it. When O(settings_encryption_key) is not set, that key is read from this file, and when
        O(server_data_folder) is not set, the folder of this file is used as the server's data folder.
      - The Agent starts its server with sign-in tokens disabled (its C(--webservice-disable-signin-tokens) defaults to true), so a
        sign-in from the server database works only with an Agent started with C(--webservice-disable-signin-tokens=false).
        It also resets the server's JWT configuration at every start (C(--webservice-reset-jwt-config), default true), which ends
        every login stored in O(settings_file).
    type: path
  agent_settings_passphrase:
    description:
      - The passphrase of O(agent_settings_file) (the Agent's C(--agent-settings-file-passphrase)), when its values are encrypted.
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
      - Set to V(false) only for a server with a self-signed certificate you trust; better, give its CA in O(ca_path),
        or pin its certificate with O(host_certificate).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA certificate(s) that signed the server's TLS certificate.
    type: path
  host_certificate:
    description:
      - SHA1 thumbprints (hex, any case, colons allowed) of server certificates to accept for an C(https) O(host_url),
        as C(duplicati-server-util --host-cert). The server's certificate must then be one of them; CA validation is not used.
      - When not set, O(password) is not set and the server database can be read (O(server_data_folder), or the probed default
        data folder), the thumbprint of the server's own certificate stored there (C(server-ssl-certificate)) is pinned,
        as C(duplicati-server-util) does. Reading that certificate needs the Python package C(cryptography).
      - If not set, the environment variable E(DUPLICATI_HOST_CERT) is used (thumbprints separated by commas).
    type: list
    elements: str
  timeout:
    description:
      - Seconds to wait for each answer of the server.
    type: int
    default: 30
notes:
  - "Authentication order (that of C(duplicati-server-util)): 1. O(access_token); 2. the login stored in O(settings_file);
    3. without O(password): a sign-in token minted from the server database in O(server_data_folder); 4. O(password).
    A refused stored login or sign-in falls through to the next way with a warning."
  - Access tokens are renewed before they expire and once after the server refuses one.
  - Requests that are safe to repeat are retried with exponential backoff on connection errors, HTTP 503 and HTTP 429
    (honouring C(Retry-After)); a request that changes something, such as running a backup, is never sent twice.
  - A server hosted by a Duplicati Agent refuses every API call from outside the Agent (HTTP 403 C(Invalid PreSharedKey)),
    because the Agent sets a random pre-shared key in memory at each start (C(PreSharedKeyFilter.PreSharedKey)), which no client
    can know. To reach that server, start the Agent with C(--disable-pre-shared-key=true) (the role
    C(duplicati.fleet.duplicati_agent) does so with C(duplicati_agent_local_access)).
  - Redirects are never followed, so that no credential is sent to another address.
  - Proxies are used as set in the usual C(https_proxy)/C(http_proxy)/C(no_proxy) environment variables.
'''
