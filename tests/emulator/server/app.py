# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated Duplicati server: the REST API of ``Duplicati/WebserverCore`` on the wire.

A request goes through the same stages, in the same order, as in the real ASP.NET
pipeline (``DuplicatiWebserver.cs``, ``Extensions/WebApplicationExtensions.cs``):

1. fault injection (emulator only; never for ``/_emulator/``);
2. authentication of *every* request: ``Authorization: PreAuth <t>`` or a listed
   ``?token=`` selects the PreAuth scheme, otherwise the JWT bearer scheme. A valid
   access token whose ``TokenFamily`` row is gone makes the real store throw inside
   the authentication middleware, which has no exception handler around it: the
   answer is a bare 500 with an empty body (ngclient issue #15 shows this);
3. routing, case-insensitive: unknown path → 404 with an empty body, known path and
   wrong method (``HEAD`` on a ``MapGet`` route too) → 405 with ``Allow``;
4. authorization for endpoints that require it: 401 with an empty body and a
   ``WWW-Authenticate`` challenge;
5. parameter binding (JSON body and typed query values): 400 with an empty body (a missing
   body, bad JSON, a wrong type), 415 for a body that is not JSON;
6. the endpoint filters of ``/api/v1``: the hostname filter (403
   ``{"Error":"Invalid hostname: <h>","Code":403}``) then, when a PSK is set, the PSK
   filter (403 text/plain ``Invalid PreSharedKey``);
7. the handler; a ``UserReportedHttpException`` becomes ``{"Error","Code"}`` with its
   status and ``application/json``, anything else 500
   ``{"Error":"An error occurred","Code":500}``.

``/health`` answers ``Healthy`` (text/plain) with no filter. ``/_emulator/`` is the
test-control surface of this emulator; it is not part of Duplicati and is never
reachable under ``/api/``.
"""

import base64
import binascii
import datetime
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from email.utils import formatdate

from ..codecs import timeparser
from ..httpbase import EmulatorApp, Response
from . import backup_config, backup_crud, certificate, dotnet_json, options, systeminfo, tokens
from .database import ServerDatabase, utcnow
from .seed import seed_backups
from .tasks import RESULTS, TaskRunner

DEFAULT_HOSTNAMES = ('localhost', '127.0.0.1', '[::1]', 'localhost.localdomain')
_JSON = 'application/json; charset=utf-8'
_AUTH_COOKIE_PATH = '/api/v1/auth/refresh'
_PREAUTH_TOKEN = re.compile(r'^[A-Za-z0-9_-]{10,}$')


class ApiError(Exception):
    """UserReportedHttpException: status + message, JSON unless text/plain."""

    def __init__(self, status, message, content_type='application/json'):
        super(ApiError, self).__init__(message)
        self.status = status
        self.message = message
        self.content_type = content_type


class _BindingFailure(Exception):
    def __init__(self, status=400):
        super(_BindingFailure, self).__init__(status)
        self.status = status


class _MiddlewareCrash(Exception):
    """An exception escaping the authentication middleware: Kestrel answers a bare 500."""


def _empty(status, headers=None):
    return Response(status, b'', 'text/plain', headers=headers)


def _json(payload, status=200, headers=None):
    return Response(status, dotnet_json.dumpb(payload), _JSON, headers=headers)


def _split_host(host_header):
    """Request.Host: (host, port or None); IPv6 hosts keep their brackets."""
    host_header = (host_header or '').strip()
    if host_header.startswith('['):
        end = host_header.find(']')
        host, rest = host_header[:end + 1], host_header[end + 1:]
        port = rest[1:] if rest.startswith(':') else None
    elif host_header.count(':') == 1:
        host, port = host_header.split(':', 1)
    else:
        host, port = host_header, None
    try:
        port = int(port) if port else None
    except ValueError:
        port = None
    return host, port


def _is_ip(host):
    candidate = host[1:-1] if host.startswith('[') and host.endswith(']') else host
    try:
        socket.inet_pton(socket.AF_INET6, candidate)
        return True
    except (OSError, ValueError):
        pass
    try:
        socket.inet_aton(candidate)  # as lenient as IPAddress.TryParse for IPv4 ("127.1")
        return bool(candidate) and all(c.isdigit() or c in '.xXabcdefABCDEF' for c in candidate)
    except (OSError, ValueError):
        return False


def _cookie_expires(moment):
    return formatdate((moment - datetime.datetime(1970, 1, 1)).total_seconds(), usegmt=True)


class Endpoint(object):
    def __init__(self, method, template, handler, auth=True, body=None):
        self.method = method
        pattern = re.sub(r'\{(\w+)\}', r'(?P<\1>[^/]+)', template)
        self.regex = re.compile('^' + pattern + '/?$', re.IGNORECASE)
        self.handler = handler
        self.auth = auth
        self.body = body  # None, 'required', 'optional', 'string'


class ServerApp(EmulatorApp):
    """The emulated server. Build it with ``create_app(args, faults)``."""

    server_header = 'Kestrel'

    def __init__(self, args, faults=None):
        super(ServerApp, self).__init__(faults)
        self.args = args
        # the installed release (autoupdate.manifest, VersionTag.txt) and who hosts the server
        self.release = systeminfo.parse_release(getattr(args, 'server_version', None))
        self.system_info = systeminfo.SystemInfoProvider(self.release, getattr(args, 'started_by', None) or 'Server')
        data_folder = options.option(args, 'server-datafolder')
        self._own_folder = None
        if not data_folder:
            data_folder = self._own_folder = tempfile.mkdtemp(prefix='duplicati-server-')
        key = options.option(args, 'settings-encryption-key') or os.environ.get('SETTINGS_ENCRYPTION_KEY')
        if options.flag(args, 'disable-db-encryption'):
            key = None
        if key is not None and len(key) < 8:
            raise ValueError('The settings encryption key must be at least 8 characters')
        self.db = ServerDatabase(data_folder, key)
        self.generated_password = None
        self._startup()
        self.runner = TaskRunner(self.db, getattr(args, 'run_duration', 2.0), self.release.result_version)
        # PreSharedKeyFilter.PreSharedKey: set only by the Agent (a random key in memory); no server option sets it
        self.pre_shared_key = getattr(args, 'pre_shared_key', None) or None
        # ServerSettings.EnableForeverTokens (called by Program.AdjustApplicationSettings for
        # --webservice-enable-forever-token): one forever token per start, in memory only; -1 = disabled
        self.remaining_forever_tokens = 1 if options.flag(args, 'webservice-enable-forever-token') else -1
        self._forever_lock = threading.Lock()
        self.endpoints = []
        self._routes()

    # -- start-up (Server/Program.cs, WebServerLoader.cs, DuplicatiWebserver.cs) -----------
    def _startup(self):
        args, db = self.args, self.db
        new_db = not db.backup_ids() and db.get_setting('pbkdf-config') in (None, '')
        if options.flag(args, 'webservice-reset-jwt-config'):
            db.set_settings(jwt_config=None)
            db.delete_all_token_families()
        # Program.AdjustApplicationSettings: a given --webservice-disable-signin-tokens is stored in the database
        # (ServerSettings.DisableSigninTokens); without it the stored value stays
        if options.given(args, 'webservice-disable-signin-tokens'):
            db.set_settings(disable_signin_tokens=str(options.flag(args, 'webservice-disable-signin-tokens')))
        password = options.option(args, 'webservice-password')
        if options.given(args, 'webservice-password'):
            if not password or not password.strip():
                raise ValueError('Disabling password protection is not supported')
            self.set_password(password)
        elif not db.get_setting('pbkdf-config'):
            # UpgradePasswordToKBDF: a random password; reported by describe() so tests can log in
            self.generated_password = base64.b64encode(os.urandom(32)).decode('ascii')
            db.set_settings(pbkdf_config=dotnet_json.dumps(tokens.pbkdf_create(self.generated_password)), server_passphrase=None,
                            autogenerated_passphrase='True', disable_tray_icon_login='False')
        if options.given(args, 'webservice-disable-api-extensions'):
            db.set_settings(disable_api_extensions=systeminfo.join_disabled_api_extensions(
                options.option(args, 'webservice-disable-api-extensions')))
        for name in ('webservice-allowed-hostnames', 'webservice-allowedhostnames'):
            if options.given(args, name):
                db.set_settings(allowed_hostnames=options.option(args, name))
        if not db.get_setting('jwt-config'):
            db.set_settings(jwt_config=tokens.jwt_config_serialize(tokens.jwt_config_create()))
        self.jwt_config = tokens.jwt_config_load(db.get_setting('jwt-config'))
        duration = options.option(args, 'webservice-token-duration')
        if duration:
            self.jwt_config['RefreshTokenDurationInMinutes'] = int(-(-timeparser.parse_timespan(duration) // 60))
        minutes = getattr(args, 'access_token_minutes', None)
        if minutes:
            self.jwt_config['AccessTokenDurationInMinutes'] = minutes
        self.tokens = tokens.TokenProvider(self.jwt_config)
        raw_tokens = options.option(args, 'webservice-pre-auth-tokens') or ''
        self.pre_auth_tokens = set(t.strip() for t in raw_tokens.split(';') if _PREAUTH_TOKEN.match(t.strip()))
        if db.get_setting('encrypted-fields') in (None, ''):
            db.set_settings(encrypted_fields=str(db.cipher.enabled))
        certificate.apply_options(args, db)
        self.tls_context = certificate.tls_context(db)
        seeds = getattr(args, 'seed_backups', 0) or 0
        if seeds and new_db:
            seed_backups(db, seeds)

    def set_password(self, password):
        """ServerSettings.SetWebserverPassword."""
        if not password or not password.strip():
            raise RuntimeError('Disabling password protection is not supported')
        self.db.set_settings(server_passphrase=None, server_passphrase_salt=None, autogenerated_passphrase='False',
                             pbkdf_config=dotnet_json.dumps(tokens.pbkdf_create(password)))

    def verify_password(self, password):
        config = self.db.get_setting('pbkdf-config')
        if not password or not password.strip() or not config:
            return False
        prepared = tokens.legacy_prepare_password(password, self.db.get_setting('server-passphrase-salt'))
        return tokens.pbkdf_verify(json.loads(config), prepared)

    def describe(self):
        return {'data_folder': self.db.data_folder, 'database': self.db.path, 'password': self.generated_password,
                'pre_shared_key': self.pre_shared_key}

    def close(self):
        self.runner.close()
        self.db.close()
        if self._own_folder:  # a data folder the emulator made for itself goes with it
            shutil.rmtree(self._own_folder, ignore_errors=True)

    # -- routes ---------------------------------------------------------------------------
    def _routes(self):
        add = self.endpoints.append
        v1 = '/api/v1/'
        add(Endpoint('*', '/health', self._health, auth=False))
        add(Endpoint('POST', v1 + 'auth/refresh', self._refresh, auth=False, body='optional'))
        add(Endpoint('POST', v1 + 'auth/signin', self._signin, auth=False, body='required'))
        add(Endpoint('POST', v1 + 'auth/login', self._login, auth=False, body='required'))
        add(Endpoint('POST', v1 + 'auth/issuesignintoken', self._issue_signin_token, auth=False, body='required'))
        add(Endpoint('POST', v1 + 'auth/refresh/logout', self._logout, auth=False, body='optional'))
        add(Endpoint('POST', v1 + 'auth/issuetoken/{operation}', self._issue_token))
        add(Endpoint('POST', v1 + 'auth/issue-forever-token', self._issue_forever_token))
        add(Endpoint('POST', v1 + 'auth/status', self._auth_status, auth=False))
        add(Endpoint('GET', v1 + 'backups', self._list_backups))
        add(Endpoint('POST', v1 + 'backups/import', self._import, body='required'))
        add(Endpoint('POST', v1 + 'backups', self._backup_crud, body='required'))
        add(Endpoint('GET', v1 + 'backup/{id}', self._get_backup))
        add(Endpoint('PUT', v1 + 'backup/{id}', self._backup_crud, body='required'))
        add(Endpoint('DELETE', v1 + 'backup/{id}', self._delete_backup))
        add(Endpoint('GET', v1 + 'backup/{id}/log', self._backup_log))
        add(Endpoint('GET', v1 + 'backup/{id}/export', self._export, auth=False))
        add(Endpoint('POST', v1 + 'backup/{id}/run', self._run_backup))
        add(Endpoint('POST', v1 + 'backup/{id}/start', self._run_backup))
        add(Endpoint('GET', v1 + 'serverstate', self._server_state))
        add(Endpoint('POST', v1 + 'serverstate/pause', self._pause))
        add(Endpoint('POST', v1 + 'serverstate/resume', self._resume))
        add(Endpoint('PUT', v1 + 'serversetting/{key}', self._put_server_setting, body='string'))
        add(Endpoint('GET', v1 + 'systeminfo', self._system_info))
        add(Endpoint('GET', v1 + 'systeminfo/filtergroups', self._filter_groups))
        add(Endpoint('GET', v1 + 'tasks', self._tasks))
        add(Endpoint('GET', v1 + 'task/{taskid}', self._task))

    # -- pipeline -------------------------------------------------------------------------
    def handle(self, request):
        if request.path.startswith('/_emulator/'):
            return self._control(request)
        injected = self.faults.check()
        if injected is not None:
            return injected
        try:
            identity = self._authenticate(request)
        except _MiddlewareCrash:
            return _empty(500)
        endpoint, allowed = None, []
        for candidate in self.endpoints:
            match = candidate.regex.match(request.path)
            if not match:
                continue
            # MapGet/MapPost/... endpoints match their method only (a HEAD on a GET route is 405);
            # MapHealthChecks("/health") carries no method metadata and matches any method
            if candidate.method in (request.method, '*'):
                endpoint, request.match = candidate, match
                break
            allowed.append(candidate.method)
        if endpoint is None:
            if allowed:
                return _empty(405, [('Allow', ', '.join(allowed))])
            return _empty(404)
        if endpoint.auth and not identity['authenticated']:
            return _empty(401, self._challenge(identity))
        request.identity = identity
        try:
            request.payload = self._bind_body(request, endpoint.body)
            is_api = request.path.lower().startswith('/api/')
            if is_api:
                host, _port = _split_host(request.header('Host'))
                if not self._valid_hostname(host):
                    raise ApiError(403, 'Invalid hostname: %s' % host)
                if self.pre_shared_key and request.header('X-Duplicati-PreSharedKey') != self.pre_shared_key:
                    return Response(403, b'Invalid PreSharedKey', 'text/plain')
            return endpoint.handler(request)
        except _BindingFailure as exc:
            return _empty(exc.status)
        except ApiError as exc:
            if exc.content_type == 'text/plain':
                return Response(exc.status, exc.message.encode('utf-8'), 'text/plain')
            return Response(exc.status, dotnet_json.dumpb({'Error': exc.message, 'Code': exc.status}), 'application/json')
        except Exception:  # pylint: disable=broad-except
            return Response(500, dotnet_json.dumpb({'Error': 'An error occurred', 'Code': 500}), 'application/json')

    def _authenticate(self, request):
        header = request.header('Authorization') or ''
        query_token = request.query.get('token', '')
        if header.startswith('PreAuth ') or (not header.strip() and query_token and query_token in self.pre_auth_tokens):
            token = header[len('PreAuth '):].strip() if header[:8].lower() == 'preauth ' else None
            if not header.strip():
                token = query_token
            ok = bool(token) and token in self.pre_auth_tokens
            return {'authenticated': ok, 'scheme': 'PreAuth', 'failed': not ok, 'expired': False, 'claims': None}
        token = None
        if header[:7].lower() == 'bearer ':
            token = header[7:].strip()
        if query_token and request.path.lower().startswith('/notifications'):
            token = query_token
        if not token:
            return {'authenticated': False, 'scheme': 'Jwt', 'failed': False, 'expired': False, 'claims': None}
        try:
            claims = self.tokens.validate(token)
        except tokens.TokenError as exc:
            return {'authenticated': False, 'scheme': 'Jwt', 'failed': True, 'expired': exc.expired, 'claims': None}
        if claims.get('typ') != 'AccessToken' or not claims.get('fam') or not claims.get('sid'):
            return {'authenticated': False, 'scheme': 'Jwt', 'failed': True, 'expired': False, 'claims': None}
        if claims['fam'] != tokens.TEMPORARY_FAMILY_ID and self.db.get_token_family(claims['sid'], claims['fam']) is None:
            raise _MiddlewareCrash()
        return {'authenticated': True, 'scheme': 'Jwt', 'failed': False, 'expired': False, 'claims': claims}

    @staticmethod
    def _challenge(identity):
        if identity['scheme'] != 'Jwt':
            return []
        if not identity['failed']:
            return [('WWW-Authenticate', 'Bearer')]
        if identity['expired']:
            return [('WWW-Authenticate', 'Bearer error="invalid_token", error_description="The token expired"')]
        return [('WWW-Authenticate', 'Bearer error="invalid_token"')]

    @staticmethod
    def _bind_body(request, mode):
        if mode is None:
            return None
        ctype = (request.header('Content-Type') or '').split(';')[0].strip().lower()
        if not request.body:
            # ASP.NET Core's RequestDelegateFactory checks the JSON content type only when the
            # request can have a body (IHttpRequestBodyDetectionFeature.CanHaveBody, false for
            # Content-Length 0); a required [FromBody] parameter left null is then a 400.
            if mode == 'optional':
                return None
            raise _BindingFailure(400)
        if ctype != 'application/json' and not ctype.endswith('+json'):
            raise _BindingFailure(415)
        try:
            value = json.loads(request.body.decode('utf-8'))
        except (ValueError, UnicodeDecodeError):
            raise _BindingFailure(400)
        if mode == 'string':
            if not isinstance(value, str):
                raise _BindingFailure(400)
            return value
        if value is None and mode == 'optional':
            return None
        if not isinstance(value, dict):
            raise _BindingFailure(400)
        return dict((k.lower(), v) for k, v in value.items())

    def _valid_hostname(self, host):
        allowed = [h for h in (self.db.get_setting('allowed-hostnames') or '').split(';') if h] + list(DEFAULT_HOSTNAMES)
        allowed = set(h.lower() for h in allowed)
        if '*' in allowed:
            return True
        if not host or not host.strip():
            return False
        return host.lower() in allowed or _is_ip(host)

    # -- typed binding helpers ------------------------------------------------------------
    @staticmethod
    def _query(request, name):
        for key, value in request.query.items():
            if key.lower() == name.lower():
                return value
        return None

    def _query_bool(self, request, name):
        value = self._query(request, name)
        if value is None or value == '':
            return None
        if value.strip().lower() == 'true':
            return True
        if value.strip().lower() == 'false':
            return False
        raise _BindingFailure(400)

    def _query_long(self, request, name):
        value = self._query(request, name)
        if value is None or value == '':
            return None
        try:
            return int(value)
        except ValueError:
            raise _BindingFailure(400)

    @staticmethod
    def _field(payload, name, kind):
        value = (payload or {}).get(name.lower())
        if value is not None and not isinstance(value, kind):
            raise _BindingFailure(400)
        return value

    def _require_backup(self, request):
        backup = self.db.get_backup(request.match.group('id'))
        if backup is None:
            raise ApiError(404, 'Backup not found')
        return backup

    # -- auth -----------------------------------------------------------------------------
    def _cookie_name(self, request):
        """``Auth.GetCookieName``: ``RefreshToken_{Request.Host.Port ?? 0}``, 0 for a Host header without a port."""
        return 'RefreshToken_%d' % (_split_host(request.header('Host'))[1] or 0)

    def _set_cookie(self, request, value):
        host = _split_host(request.header('Host'))[0]
        expires = utcnow() + datetime.timedelta(minutes=self.jwt_config['RefreshTokenDurationInMinutes'])
        return ('Set-Cookie', '%s=%s; expires=%s; domain=%s; path=%s; samesite=strict; httponly'
                % (self._cookie_name(request), value, _cookie_expires(expires), host, _AUTH_COOKIE_PATH))

    def _delete_cookie(self, request):
        host = _split_host(request.header('Host'))[0]
        return ('Set-Cookie', '%s=; expires=Thu, 01 Jan 1970 00:00:00 GMT; domain=%s; path=%s'
                % (self._cookie_name(request), host, _AUTH_COOKIE_PATH))

    def _issue_login(self, request, user_id, short_lived):
        family = self.db.create_token_family(user_id)
        refresh, nonce = self.tokens.create_refresh_token(user_id, family['Id'], family['Counter'], short_lived)
        access = self.tokens.create_access_token(user_id, family['Id'])
        return _json({'AccessToken': access, 'RefreshNonce': nonce}, headers=[self._set_cookie(request, refresh)])

    def _login(self, request):
        password = self._field(request.payload, 'Password', str)
        remember = self._field(request.payload, 'RememberMe', bool)
        if not self.verify_password(password):
            raise ApiError(401, 'Failed to log in')
        return self._issue_login(request, 'webserver', not remember)

    def _signin(self, request):
        if self._signin_disabled():
            raise ApiError(401, 'Signin tokens are disabled')
        token = self._field(request.payload, 'SigninToken', str)
        remember = self._field(request.payload, 'RememberMe', bool)
        try:
            claims = self.tokens.validate(token or '', 'SigninToken')
        except tokens.TokenError as exc:
            raise ApiError(401, 'Signin token expired' if exc.expired else 'Failed to sign in')
        if not claims.get('sid'):
            raise ApiError(401, 'Failed to sign in')
        return self._issue_login(request, claims['sid'], not remember)

    def _refresh(self, request):
        """``POST auth/refresh`` → ``LoginProvider.PerformLoginWithRefreshTokenAsync``.

        Counter drift: ``counterDiff = family.Counter - token.Counter`` may be 0 up to
        ``MaxRefreshTokenDrift`` while the family was updated within
        ``MaxRefreshTokenDriftSeconds``, else only 0; anything else is taken for re-use
        and ``TokenFamilyStore.InvalidateTokenFamilyAsync`` deletes the family.
        ``IncrementTokenFamilyAsync`` updates only from the counter it read (a
        ``ConflictException`` otherwise). Every failure is 401 "Failed to refresh token".
        """
        cookie = request.cookies().get(self._cookie_name(request))
        if cookie is None:
            raise ApiError(401, 'Authorization failed due to missing cookie.')
        nonce = self._field(request.payload, 'Nonce', str) or ''
        try:
            claims = self.tokens.read_refresh_token(cookie, nonce)
            family = self.db.get_token_family(claims['sid'], claims['fam'])
            if family is None:
                raise tokens.TokenError('Invalid refresh token')
            diff = family['Counter'] - claims['cnt']
            recent = (utcnow() - family['LastUpdated']).total_seconds() <= self.jwt_config['MaxRefreshTokenDriftSeconds']
            max_drift = self.jwt_config['MaxRefreshTokenDrift'] if recent else 0
            if diff < 0 or diff > max_drift:
                self.db.invalidate_token_family(family['UserId'], family['Id'])
                raise tokens.TokenError('Token family re-use detected')
            family = self.db.increment_token_family(family)
            if family is None:
                raise tokens.TokenError('Token family counter mismatch or not found')
            short = (claims['exp'] - claims['nbf']) / 60.0 <= self.jwt_config['RefreshTokenShortLivedDurationInMinutes'] + 1
            refresh, new_nonce = self.tokens.create_refresh_token(claims['sid'], family['Id'], family['Counter'], short)
            access = self.tokens.create_access_token(claims['sid'], family['Id'])
        except (tokens.TokenError, KeyError, TypeError, ValueError):
            raise ApiError(401, 'Failed to refresh token')
        return _json({'AccessToken': access, 'RefreshNonce': new_nonce}, headers=[self._set_cookie(request, refresh)])

    def _logout(self, request):
        cookie = request.cookies().get(self._cookie_name(request))
        if cookie is not None:
            try:
                nonce = (request.payload or {}).get('nonce')
                claims = self.tokens.read_refresh_token(cookie, nonce if isinstance(nonce, str) else None)
                self.db.invalidate_token_family(claims['sid'], claims['fam'])
            except Exception:  # pylint: disable=broad-except
                pass  # invalid refresh tokens are ignored
        return _json({'success': True}, headers=[self._delete_cookie(request)])

    # Endpoints/V1/Auth.cs: auth/signin and auth/issuesignintoken answer 401 while ServerSettings.DisableSigninTokens
    def _signin_disabled(self):
        return options.parse_bool_option(self.db.get_setting('disable-signin-tokens') or 'false')

    def _issue_signin_token(self, request):
        if self._signin_disabled():
            raise ApiError(401, 'Signin tokens are disabled')
        if not self.verify_password(self._field(request.payload, 'Password', str)):
            raise ApiError(401, 'Incorrect password')
        return _json({'Token': self.tokens.create_signin_token('web-api')})

    def _issue_token(self, request):
        operation = request.match.group('operation')
        if operation not in ('export', 'bugreport', 'websocket'):
            raise ApiError(400, 'Invalid operation')
        return _json({'Token': self.tokens.create_single_operation_token('web-api', operation)})

    # Endpoints/V1/Auth.cs auth/issue-forever-token with ServerSettings.ConsumeForeverToken
    def _issue_forever_token(self, request):
        with self._forever_lock:
            if self.remaining_forever_tokens == -1:
                raise ApiError(401, 'Forever tokens are not enabled')
            if self.remaining_forever_tokens == 0:
                raise ApiError(401, 'Cannot generate multiple forever tokens, restart the server to generate a new one')
            self.remaining_forever_tokens -= 1
        return _json({'AccessToken': self.tokens.create_forever_token(), 'RefreshNonce': None})

    def _auth_status(self, request):
        if not request.identity['authenticated']:
            return _json({'authorized': False, 'message': 'Not authorized'})
        return _json({'authorized': True, 'message': 'Authorized',
                      'socketToken': self.tokens.create_single_operation_token('web-api', 'websocket')})

    # -- backups --------------------------------------------------------------------------
    def _unencrypted_or_passphrase_stored(self, backup_id):
        with self.db.lock:
            row = self.db.conn.execute('SELECT VALUE != \'\' FROM "Option" WHERE BackupID = ? AND NAME=\'encryption-module\'',
                                       (int(backup_id),)).fetchone()
            if not row or not row[0]:
                return True
            row = self.db.conn.execute('SELECT VALUE != \'\' FROM "Option" WHERE BackupID = ? AND NAME=\'passphrase\'',
                                       (int(backup_id),)).fetchone()
            return bool(row and row[0])

    def _list_backups(self, request):
        schedules = self.db.schedules()
        result = []
        for backup in self.db.list_backups():
            schedule = next((s for s in schedules if 'ID=' + backup['ID'] in s['Tags']), None)
            result.append({
                'Backup': {
                    'ID': backup['ID'], 'ExternalID': backup['ExternalID'], 'Name': backup['Name'], 'Description': backup['Description'],
                    'Tags': backup['Tags'], 'TargetURL': backup['TargetURL'], 'ConnectionStringID': -1,
                    'OperationType': backup['OperationType'], 'DBPath': backup['DBPath'], 'DBPathExists': os.path.exists(backup['DBPath']),
                    'Sources': [], 'Settings': None, 'Filters': None, 'Metadata': backup['Metadata'], 'IsTemporary': False,
                    'IsUnencryptedOrPassphraseStored': self._unencrypted_or_passphrase_stored(backup['ID']), 'AdditionalTargetURLs': [],
                },
                'Schedule': backup_config.schedule_dto(schedule),
            })
        order = self._query(request, 'orderBy') or self.db.get_setting('backup-list-sort-order')
        for direction in (order or '').split(','):
            result = self._sort(result, direction)
        return _json(result)

    @staticmethod
    def _sort(items, direction):
        key = direction.strip().lower()
        reverse = key.startswith('-')
        key = key.lstrip('+-')

        def meta(item, name, numeric=False):
            value = (item['Backup']['Metadata'] or {}).get(name)
            if numeric:
                try:
                    return int(value)
                except (TypeError, ValueError):
                    return None
            return value

        selectors = {
            'name': lambda x: x['Backup']['Name'],
            'id': lambda x: int(x['Backup']['ID']),
            'lastrun': lambda x: meta(x, 'LastBackupStarted'),
            'nextrun': lambda x: x['Schedule']['Time'] if x['Schedule'] else None,
            'schedule': lambda x: not (x['Schedule'] and x['Schedule']['Repeat']),
            'backend': lambda x: x['Backup']['TargetURL'].split('://', 1)[0],
            'sourcesize': lambda x: meta(x, 'SourceFilesSize', True),
            'destinationsize': lambda x: meta(x, 'TargetFilesSize', True),
            'duration': lambda x: meta(x, 'LastBackupDuration'),
        }
        selector = selectors.get(key)
        if selector is None:
            return items
        # .NET orders null first; a stable sort like OrderBy
        return sorted(items, key=lambda x: (selector(x) is not None, selector(x) if selector(x) is not None else 0), reverse=reverse)

    def _get_backup(self, request):
        backup = backup_config.mask_backup(self._require_backup(request))
        schedule = self.db.schedule_for(backup['ID'])
        return _json({
            'Schedule': backup_config.schedule_dto(schedule),
            'Backup': {
                'ID': backup['ID'], 'ExternalID': backup['ExternalID'], 'Name': backup['Name'], 'Description': backup['Description'],
                'Tags': backup['Tags'], 'TargetURL': backup['TargetURL'], 'ConnectionStringID': backup['ConnectionStringID'],
                'OperationType': backup['OperationType'], 'DBPath': backup['DBPath'], 'DBPathExists': os.path.exists(backup['DBPath']),
                'Sources': backup['Sources'], 'Settings': backup['Settings'], 'Filters': backup['Filters'], 'Metadata': backup['Metadata'],
                'IsTemporary': False, 'IsUnencryptedOrPassphraseStored': False, 'AdditionalTargetURLs': [],
            },
            'DisplayNames': {},
        })

    def _backup_crud(self, request):
        """POST backups (Backups.cs, BackupListService.Add) and PUT backup/{id} (BackupPutDelete.ExecutePut): backup_crud.py."""
        try:
            if request.method == 'POST':
                new_id = backup_crud.add(self.db, request.payload, self._query_bool(request, 'temporary') or False)
                answer = _json({'ID': new_id, 'Temporary': False})
            else:
                backup_crud.put(self.db, request.match.group('id'), request.payload)
                answer = _empty(200)
        except backup_crud.BindingFailed:
            raise _BindingFailure(400)
        except backup_crud.UserError as exc:
            raise ApiError(exc.status, exc.message)
        self.runner.events.signal(data_changed=True)
        return answer

    def _backup_log(self, request):
        offset = self._query_long(request, 'offset')
        pagesize = self._query_long(request, 'pagesize')
        backup = self._require_backup(request)
        rows = self.db.read_local_table(backup['DBPath'], 'LogData', offset, 100 if pagesize is None else pagesize)
        return _json(rows)

    def _run_backup(self, request):
        skip = self._query_bool(request, 'skipQueue') or False
        backup = self._require_backup(request)
        existing = self.runner.find_active_or_queued(backup['ID'])
        if existing is not None:
            return _json({'Status': 'OK', 'ID': existing.task_id})
        return _json({'Status': 'OK', 'ID': self.runner.add(backup['ID'], 'Backup', skip)})

    def _delete_backup(self, request):
        delete_remote = self._query_bool(request, 'delete-remote-files') or False
        delete_local = self._query_bool(request, 'delete-local-db')
        force = self._query_bool(request, 'force') or False
        backup = self._require_backup(request)
        current = self.runner.snapshot()['current']
        if current is not None and current.backup_id == backup['ID']:
            if not force:
                return _json({'Status': 'failed', 'Reason': 'backup-in-progress', 'ID': current.task_id}, status=500)
            # the emulated run cannot be aborted midway: it is reported unstoppable after the real 10 s wait
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                cur = self.runner.snapshot()['current']
                if cur is None or cur.backup_id != backup['ID']:
                    break
                time.sleep(0.1)
            else:
                return _json({'Status': 'failed', 'Reason': 'backup-unstoppable', 'ID': current.task_id}, status=500)
        extra = {}
        if delete_local is not None:
            extra['delete-local-db'] = str(delete_local)
        if delete_remote:
            extra['delete-remote-files'] = 'true'
        return _json({'Status': 'OK', 'Reason': None, 'ID': self.runner.add(backup['ID'], 'Delete', False, extra)})

    def _export(self, request):
        export_passwords = self._query_bool(request, 'export-passwords') or False
        passphrase = self._query(request, 'passphrase')
        token = self._query(request, 'token')
        if token is None:
            raise _BindingFailure(400)
        try:
            claims = self.tokens.validate(token, 'SingleOperationToken')
        except tokens.TokenError:
            raise RuntimeError('invalid single operation token')  # not a UserReportedHttpException: 500
        if claims.get('sop') != 'export':
            raise ApiError(401, 'Invalid operation')
        backup = self._require_backup(request)
        if not export_passwords:
            backup = backup_config.remove_sensitive_information(backup)
        structure = backup_config.export_structure(backup, self.db.schedule_for(backup['ID']),
                                                   self.db.relative_db_path(backup['DBPath']), self.release.version)
        data = dotnet_json.dumpb(structure, indent=True)
        from urllib.parse import quote
        filename = quote(backup['Name'] + '-duplicati-config.json', safe='')
        if passphrase and passphrase.strip():
            data = backup_config.encrypt_export(data, passphrase)
            filename += '.aes'
        return Response(200, data, 'application/octet-stream', headers=[('Content-Disposition', 'attachment; filename=%s' % filename)])

    def _import(self, request):
        payload = request.payload
        config = self._field(payload, 'config', str)
        cmdline = self._field(payload, 'cmdline', bool) or False
        import_metadata = self._field(payload, 'import_metadata', bool) or False
        direct = self._field(payload, 'direct', bool) or False
        temporary = self._field(payload, 'temporary', bool) or False
        passphrase = self._field(payload, 'passphrase', str) or ''
        replace = self._field(payload, 'replace_settings', dict)
        if config is None:
            raise RuntimeError('config is null')  # Convert.FromBase64String(null): 500
        try:
            data = base64.b64decode(config, validate=True)
        except (binascii.Error, ValueError):
            raise RuntimeError('The input is not a valid Base-64 string')  # FormatException: 500
        try:
            if cmdline:
                raise backup_config.ImportFailed('Import from commandline not yet implemented')
            ipx = backup_config.load_structure(data, passphrase, import_metadata)
            bk = ipx['Backup']
            for key, value in (replace or {}).items():
                if value is None or not key.lower().startswith('settings.'):
                    continue
                name = key[len('settings.'):]
                existing = next((s for s in bk['Settings'] if (s['Name'] or '').lower() == name.lower()), None)
                if existing is None:
                    bk['Settings'].append({'Filter': '', 'Name': name, 'Value': value, 'Argument': None})
                else:
                    existing['Value'] = value
            replace = dict((k, v) for k, v in (replace or {}).items())
            for field, target in (('name', 'Name'), ('targeturl', 'TargetURL'), ('dbpath', 'DBPath'), ('description', 'Description')):
                if (replace.get(field) or '').strip():
                    bk[target] = replace[field]
            if (replace.get('sources') or '').strip():
                bk['Sources'] = [s for s in replace['sources'].split(os.pathsep) if s]
            if not direct:
                return _json({'Id': None, 'data': ipx})
            with self.db.lock:
                names = set((b['Name'] or '').lower() for b in self.db.list_backups())
                base, counter = bk['Name'], 0
                while counter < 100 and (bk['Name'] or '').lower() in names:
                    counter += 1
                    bk['Name'] = '%s (%d)' % (base, counter)
                if (bk['Name'] or '').lower() in names:
                    raise backup_config.ImportFailed('There already exists a backup with that name')
                schedule = ipx['Schedule']
                err = backup_config.validate_backup(bk, schedule)
                if err:
                    raise backup_config.ImportFailed(err)
                if temporary:
                    raise backup_config.ImportFailed('Temporary backups are not supported by this emulator')
                if schedule is not None:
                    schedule = dict(schedule, Time=_parse_date(schedule.get('Time')), LastRun=_parse_date(schedule.get('LastRun')))
                    days = schedule.get('AllowedDays')
                    if days:
                        parts = [p for p in (schedule.get('Rule') or '').split(';') if p and not p.lower().startswith('allowedweekdays=')]
                        full = list(backup_config.short_day_names(days))
                        names_full = {'sun': 'Sunday', 'mon': 'Monday', 'tue': 'Tuesday', 'wed': 'Wednesday', 'thu': 'Thursday',
                                      'fri': 'Friday', 'sat': 'Saturday'}
                        parts.append('AllowedWeekDays=' + ','.join(dict.fromkeys(names_full[d] for d in full)))
                        schedule['Rule'] = ';'.join(parts)
                new_id = self.db.add_backup(bk, schedule)
            self.runner.events.signal(data_changed=True)
            return _json({'Id': new_id, 'data': None})
        except Exception as exc:  # pylint: disable=broad-except
            self.db.log_error('', 'Failed to import backup', repr(exc))
            raise ApiError(500, 'Failed to import backup: %s' % exc)

    # -- server state, settings, tasks ------------------------------------------------------
    def _server_state(self, request):
        last_event = self._query_long(request, 'lastEventId')
        longpoll = self._query_bool(request, 'longpoll') or False
        duration = self._query(request, 'duration')
        if longpoll:
            if last_event is None:
                raise ApiError(400, 'When activating long poll, the request must include the last event id')
            if duration is None:
                raise ApiError(400, 'When activating long poll, the request must include the duration')
            try:
                seconds = timeparser.parse_timespan(duration)
            except Exception:  # pylint: disable=broad-except
                raise ApiError(400, 'When activating long poll, the request must include the duration and it must be a valid time span')
            if seconds < 10 or seconds > 3600:
                raise ApiError(400, 'The duration must be between 10 seconds and 1 hour')
            self.runner.events.wait(last_event, seconds)
        return _json(self.status())

    def status(self):
        snap = self.runner.snapshot()
        current = snap['current']
        has_error = options.parse_bool_option(self.db.get_setting('unacked-error') or 'false')
        has_warning = options.parse_bool_option(self.db.get_setting('unacked-warning') or 'false')
        if current is None:
            icon = 'Paused' if snap['paused'] else ('ReadyError' if has_error else ('ReadyWarning' if has_warning else 'Ready'))
        else:
            icon = 'ActivePaused' if snap['paused'] else 'Active'
        proposed = []
        for schedule in self.db.schedules():
            backup_id = next((t[3:] for t in schedule['Tags'] if t.startswith('ID=')), None)
            if backup_id:
                proposed.append({'Item1': backup_id, 'Item2': schedule['Time']})
        proposed.sort(key=lambda x: x['Item2'])
        return {
            'ActiveTask': None if current is None else {'Item1': current.task_id, 'Item2': current.backup_id},
            'ProgramState': 'Paused' if snap['paused'] else 'Running',
            'SchedulerQueueIds': [{'Item1': t.task_id, 'Item2': t.backup_id} for t in snap['queue']],
            'ProposedSchedule': proposed,
            'HasWarning': has_warning,
            'HasError': has_error,
            'SuggestedStatusIcon': icon,
            'EstimatedPauseEnd': snap['pause_end'],
            'LastEventID': self.runner.events.event_no,
            'LastDataUpdateID': self.runner.events.data_update_id,
            'LastNotificationUpdateID': 0,
            'UpdatedVersion': None,
            'UpdaterState': 'Waiting',
            'UpdateDownloadLink': None,
            'UpdateDownloadProgress': 0,
            'Type': 'legacystatus',
        }

    def _pause(self, request):
        duration = self._query(request, 'duration')
        transfers = self._query_bool(request, 'pauseTransfers') or False
        seconds = 0
        if duration is not None:
            try:
                seconds = timeparser.parse_timespan(duration) if duration.strip() else 0
            except Exception:  # pylint: disable=broad-except
                raise ApiError(400, 'The duration must be a valid time span')
        self.runner.pause(seconds if seconds > 0 else None, transfers)
        return _empty(200)

    def _resume(self, request):
        self.runner.resume()
        return _empty(200)

    def _put_server_setting(self, request):
        key = request.match.group('key')
        if key == 'server-passphrase':
            self.set_password(request.payload)  # empty: a plain exception, 500 "An error occurred"
            return _empty(200)
        # other settings go through SettingsService.PatchSettingMasked, which this emulator does not model
        raise RuntimeError('server setting %r is not emulated' % key)

    def _task_dto(self, status, task):
        return {'Status': status, 'ID': task.task_id, 'TaskStarted': task.started if status != 'Waiting' else None,
                'TaskFinished': task.finished if status != 'Waiting' else None, 'ErrorMessage': task.error,
                'Exception': ('System.Exception: %s' % task.error) if task.error else None}

    def _task(self, request):
        try:
            task_id = int(request.match.group('taskid'))
        except ValueError:
            raise _BindingFailure(400)
        status, task = self.runner.task_info(task_id)
        if task is None:
            raise ApiError(404, 'No such task found')
        return _json(self._task_dto(status, task))

    def _tasks(self, request):
        snap = self.runner.snapshot()
        items = ([snap['current']] if snap['current'] else []) + snap['queue']
        return _json([self._task_dto('Running', t) for t in items])

    def _system_info(self, request):
        disabled = systeminfo.disabled_api_extensions(self.db.get_setting('disable-api-extensions'))
        return _json(self.system_info.system_info(request.header('Accept-Language'), disabled))

    def _filter_groups(self, request):
        return _json(systeminfo.filter_groups(self.db.data_folder))

    def _health(self, request):
        return Response(200, b'Healthy', 'text/plain')

    # -- /_emulator/ (not part of Duplicati) ---------------------------------------------------
    def _control(self, request):
        path = request.path[len('/_emulator/'):].strip('/')
        if request.method == 'GET' and path == 'state':
            snap = self.runner.snapshot()
            return Response.json({
                'backups': len(self.db.backup_ids()), 'backup_ids': self.db.backup_ids(),
                'runs_started': self.runner.runs_started, 'runs_finished': self.runner.runs_finished,
                'paused': snap['paused'], 'active_task': snap['current'].task_id if snap['current'] else None,
                'queued_tasks': [t.task_id for t in snap['queue']], 'token_families': self.db.count_token_families(),
                'planned_results': dict(self.runner.planned), 'data_folder': self.db.data_folder,
                'faults': {'error_rate': self.faults.error_rate, 'latency': self.faults.latency, 'rate_limit': self.faults.rate_limit,
                           'injected_503': self.faults.injected_503, 'injected_429': self.faults.injected_429},
            })
        try:
            body = request.json() or {}
        except ValueError:
            return Response.json({'error': 'the body must be JSON'}, 400)
        match = re.match(r'^backup/([^/]+)/next-result$', path)
        if request.method == 'POST' and match:
            if self.db.get_backup(match.group(1)) is None:
                return Response.json({'error': 'no backup %s' % match.group(1)}, 404)
            try:
                self.runner.plan_result(match.group(1), body.get('result'))
            except ValueError as exc:
                return Response.json({'error': str(exc)}, 400)
            return Response.json({'backup': match.group(1), 'result': body.get('result')})
        if request.method == 'POST' and path == 'faults':
            try:
                self.faults.configure(body.get('error_rate'), body.get('latency'), body.get('rate_limit'))
            except (TypeError, ValueError) as exc:
                return Response.json({'error': str(exc)}, 400)
            return Response.json({'error_rate': self.faults.error_rate, 'latency': self.faults.latency, 'rate_limit': self.faults.rate_limit})
        return Response.json({'error': 'unknown emulator control %s %s' % (request.method, request.path)}, 404)


def _parse_date(value):
    if isinstance(value, datetime.datetime):
        return value
    if not value:
        return datetime.datetime(1970, 1, 1)
    text = str(value).rstrip('Z')
    text = re.sub(r'(\.\d{6})\d+', r'\1', text)
    for fmt in ('%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S'):
        try:
            parsed = datetime.datetime.strptime(text[:26], fmt)
            return parsed
        except ValueError:
            continue
    raise ValueError('Invalid date %r' % value)


def create_app(args, faults=None):
    """The server app for ``args`` (from a parser given to ``add_arguments``)."""
    return ServerApp(args, faults)


__all__ = ['ServerApp', 'create_app', 'RESULTS']
