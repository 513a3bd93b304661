# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Authentication against a Duplicati server, in ``duplicati-server-util``'s order.

``Authenticator`` gets an access token the first way that works
(``Duplicati/CommandLine/ServerUtil/Connection.cs`` ``Connection.ConnectAsync``;
``Duplicati/WebserverCore/Endpoints/V1/Auth.cs``, ``Duplicati/WebserverCore/Services/LoginProvider.cs``):

1. an explicit ``access_token``: a JWT (a forever token) is sent as
   ``Authorization: Bearer``, anything else (a ``--webservice-pre-auth-tokens`` entry) as
   ``Authorization: PreAuth``;
2. the refresh token stored for this host in a ServerUtil ``settings.json``:
   ``POST auth/refresh`` with the ``RefreshToken_<port>`` cookie and the stored nonce;
   the rotated token and nonce are written back at once (atomically, like ServerUtil).
   The file lock is held from reading the entry to writing the rotated token back:
   the server treats a refresh token more than ``MaxRefreshTokenDrift`` (1) rotations
   behind its family as re-use and invalidates the whole family
   (``LoginProvider.PerformLoginWithRefreshTokenAsync``, ``InvalidateTokenFamilyAsync``),
   so runs that share one stored login must rotate it one after the other, each from
   the newest token;
3. only without a password: a sign-in token minted from the server database's
   ``jwt-config`` for user ``server-cli``, sent to ``POST auth/signin``;
4. the password: ``POST auth/login``.

``RememberMe`` is true only for a persistent login (``persist=True``), as ServerUtil
sets it for its ``login`` command; only then are new logins saved to ``settings.json``.

Access tokens are renewed before they expire (less than 60 s left, read from the
unverified ``exp`` claim) and once after a 401. Logout sends the nonce with the refresh
token, so the server invalidates the whole token family (ServerUtil sends none).
``end_run`` logs out a login that was made for this run only (not saved), so that no
``TokenFamily`` row is left behind on the server
(``TokenFamilyStore.CreateTokenFamilyAsync`` inserts one for every login).

No secret is ever logged, returned or put in an error message.
"""


import os
import time

from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import file_lock
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.transport import REFRESH_COOKIE_PREFIX, Failure

SIGNIN_USER_ID = 'server-cli'
RENEW_MARGIN_SECONDS = 60

TOKEN_KIND_AUTO = 'auto'
TOKEN_KIND_BEARER = 'bearer'
TOKEN_KIND_PREAUTH = 'preauth'
TOKEN_KINDS = (TOKEN_KIND_AUTO, TOKEN_KIND_BEARER, TOKEN_KIND_PREAUTH)

METHOD_ACCESS_TOKEN = 'access_token'
METHOD_STORED_LOGIN = 'settings_file'
METHOD_SIGNIN = 'server_database'
METHOD_PASSWORD = 'password'

# Statuses that mean "this credential was refused": the next method is tried. Anything
# else (no connection, TLS, a wrong pre-shared key, a refused host name) fails every
# method alike, so it is reported at once.
_REFUSED = (400, 401)


def _jwt():
    from ansible_collections.duplicati.fleet.plugins.module_utils import jwt
    return jwt


def _settings():
    from ansible_collections.duplicati.fleet.plugins.module_utils import serverutil_settings
    return serverutil_settings


def looks_like_jwt(token):
    """True if ``token`` parses as a JWT (three base64url parts, a JSON header)."""
    try:
        _jwt().unverified_claims(token)
        return True
    except (DuplicatiError, ValueError, TypeError, KeyError):  # not a JWT: then it is a pre-auth token
        return False


def token_expiry(token):
    """The ``exp`` claim of a JWT as epoch seconds, or None (no claim, or not a JWT)."""
    try:
        claims = _jwt().unverified_claims(token)
    except (DuplicatiError, ValueError, TypeError, KeyError):  # an opaque token carries no expiry we could read
        return None
    exp = claims.get('exp') if isinstance(claims, dict) else None
    try:
        return float(exp) if exp is not None else None
    except (TypeError, ValueError):
        return None


def refresh_cookie_value(response):
    """The refresh token from ``Set-Cookie`` (the first cookie whose name starts with ``RefreshToken_``)."""
    for name, value in response.cookies.items():
        if name.startswith(REFRESH_COOKIE_PREFIX) and value:
            return value
    return None


class Authenticator(object):
    """Holds the credentials for one server and the tokens obtained from them."""

    def __init__(self, transport, password=None, access_token=None, access_token_kind=TOKEN_KIND_AUTO,
                 settings_file=None, server_data_folder=None, settings_encryption_key=None,
                 host_url=None, persist=False, probe_data_folder=True, clock=None):
        if access_token_kind not in TOKEN_KINDS:
            raise DuplicatiError('Invalid access token kind %r: use one of %s.' % (access_token_kind, ', '.join(TOKEN_KINDS)))
        self.transport = transport
        self.host_url = host_url or transport.host_url  # as the user wrote it: settings.json entries are keyed by it
        self._password = password or None
        self._explicit_token = access_token or None
        self._explicit_kind = access_token_kind
        self.settings_file = settings_file or None
        self.server_data_folder = server_data_folder or None
        self._key = settings_encryption_key or None
        self.persist = bool(persist)
        self.probe_data_folder = probe_data_folder
        self.clock = clock or time.time
        self.method = None
        self.warnings = []
        self._scheme = None
        self._access_token = None
        self._expires = None
        self._refresh_token = None
        self._refresh_nonce = None
        self._save_rotations = False
        self._obtained = set()

    # -- public ----------------------------------------------------------------
    def authorization_headers(self):
        """``{'Authorization': …}`` with a token that is valid for at least another minute."""
        if self._access_token is None:
            self.authenticate()
        elif self._expires is not None and self._expires - self.clock() < RENEW_MARGIN_SECONDS:
            self.renew()
        return {'Authorization': '%s %s' % (self._scheme, self._access_token)}

    def authenticate(self):
        """Get an access token the first way that works; returns the method used."""
        notes = []
        if self._explicit_token:
            self._use_explicit_token()
            return self.method
        if self.settings_file and self._login_with_stored_token(notes):
            return self.method
        if not self._password and self._signin_from_database(notes):
            return self.method
        if self._password:
            self._login_with_password()
            return self.method
        raise DuplicatiError(
            'Failed to log in to %s: no credentials worked%s.' % (self.transport.host_url, (': ' + '; '.join(notes)) if notes else ''),
            hint='Set the password option, or access_token, or settings_file with a stored login, '
                 'or server_data_folder pointing at the server\'s Duplicati-server.sqlite.')

    def renew(self):
        """A fresh access token: rotate the refresh token if there is one, else log in again."""
        if self.method == METHOD_ACCESS_TOKEN:
            raise DuplicatiError('Failed to use the access token for %s: it expired.' % self.transport.host_url,
                                 hint='Issue a new token and set it in the access_token option.')
        if self._refresh_token:
            try:
                if self._save_rotations:
                    self._refresh_stored(self._refresh_token, self._refresh_nonce)
                else:
                    self._refresh(self._refresh_token, self._refresh_nonce)
                return self.method
            except DuplicatiError as err:
                if err.status not in _REFUSED:
                    raise
                self.warnings.append('The refresh token was refused; logging in again.')
        self._forget_tokens()
        return self.authenticate()

    def handle_unauthorized(self):
        """After a 401 on an authorized call: True if new credentials were obtained (repeat once)."""
        if self.method == METHOD_ACCESS_TOKEN or self.method is None:
            return False
        self.renew()
        return True

    def unauthorized_failure(self):
        """How to explain a 401 that survived renewal."""
        if self.method == METHOD_ACCESS_TOKEN:
            if self._scheme == 'PreAuth':
                return Failure('the pre-auth token was refused',
                               'Check the access_token option: it must be one of the server\'s --webservice-pre-auth-tokens.')
            return Failure('the access token was refused',
                           'Check the access_token option; a forever token stops working when the server\'s JWT '
                           'configuration is reset (--webservice-reset-jwt-config).')
        return Failure('the server refused the renewed access token', 'Check the credentials and the server log.', quote_server=True)

    def logout(self):
        """End the stored or current login; returns True if a token was sent to the server.

        ``POST auth/refresh/logout`` with the refresh cookie **and** its nonce, so the
        server invalidates the token family; the settings.json entry keeps no token.
        """
        if not self.settings_file:
            return self._logout(self._refresh_token, self._refresh_nonce)
        with file_lock(self.settings_file):
            token, nonce = self._refresh_token, self._refresh_nonce
            entry = _settings().find_entry(self._load_entries(), self.host_url)
            if token is None and entry is not None and entry.get('RefreshToken'):
                token, nonce = entry['RefreshToken'], entry.get('RefreshNonce')
            if not self._logout(token, nonce):
                return False
            self._write_entry(None, None)
        return True

    def end_run(self):
        """Log out a login made for this run only; True if a token was sent to the server.

        A login that is saved to ``settings.json`` (a stored login, ``persist=True``) or an
        explicit access token is left alone. A failure becomes a warning: the run's work
        is done, and the family then expires with its short-lived refresh token.
        """
        if self.method not in (METHOD_PASSWORD, METHOD_SIGNIN) or self._save_rotations or not self._refresh_token:
            return False
        try:
            return self._logout(self._refresh_token, self._refresh_nonce)
        except DuplicatiError as err:
            self.warnings.append('Failed to log out at the end of the run: %s' % err)
            return False

    def secrets(self):
        """Every token and nonce obtained at run time (to keep them out of any output)."""
        return set(self._obtained)

    def _logout(self, token, nonce):
        if not token:
            return False
        self.transport.request('POST', 'auth/refresh/logout', body={'Nonce': nonce} if nonce else None,
                               headers={'Cookie': '%s=%s' % (self.transport.refresh_cookie_name, token)},
                               action='log out of')
        self._forget_tokens()
        return True

    # -- methods ---------------------------------------------------------------
    def _use_explicit_token(self):
        kind = self._explicit_kind
        if kind == TOKEN_KIND_AUTO:
            kind = TOKEN_KIND_BEARER if looks_like_jwt(self._explicit_token) else TOKEN_KIND_PREAUTH
        self._scheme = 'Bearer' if kind == TOKEN_KIND_BEARER else 'PreAuth'
        self._access_token = self._explicit_token
        self._expires = token_expiry(self._explicit_token) if kind == TOKEN_KIND_BEARER else None
        self.method = METHOD_ACCESS_TOKEN
        if self._expires is not None and self._expires <= self.clock():
            self._forget_tokens()
            raise DuplicatiError('Failed to use the access token for %s: it expired at %s.'
                                 % (self.transport.host_url, time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(self._expires))),
                                 hint='Issue a new token and set it in the access_token option.')

    def _login_with_stored_token(self, notes):
        try:
            if not self._refresh_stored(None, None):
                return False
        except DuplicatiError as err:
            if err.status not in _REFUSED:
                raise
            notes.append('the stored login in %s was refused (HTTP %s)' % (self.settings_file, err.status))
            self.warnings.append('Failed to use the stored login in %s: the server refused it (HTTP %s).' % (self.settings_file, err.status))
            return False
        self.method = METHOD_STORED_LOGIN
        return True

    def _signin_from_database(self, notes):
        folder = self.server_data_folder
        if folder is None and self.probe_data_folder:
            folder = probe_data_folder()
        if folder is None:
            return False
        try:
            config = _read_jwt_config(folder, self._key)
        except DuplicatiError as err:
            notes.append('no sign-in token from the server database (%s)' % err)
            self.warnings.append('Failed to obtain a sign-in token: %s' % err)
            return False
        if not config:
            notes.append('the server database in %s has no jwt-config yet' % folder)
            return False
        token = _jwt().signin_token(config, user_id=SIGNIN_USER_ID, now=self.clock())
        try:
            response = self.transport.request(
                'POST', 'auth/signin', body={'SigninToken': token, 'RememberMe': self.persist}, idempotent=True,
                action='sign in with a token from the server database to',
                failures={401: Failure('the sign-in token was refused',
                                       'Sign-in tokens may be disabled (--webservice-disable-signin-tokens; a Duplicati Agent disables '
                                       'them unless started with --webservice-disable-signin-tokens=false), or server_data_folder '
                                       'holds the database of another server; use the password option.', quote_server=True)})
        except DuplicatiError as err:
            if err.status not in _REFUSED:
                raise
            notes.append(str(err))
            self.warnings.append(str(err))
            return False
        self._accept(response, save=self.persist)
        self.method = METHOD_SIGNIN
        if self.server_data_folder is None:
            self.server_data_folder = folder
        return True

    def _login_with_password(self):
        response = self.transport.request(
            'POST', 'auth/login', body={'Password': self._password, 'RememberMe': self.persist}, idempotent=True,
            action='log in to', failures={401: Failure('the password was refused', 'Check the password option.')})
        self._accept(response, save=self.persist)
        self.method = METHOD_PASSWORD

    # -- tokens ----------------------------------------------------------------
    def _refresh_stored(self, token, nonce):
        """Rotate the stored login under the settings file's lock; False if none is stored.

        The entry is read under the lock: when another run rotated it since ``token``
        was obtained, its newer token is used, so this run never refreshes from a token
        the server already replaced twice. The rotated token is written before the lock
        is released.
        """
        if not token and not self._stored_entry():
            return False  # nothing stored: no lock (and no lock file) needed
        with file_lock(self.settings_file):
            entry = self._stored_entry()
            if entry is not None:
                token, nonce = entry['RefreshToken'], entry.get('RefreshNonce')
            if not token:
                return False
            rotated = self._refresh(token, nonce)
            self._save_rotations = True
            if rotated:
                self._write_entry(self._refresh_token, self._refresh_nonce)
        return True

    def _refresh(self, token, nonce):
        response = self.transport.request(
            'POST', 'auth/refresh', body={'Nonce': nonce} if nonce else None,
            headers={'Cookie': '%s=%s' % (self.transport.refresh_cookie_name, token)},
            action='refresh the login to',
            failures={401: Failure('the refresh token was refused (expired, revoked or already used)',
                                   'Log in again with the password, or store a new login in settings_file.')})
        return self._accept(response, save=False)

    def _accept(self, response, save):
        data = response.json()
        if not isinstance(data, dict) or not isinstance(data.get('AccessToken'), str) or not data.get('AccessToken'):
            raise DuplicatiError('The login answer of %s has no AccessToken.' % self.transport.host_url,
                                 url=response.url, hint='Check that host_url points at a Duplicati server.')
        self._scheme = 'Bearer'
        self._access_token = data['AccessToken']
        self._expires = token_expiry(self._access_token)
        refresh = refresh_cookie_value(response)
        if refresh:
            self._refresh_token = refresh
            self._refresh_nonce = data.get('RefreshNonce') or None
        self._obtained.update(value for value in (self._access_token, refresh, data.get('RefreshNonce')) if isinstance(value, str) and value)
        self._save_rotations = bool(save and self.settings_file)
        if self._save_rotations and refresh:
            self._store(self._refresh_token, self._refresh_nonce)
        return bool(refresh)

    def _forget_tokens(self):
        self._access_token = self._expires = self._scheme = None
        self._refresh_token = self._refresh_nonce = None

    # -- settings.json ---------------------------------------------------------
    def _stored_entry(self):
        """This host's entry of settings.json when it holds a refresh token, else None."""
        entry = _settings().find_entry(self._load_entries(), self.host_url)
        return entry if entry is not None and (entry.get('RefreshToken') or '').strip() else None

    def _load_entries(self):
        return _settings().load_serverutil_settings(self.settings_file, self._key)

    def _store(self, token, nonce):
        """Save this host's token in settings.json under the file's lock."""
        with file_lock(self.settings_file):
            self._write_entry(token, nonce)

    def _write_entry(self, token, nonce):
        """Write this host's entry, keeping every other host's; the caller holds the lock.

        The file is read again: another run may have stored a login for another host
        since it was last read.
        """
        module = _settings()
        entries = self._load_entries()
        entry = module.find_entry(entries, self.host_url)
        folder = self.server_data_folder or (entry or {}).get('ServerDatafolder')
        updated = module.upsert_entry(entries, self.host_url, token, nonce, folder)
        warning = module.save_serverutil_settings(self.settings_file, updated, self._key)
        if warning and warning not in self.warnings:
            self.warnings.append(warning)


def _database_path(folder):
    from ansible_collections.duplicati.fleet.plugins.module_utils.data_folder import SERVER_DATABASE_FILENAME
    return os.path.join(folder, SERVER_DATABASE_FILENAME)


def probe_data_folder():
    """The data folder ServerUtil would probe on this host, if it holds a server database."""
    try:
        from ansible_collections.duplicati.fleet.plugins.module_utils.data_folder import host_data_folder
        folder, dummy = host_data_folder()
    except Exception:  # probing is best effort, as in ServerUtil
        return None
    if folder and os.path.isfile(_database_path(folder)):
        return folder
    return None


def _read_jwt_config(folder, key):
    """The ``jwt-config`` server setting of ``<folder>/Duplicati-server.sqlite`` (decrypted), or None."""
    from ansible_collections.duplicati.fleet.plugins.module_utils import server_database
    return server_database.read_jwt_config(server_database.database_path(folder), key)
