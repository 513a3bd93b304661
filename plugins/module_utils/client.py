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


def transport_from_params(params, **overrides):
    """The ``Transport`` for the shared connection options (``connection_options.py``)."""
    kwargs = dict(
        host_url=params.get('host_url') or DEFAULT_HOST_URL,
        pre_shared_key=params.get('pre_shared_key') or None,
        validate_certs=params.get('validate_certs', True) is not False,
        ca_path=params.get('ca_path'),
        timeout=params.get('timeout') or DEFAULT_TIMEOUT,
    )
    kwargs.update(overrides)
    return Transport(**kwargs)


def connect(params, persist=False, clock=None, probe_data_folder=True, **transport_overrides):
    """A ``DuplicatiClient`` for a module's ``params`` (the shared connection options).

    ``persist=True`` asks for a long-lived login (RememberMe) and saves it to
    ``settings_file``, as ``duplicati-server-util login`` does. ``transport_overrides``
    reach ``Transport`` (tests inject ``sleep``, ``clock``, ``retries`` this way).
    """
    if clock is not None:
        transport_overrides.setdefault('clock', clock)
    transport = transport_from_params(params, **transport_overrides)
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
    return DuplicatiClient(transport, authenticator)
