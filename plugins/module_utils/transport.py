# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP transport to the REST API of a Duplicati server.

Built on ``ansible.module_utils.urls.Request``, so proxies, ``validate_certs``,
``ca_path`` and timeouts behave as everywhere else in Ansible. With pinned certificate
thumbprints (``host_certificates``), the server's certificate must be one of them.

* URLs are built like ``duplicati-server-util`` builds them: the API base is
  ``host_url + "api/v1/"`` and ``/health`` lives at ``host_url + "health"``. ServerUtil
  asks users to end a host URL that has a path with ``/``; here the slash is added
  when it is missing, so ``https://nas/duplicati`` and ``https://nas/duplicati/`` both
  reach ``https://nas/duplicati/api/v1/``.
* The refresh cookie is named ``RefreshToken_<port>`` from the port of the ``Host``
  header sent, 0 when the host URL has no port, as the server names it.
* Requests that are safe to repeat (GET, HEAD, and calls marked ``idempotent=True``)
  are retried a bounded number of times with exponential backoff and jitter on
  connection errors, 503 and 429 (honouring ``Retry-After``). Anything else is sent
  exactly once.
* Redirects are never followed: Duplicati's API answers every call itself, and a
  redirect would carry the password, the tokens, the refresh cookie or the pre-shared
  key to wherever it points (perhaps another host, perhaps plain http). A 3xx answer
  fails with the target named, so the user can correct ``host_url``.
* Every failure becomes one ``DuplicatiError`` whose message says what failed and
  what to do about it. This file is the only place that translates the server's failures.
* ``send_once`` is the one HTTP exchange of the collection: the console registration
  (``registration.py``) sends through it too, with its own retry rules and messages.
"""


import email.utils
import hashlib
import json
import random
import socket
import ssl
import time

from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urljoin, urlsplit
from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import Request, SSLValidationError

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError

DEFAULT_HOST_URL = 'http://127.0.0.1:8200/'
DEFAULT_TIMEOUT = 30
API_PREFIX = 'api/v1/'
REFRESH_COOKIE_PREFIX = 'RefreshToken_'

SAFE_METHODS = ('GET', 'HEAD')
RETRY_STATUSES = (429, 503)


def quote_segment(value):
    """One path segment (a backup ID, a setting key), escaped like ``Uri.EscapeDataString``."""
    return quote(str(value), safe='')


def _query_value(value):
    # .NET formats booleans as True/False; that is what ServerUtil sends.
    if isinstance(value, bool):
        return 'True' if value else 'False'
    return '' if value is None else str(value)


def encode_query(query):
    """``k=v&…`` from a dict or a list of pairs, keeping the order of a list."""
    if not query:
        return ''
    pairs = query.items() if isinstance(query, dict) else query
    return urlencode([(name, _query_value(value)) for name, value in pairs], quote_via=quote)


def normalize_host_url(host_url):
    """The host URL with a trailing ``/``; raises ``DuplicatiError`` if it is not http(s)."""
    text = (host_url or DEFAULT_HOST_URL).strip()
    if any(ord(char) <= 32 or ord(char) == 127 for char in text):
        raise DuplicatiError('Invalid host_url %r: it must not contain spaces or control characters.' % text,
                             hint='Check the host_url option; write a space in a path as %20.')
    parts = urlsplit(text)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise DuplicatiError(
            'Invalid host_url %r: it must be an http:// or https:// URL with a host name, like %s.' % (text, DEFAULT_HOST_URL),
            hint='Check the host_url option.')
    if parts.query or parts.fragment:
        raise DuplicatiError('Invalid host_url %r: it must not carry a query or a fragment.' % text, hint='Check the host_url option.')
    try:
        parts.port
    except ValueError:
        raise DuplicatiError('Invalid host_url %r: the port is not a number between 0 and 65535.' % text, hint='Check the host_url option.')
    if not text.endswith('/'):
        text += '/'
    return text


def refresh_cookie_name(host_url):
    """``RefreshToken_<port>``: the refresh cookie name the server uses for this host URL.

    The server names the cookie ``RefreshToken_{Request.Host.Port ?? 0}`` (``Auth.cs``,
    ``GetCookieName``): the port of the ``Host`` header, 0 when the header has none, as
    for ``https://backup.example.com/``.
    """
    port = urlsplit(normalize_host_url(host_url)).port
    return '%s%d' % (REFRESH_COOKIE_PREFIX, port if port is not None else 0)


def normalize_thumbprint(value):
    """A SHA1 certificate thumbprint as upper-case hex (colons and spaces removed); raises ``DuplicatiError`` if it is not one."""
    text = str(value or '').replace(':', '').replace(' ', '').upper()
    if len(text) != 40 or any(char not in '0123456789ABCDEF' for char in text):
        raise DuplicatiError('Invalid certificate thumbprint %r: give the SHA1 hash of the certificate as 40 hex digits.' % (value,),
                             hint='Check the host_certificate option.')
    return text


class PinnedCertificateError(ssl.SSLError):
    """The server's certificate is none of the pinned ones."""


class _PinnedContext(ssl.SSLContext):
    """A client context that accepts exactly the certificates whose SHA1 thumbprint is pinned.

    The check runs right after the TLS handshake, before a byte of the request is sent,
    like ServerUtil's ``SslCertificateValidator`` with ``--host-cert``.
    """

    pins = frozenset()

    def wrap_socket(self, *args, **kwargs):  # pylint: disable=signature-differs
        sock = super(_PinnedContext, self).wrap_socket(*args, **kwargs)
        der = sock.getpeercert(binary_form=True) or b''
        thumbprint = hashlib.sha1(der).hexdigest().upper()
        if thumbprint not in self.pins:
            sock.close()
            raise PinnedCertificateError('the certificate %s is not one of the pinned certificates (host_certificate)' % thumbprint)
        return sock


def pinned_context(thumbprints):
    """An ``SSLContext`` that accepts only certificates with one of these SHA1 thumbprints."""
    context = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.pins = frozenset(normalize_thumbprint(t) for t in thumbprints)
    return context


def _open_url(url, **kwargs):
    return Request().open(kwargs.pop('method'), url, **kwargs)


def parse_retry_after(value, now):
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - now)


def parse_server_error(body):
    """``(Error, Code)`` from Duplicati's error JSON ``{Error, Code}`` (or ``(Reason, None)``), else ``(None, None)``."""
    try:
        data = json.loads(body.decode('utf-8'))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None, None
    if isinstance(data, dict):
        # System.Text.Json on the server writes PascalCase; accept any casing like ServerUtil.
        lowered = dict((str(k).lower(), v) for k, v in data.items())
        error = lowered.get('error')
        if isinstance(error, str) and error:
            return error, lowered.get('code')
        # some endpoints refuse with their own DTO, {Status: "failed"|"error", Reason} (DELETE backup/{id})
        reason = lowered.get('reason')
        if lowered.get('status') in ('failed', 'error') and isinstance(reason, str) and reason:
            return reason, None
    return None, None


def send_once(opener, method, url, data, headers, timeout, validate_certs=True, ca_path=None, context=None):
    """Send one request with ``opener`` (``open_url``): a ``Response`` (any status) or the exception the
    connection raised. Every HTTP exchange of the collection goes through here; a redirect is never followed,
    so nothing is sent again to another place. ``opener`` None is ``Request().open`` (it takes the TLS ``context``
    of a pinned certificate)."""
    try:
        handle = (opener or _open_url)(url, data=data, headers=headers, method=method, timeout=timeout,
                                       validate_certs=validate_certs, ca_path=ca_path, follow_redirects='none',
                                       use_netrc=False, http_agent='duplicati.fleet', context=context)
    except HTTPError as exc:
        try:
            body = exc.read()
        except Exception:  # a reset while reading the error body leaves nothing to quote
            body = b''
        return Response(exc.code, exc.headers, body or b'', url)
    except (URLError, UrlsConnectionError, socket.error, ssl.SSLError, ValueError, HTTPException) as exc:
        return exc
    try:
        body = handle.read() if method != 'HEAD' else b''
        return Response(handle.getcode(), handle.headers, body, url)
    except (socket.error, ssl.SSLError, HTTPException) as exc:
        return exc
    finally:
        handle.close()


def backoff_delay(backoff, max_backoff, retry_number, jitter):
    """The wait before retry ``retry_number`` (0 first): ``min(max_backoff, backoff * 2**n)``, half of it fixed and
    half scaled by ``jitter()`` (a ``random()``-like callable), so a fleet does not retry in step."""
    delay = min(max_backoff, backoff * (2 ** retry_number))
    return delay / 2.0 + delay / 2.0 * jitter()


class Response(object):
    """A completed HTTP exchange: status, headers, body bytes and the cookies set."""

    def __init__(self, status, headers, body, url):
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url

    def header(self, name, default=None):
        if self.headers is None:
            return default
        return self.headers.get(name, default)

    @property
    def cookies(self):
        """``{name: value}`` of every ``Set-Cookie`` (an empty value means the cookie was deleted)."""
        jar = {}
        raw = []
        if self.headers is not None:
            getter = getattr(self.headers, 'get_all', None)
            raw = (getter('Set-Cookie') if getter else None) or []
        for line in raw:
            first = line.split(';', 1)[0]
            if '=' in first:
                name, value = first.split('=', 1)
                jar[name.strip()] = value.strip()
        return jar

    def json(self):
        """The body parsed as JSON (None for an empty body)."""
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode('utf-8'))
        except (ValueError, UnicodeDecodeError) as exc:
            raise DuplicatiError(
                'The server at %s answered with something that is not JSON (%s).' % (self.url, exc),
                status=self.status, url=self.url,
                hint='Check that host_url points at a Duplicati server.')


class Failure(object):
    """How a caller explains a failed status.

    ``reason`` replaces the generic one, ``hint`` says what to do, and ``quote_server``
    keeps the server's own ``Server error (<Code>): <Error>`` text in the message.
    """

    def __init__(self, reason, hint=None, quote_server=False):
        self.reason = reason
        self.hint = hint
        self.quote_server = quote_server


class Transport(object):
    """Sends requests to one Duplicati server.

    ``sleep``, ``clock`` and ``jitter`` (a ``random()``-like callable) are injectable for tests.
    """

    def __init__(self, host_url=DEFAULT_HOST_URL, validate_certs=True, ca_path=None,
                 timeout=DEFAULT_TIMEOUT, retries=3, backoff=0.5, max_backoff=8.0, max_retry_after=60.0,
                 sleep=None, clock=None, jitter=None, opener=None, host_certificates=None):
        self.host_url = normalize_host_url(host_url)
        self.api_url = self.host_url + API_PREFIX
        self.validate_certs = bool(validate_certs)
        self.ca_path = ca_path or None
        if timeout is None or int(timeout) <= 0:
            raise DuplicatiError('Invalid timeout %r: it must be a positive number of seconds.' % (timeout,), hint='Check the timeout option.')
        self.timeout = int(timeout)
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_retry_after = float(max_retry_after)
        self.sleep = sleep or time.sleep
        self.clock = clock or time.time
        self.jitter = jitter or random.random
        self.opener = opener or _open_url
        self.host_certificates = tuple(host_certificates or ())
        self.context = pinned_context(self.host_certificates) if self.host_certificates else None
        self.refresh_cookie_name = refresh_cookie_name(self.host_url)

    # -- URLs ----------------------------------------------------------------
    def url_for(self, path, query=None, root=False):
        """Absolute URL: ``path`` is relative to the API base, or to the host URL with ``root=True``."""
        base = self.host_url if root else self.api_url
        url = urljoin(base, path.lstrip('/'))
        encoded = encode_query(query)
        if encoded:
            url += ('&' if '?' in url else '?') + encoded
        return url

    # -- sending -------------------------------------------------------------
    def request(self, method, path, query=None, body=None, headers=None, raw=False, idempotent=None, root=False,
                action=None, failures=None, timeout=None):
        """Send one request and return a ``Response``; raise ``DuplicatiError`` on any failure.

        ``body`` is JSON-encoded (any JSON value, a string too) unless it is ``bytes``.
        ``raw=True`` asks for any content type (for file downloads); the body is always bytes.
        ``idempotent`` marks a non-GET call as safe to repeat (None: only GET/HEAD are).
        ``action`` names what is being done in error messages ("log in to"), and ``failures``
        explains a status better than the generic text: a dict ``{status: Failure}`` or a
        callable ``(status, server_error) -> Failure or None``.
        """
        method = method.upper()
        url = self.url_for(path, query, root=root)
        send_headers = {'Accept': '*/*' if raw else 'application/json'}
        data = None
        if body is not None:
            if isinstance(body, bytes):
                data = body
                send_headers['Content-Type'] = 'application/octet-stream'
            else:
                data = json.dumps(body).encode('utf-8')
                send_headers['Content-Type'] = 'application/json; charset=utf-8'
        send_headers.update(headers or {})
        repeatable = method in SAFE_METHODS if idempotent is None else bool(idempotent)
        shown_url = url.split('?', 1)[0]  # queries can carry tokens and passphrases: never show them
        subject = 'Failed to %s %s' % (action, self.host_url) if action else 'Failed to %s %s' % (method, shown_url)
        attempts = 0
        while True:
            attempts += 1
            outcome = self._send_once(method, url, data, send_headers, timeout or self.timeout)
            if isinstance(outcome, Response) and outcome.status < 300:
                return outcome
            wait = self._retry_wait(outcome, attempts) if repeatable and attempts <= self.retries else None
            if wait is None:
                raise self._translate(outcome, subject, shown_url, attempts, failures or {})
            self.sleep(wait)

    def _send_once(self, method, url, data, headers, timeout):
        """A ``Response`` (any status) or the exception the connection raised."""
        return send_once(self.opener, method, url, data, headers, timeout, self.validate_certs, self.ca_path, self.context)

    def _retry_wait(self, outcome, attempts):
        """Seconds to wait before the next try, or None if this outcome is not retried."""
        delay = backoff_delay(self.backoff, self.max_backoff, attempts - 1, self.jitter)
        if isinstance(outcome, Response):
            if outcome.status not in RETRY_STATUSES:
                return None
            after = parse_retry_after(outcome.header('Retry-After'), self.clock())
            if after is not None:
                if after > self.max_retry_after:
                    return None
                return after
            return delay
        if is_tls_failure(outcome) or isinstance(outcome, ValueError):
            return None
        return delay

    # -- errors ----------------------------------------------------------------
    def _translate(self, outcome, subject, url, attempts, failures):
        tries = '' if attempts == 1 else ' after %d attempts' % attempts
        if not isinstance(outcome, Response):
            reason, hint = _explain_connection_error(outcome, self)
            return DuplicatiError('%s: %s%s.' % (subject, reason, tries), url=url, hint=hint)
        status = outcome.status
        server_error, code = parse_server_error(outcome.body)
        text = _plain_text(outcome)
        if 300 <= status < 400:
            return _redirect_error(outcome, subject, url, self.host_url)
        special = failures(status, server_error) if callable(failures) else failures.get(status)
        hint = None
        quote_server = True
        if special is not None:
            reason, hint, quote_server = special.reason, special.hint, special.quote_server
        elif status == 403 and text.startswith('Invalid PreSharedKey'):
            # Agent/Program.cs sets PreSharedKeyFilter.PreSharedKey to a random key, in memory, at each start
            reason = 'the server is hosted by a Duplicati Agent that accepts API calls only from the Agent itself (pre-shared key)'
            hint = ('The Agent makes a new random pre-shared key at each start and keeps it in memory; no client can send it. '
                    'Start the Agent with --disable-pre-shared-key=true to reach its server from outside '
                    '(the duplicati_agent role: duplicati_agent_local_access).')
        elif status == 403 and server_error and server_error.startswith('Invalid hostname'):
            reason = 'the server does not accept the host name in host_url (%s)' % server_error
            hint = ('Use host_url with localhost or an IP address, or add the name to the server\'s allowed host names '
                    '(--webservice-allowed-hostnames).')
        elif status == 401:
            reason = 'the server refused the credentials'
            hint = 'Check the password, access_token or settings_file options.'
        elif status == 429:
            reason = 'the server is rate limiting requests'
            after = outcome.header('Retry-After')
            hint = 'Try again later%s.' % (' (the server asked to wait %s)' % after if after else '')
        elif status == 503:
            reason = 'the server is unavailable'
            hint = 'Try again later; the server may be starting or overloaded.'
        elif status == 404 and not server_error:
            reason = 'no such API endpoint'
            hint = 'Check that host_url points at a Duplicati server (2.1 or later) and includes its path prefix, if any.'
        else:
            reason = 'the server answered with an error'
        detail = ''
        if server_error and quote_server:
            detail = ': Server error (%s): %s' % (code if code is not None else status, server_error)
        elif text and quote_server and status not in (429, 503):
            detail = ': %s' % text
        message = '%s: %s (HTTP %d%s)%s' % (subject, reason, status, tries, detail)
        if not message.endswith('.'):
            message += '.'
        return DuplicatiError(message, status=status, code=code, server_error=server_error, url=url, hint=hint)


def _redirect_error(response, subject, url, host_url):
    """The failure for a 3xx answer: the redirect was not followed, and why."""
    target = (response.header('Location') or '').strip()
    shown = target.split('?', 1)[0] or 'no Location'
    absolute = urljoin(url, target) if target else ''
    downgrade = urlsplit(host_url).scheme == 'https' and urlsplit(absolute).scheme == 'http'
    reason = 'the server redirected to %s%s, and the redirect was not followed' % (
        shown, ' (from https to plain http)' if downgrade else '')
    return DuplicatiError(
        '%s: %s (HTTP %d). Credentials are never sent across a redirect; a Duplicati server answers its API itself.'
        % (subject, reason, response.status), status=response.status, url=url,
        hint='Set host_url to the address the server really answers on (a proxy may be redirecting to another path, host or scheme).')


def _plain_text(response):
    """A short text body (like ``Invalid PreSharedKey``), or ''."""
    body = response.body or b''
    if len(body) > 300:
        return ''
    try:
        text = body.decode('utf-8').strip()
    except UnicodeDecodeError:
        return ''
    if text.startswith('{') or text.startswith('['):
        return ''
    return text


def _reason_of(exc):
    reason = getattr(exc, 'reason', None)
    return reason if reason is not None else exc


def is_tls_failure(exc):
    reason = _reason_of(exc)
    return isinstance(exc, (SSLValidationError, ssl.SSLError)) or isinstance(reason, ssl.SSLError)


def _explain_connection_error(exc, transport):
    """(reason, hint) for an error raised before any HTTP status arrived."""
    reason = _reason_of(exc)
    if isinstance(reason, PinnedCertificateError):
        return ('%s' % reason, 'Check the host_certificate option (the SHA1 thumbprint of the server\'s certificate); '
                'nothing was sent to the server.')
    if is_tls_failure(exc):
        return ('the TLS certificate of the server could not be verified (%s)' % reason,
                'Set ca_path to the CA certificate that signed the server certificate, '
                'or set validate_certs=false to accept a self-signed certificate.')
    if isinstance(reason, ConnectionRefusedError):
        return ('the connection was refused',
                'Is the Duplicati server running, and is host_url (%s) the address and port it listens on?' % transport.host_url)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return ('no answer within %d seconds' % transport.timeout,
                'Check that the server is reachable at host_url, or raise the timeout option.')
    if isinstance(reason, socket.gaierror):
        return ('the host name could not be resolved (%s)' % reason, 'Check the host name in the host_url option.')
    if isinstance(reason, ConnectionResetError):
        return ('the connection was reset by the server',
                'If the server uses HTTPS, make sure host_url starts with https://; otherwise try again.')
    if isinstance(exc, ValueError):
        return ('the request could not be built (%s)' % exc, 'Check the host_url option.')
    return ('the connection failed (%s)' % reason, 'Check that the server is running and reachable at host_url.')
