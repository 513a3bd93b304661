# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``DuplicatiClient``: the transport and the authentication of one Duplicati server, joined.

A module builds it with ``connect(module.params)`` from the shared connection options
(``connection_options.py``) and hands it to the resource functions (``backups.py``,
``server_state.py``, ``server_settings.py``). The client logs in lazily, on the first
call that needs it, so ``health`` works without any credentials.

A 401 is answered by renewing the login and repeating the call once, but only when
the server's authentication layer refused the token (an empty 401, as ASP.NET's JWT
handler sends it). A 401 that carries Duplicati's ``{Error, Code}`` body comes from the
endpoint itself ("Forever tokens are not enabled") and is reported as it is.
"""


import os

from ansible_collections.duplicati.fleet.plugins.module_utils.auth import Authenticator
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.transport import DEFAULT_HOST_URL, DEFAULT_TIMEOUT, Transport, quote_segment

SINGLE_OPERATIONS = ('export', 'bugreport', 'websocket')


class DuplicatiClient(object):
    """Authorized calls to the REST API of one Duplicati server."""

    def __init__(self, transport, authenticator):
        self.transport = transport
        self.auth = authenticator

    @property
    def host_url(self):
        return self.transport.host_url

    @property
    def warnings(self):
        """Things the user should know (a stored login that was refused, a token saved unencrypted)."""
        return list(self.auth.warnings)

    def request(self, method, path, query=None, body=None, raw=False, idempotent=None, action=None, failures=None):
        """Send an authorized request to ``<host_url>api/v1/<path>``.

        Returns the parsed JSON answer (None for an empty body), or with ``raw=True``
        the ``http.Response`` itself (``.body`` bytes, ``.header(name)``).
        Raises ``DuplicatiError`` on any failure.
        """
        response = self._send(method, path, query, body, raw, idempotent, action, failures)
        if raw:
            return response
        return response.json()

    def _send(self, method, path, query, body, raw, idempotent, action, failures):
        def explain(status, server_error):
            if status == 401 and not server_error:
                return self.auth.unauthorized_failure()
            if callable(failures):
                return failures(status, server_error)
            return (failures or {}).get(status)

        headers = self.auth.authorization_headers()
        try:
            return self.transport.request(method, path, query=query, body=body, headers=headers, raw=raw,
                                          idempotent=idempotent, action=action, failures=explain)
        except DuplicatiError as err:
            if err.status != 401 or err.server_error or not self.auth.handle_unauthorized():
                raise
        headers = self.auth.authorization_headers()
        return self.transport.request(method, path, query=query, body=body, headers=headers, raw=raw,
                                      idempotent=idempotent, action=action, failures=explain)

    # -- small calls shared by several resources -------------------------------
    def issue_operation_token(self, operation):
        """A single-operation token (valid one minute) for ``export``, ``bugreport`` or ``websocket``."""
        if operation not in SINGLE_OPERATIONS:
            raise DuplicatiError('Unknown single-operation token %r: use one of %s.' % (operation, ', '.join(SINGLE_OPERATIONS)))
        answer = self.request('POST', 'auth/issuetoken/%s' % quote_segment(operation), idempotent=True)
        token = answer.get('Token') if isinstance(answer, dict) else None
        if not token:
            raise DuplicatiError('Failed to get a %s token from %s: the answer has no Token.' % (operation, self.host_url))
        return token

    def login(self):
        """Log in now (instead of on the first call); returns the method that worked."""
        self.auth.authorization_headers()
        return self.auth.method

    def logout(self):
        """End the stored or current login (see ``Authenticator.logout``); True if a token was sent."""
        return self.auth.logout()


def transport_from_params(params, host_certificates=None, **overrides):
    """The ``Transport`` for the shared connection options (``connection_options.py``)."""
    kwargs = dict(
        host_url=params.get('host_url') or DEFAULT_HOST_URL,
        validate_certs=params.get('validate_certs', True) is not False,
        ca_path=params.get('ca_path'),
        timeout=params.get('timeout') or DEFAULT_TIMEOUT,
        host_certificates=host_certificates if host_certificates is not None else _given_thumbprints(params),
    )
    kwargs.update(overrides)
    return Transport(**kwargs)


def _given_thumbprints(params):
    """The ``host_certificate`` option: thumbprints, also split at ``,`` and ``;`` like ``--host-cert``."""
    values = params.get('host_certificate') or []
    if isinstance(values, str):
        values = [values]
    return [part.strip() for value in values for part in str(value).replace(';', ',').split(',') if part.strip()]


def agent_server_params(params):
    """``params`` completed from ``agent_settings_file`` for a server hosted by a Duplicati Agent.

    ``Agent/Program.cs`` ``StartLocalServerAsync`` passes ``--settings-encryption-key``: the
    agent's own key if it has one, else ``settingsEncryptionKey`` of ``agent.json``. The
    agent's own key comes from its command line or ``SETTINGS_ENCRYPTION_KEY``, which the
    ``settings_encryption_key`` option also falls back to, so that option wins here too.
    The server's data folder is the folder of ``agent.json`` unless ``server_data_folder`` is set.
    """
    path = params.get('agent_settings_file')
    if not path:
        return params
    from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings
    completed = dict(params)
    if not completed.get('settings_encryption_key'):
        settings = agent_settings.load_agent_settings(path, params.get('agent_settings_passphrase') or None)
        completed['settings_encryption_key'] = (settings.get('settingsEncryptionKey') or '').strip() or None
    if not completed.get('server_data_folder'):
        completed['server_data_folder'] = os.path.dirname(os.path.abspath(path))
    return completed


def server_certificate_pin(params, probe_data_folder=True):
    """``(thumbprints, warning)``: the server's own certificate from its database, as ServerUtil pins it.

    ``Connection.ConnectAsync`` of ServerUtil reads ``server-ssl-certificate`` from the server
    database when the host URL is https, no ``--host-cert`` is given and no password is set,
    and trusts the certificate's hash. Failing to read it is a warning, never an error.
    """
    from ansible_collections.duplicati.fleet.plugins.module_utils import auth, server_database
    host_url = params.get('host_url') or DEFAULT_HOST_URL
    if not host_url.strip().lower().startswith('https:') or _given_thumbprints(params) or params.get('password'):
        return None, None
    folder = params.get('server_data_folder') or (auth.probe_data_folder() if probe_data_folder else None)
    if not folder or not os.path.isfile(server_database.database_path(folder)):
        return None, None
    try:
        thumbprint = server_database.read_certificate_thumbprint(server_database.database_path(folder),
                                                                 params.get('settings_encryption_key') or None)
    except DuplicatiError as err:
        return None, 'Failed to read the server certificate from the database in %s: %s' % (folder, err)
    return ([thumbprint] if thumbprint else None), None


def connect(params, persist=False, clock=None, probe_data_folder=True, **transport_overrides):
    """A ``DuplicatiClient`` for a module's ``params`` (the shared connection options).

    ``persist=True`` asks for a long-lived login (RememberMe) and saves it to
    ``settings_file``, as ``duplicati-server-util login`` does. ``transport_overrides``
    reach ``Transport`` (tests inject ``sleep``, ``clock``, ``retries`` this way).
    """
    if clock is not None:
        transport_overrides.setdefault('clock', clock)
    params = agent_server_params(params)
    pins, warning = server_certificate_pin(params, probe_data_folder)
    transport = transport_from_params(params, host_certificates=pins, **transport_overrides)
    # an empty value counts as not given: AWX injects unset credential fields as ''
    authenticator = Authenticator(
        transport,
        password=params.get('password') or None,
        access_token=params.get('access_token') or None,
        settings_file=params.get('settings_file') or None,
        server_data_folder=params.get('server_data_folder') or None,
        settings_encryption_key=params.get('settings_encryption_key') or None,
        host_url=params.get('host_url') or DEFAULT_HOST_URL,
        persist=persist,
        probe_data_folder=probe_data_folder,
        clock=clock,
    )
    if warning:
        authenticator.warnings.append(warning)
    return DuplicatiClient(transport, authenticator)
