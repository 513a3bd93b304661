# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registration with the Duplicati console, as ``RegisterForRemote.RegisterAsync`` does it
(``Duplicati/Library/RemoteControl/RegisterForRemote.cs``).

``POST <registration url>`` with the machine data (JSON, camelCase; every non-empty query
parameter of the URL copied into the body, overriding). The answer is either the claimed
data (``jwt`` + ``serverUrl``) or a claim link (``claimLink`` + ``statusLink``, then
``POST <statusLink>`` with the same body every ``retrySeconds`` s, at most
``clamp(maxRetries, 1, 100)`` times, within ``clamp(maxLifetimeSeconds, 1, 3600)`` s).
Registration is attempted 10 times, 30 s apart; env ``DUPLICATI_EMULATOR_RETRY_SECONDS``
(an emulator-only knob) shortens that interval for tests.

An agent that holds no registration and is given no URL registers with the default
address: ``Agent.Program.GetDefaultRegistrationUrl`` (``DUPLICATI__REGISTER_REMOTE_CONTROL``),
else ``RegisterForRemote.DefaultRegisterationUrl`` (``DUPLICATI_REMOTE_CONTROL_URL``, else the
address compiled in, ``https://api.duplicati.com/remotecontrol/register``). Env
``DUPLICATI_EMULATOR_DEFAULT_REGISTRATION_URL`` (an emulator-only knob) replaces only that
compiled-in address, so that a test can put an emulated "default console" there and count
what reaches it; both environment variables of Duplicati still win over it.
"""

import datetime
import json
import time
import uuid
from urllib.parse import unquote_plus, urlsplit

from .errors import RegistrationError

DEFAULT_REGISTRATION_URL = 'https://api.duplicati.com/remotecontrol/register'
REGISTRATION_URL_ENV = 'DUPLICATI_REMOTE_CONTROL_URL'
SERVER_REGISTRATION_URL_ENV = 'DUPLICATI__REGISTER_REMOTE_CONTROL'
RETRY_SECONDS_ENV = 'DUPLICATI_EMULATOR_RETRY_SECONDS'
DEFAULT_ADDRESS_ENV = 'DUPLICATI_EMULATOR_DEFAULT_REGISTRATION_URL'
CLIENT_REGISTER_MAX_RETRIES = 10
CLIENT_REGISTER_RETRY_SECONDS = 30.0
HTTP_TIMEOUT = 100.0
INSTANCE_ID = str(uuid.uuid4())  # RegisterForRemote.ClientInstanceId: one per process


class RegistrationCancelled(RegistrationError):
    """The claim wait ran past maxLifetimeSeconds (a TaskCanceledException in the real agent)."""


def default_registration_url(environ):
    """``RegisterForRemote.DefaultRegisterationUrl``; the compiled-in address can be moved for tests."""
    value = environ.get(REGISTRATION_URL_ENV)
    if value is None or not value.strip():
        return (environ.get(DEFAULT_ADDRESS_ENV) or '').strip() or DEFAULT_REGISTRATION_URL
    return value


def agent_default_registration_url(environ):
    """``Agent.Program.GetDefaultRegistrationUrl`` (the default of ``run --agent-registration-url``)."""
    value = environ.get(SERVER_REGISTRATION_URL_ENV)
    return value if value else default_registration_url(environ)


def retry_interval(environ):
    value = environ.get(RETRY_SECONDS_ENV)
    if value is None or not value.strip():
        return CLIENT_REGISTER_RETRY_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise RegistrationError('%s must be a number of seconds, not %r' % (RETRY_SECONDS_ENV, value))
    if seconds < 0:
        raise RegistrationError('%s must not be negative' % RETRY_SECONDS_ENV)
    return seconds


def local_time():
    """``DateTimeOffset.Now.ToString("o")``: seven fractional digits and a numeric offset."""
    now = datetime.datetime.now().astimezone()
    text = now.isoformat(timespec='microseconds')
    return text[:26] + '0' + text[26:]


def parse_query(url):
    """``HttpUtility.ParseQueryString``: decoded, repeated keys joined with ',', keyless items dropped."""
    query = urlsplit(url).query
    values = {}
    for part in query.split('&') if query else []:
        if not part:
            continue
        if '=' in part:
            key, value = part.split('=', 1)
            key = unquote_plus(key)
        else:
            key, value = None, part
        if key is None:
            continue
        values.setdefault(key, []).append(unquote_plus(value))
    return dict((k, ','.join(v)) for k, v in values.items())


def machine_body(url, identity):
    """The registration body: the machine data, overridden by the URL's non-empty query parameters."""
    body = {
        'instanceId': INSTANCE_ID,
        'machineId': identity.get('machineId'),
        'machineName': identity.get('machineName'),
        'installId': identity.get('installId'),
        'localTime': local_time(),
        'version': identity.get('version'),
        'packageTypeId': identity.get('packageTypeId'),
        'operatingSystem': identity.get('operatingSystem'),
    }
    for key, value in parse_query(url).items():
        if value.strip():
            body[key] = value
    return body


def _check_string(obj, name):
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise RegistrationError('The JSON value of %s could not be converted to System.String.' % name)
    return value


def _check_int(obj, name):
    value = obj.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not -2 ** 31 <= value < 2 ** 31:
        raise RegistrationError('The JSON value of %s could not be converted to System.Int32.' % name)
    return value


def parse_claimed(obj):
    """``ClaimedClientData`` / ``EnvelopedClaimedClientData`` read case-sensitively (camelCase)."""
    from .settings import normalise_certificates
    claimed = dict((name, _check_string(obj, name)) for name in
                   ('jwt', 'serverUrl', 'certificateUrl', 'localEncryptionKey', 'statusMessage'))
    try:
        claimed['serverCertificates'] = normalise_certificates(obj.get('serverCertificates'))
    except ValueError as exc:
        raise RegistrationError('The JSON value of serverCertificates could not be read: %s' % exc)
    settings = obj.get('settings')
    if settings is not None and not (isinstance(settings, dict) and all(v is None or isinstance(v, str) for v in settings.values())):
        raise RegistrationError('The JSON value of settings could not be converted to a string map.')
    claimed['settings'] = settings
    return claimed


class Registration(object):
    """One registration attempt sequence (``RegisterForRemote``)."""

    def __init__(self, url, identity, environ, log, sleep=time.sleep):
        self.url = url
        self.identity = identity
        self.environ = environ
        self.log = log
        self.sleep = sleep
        self.deadline = None

    def _post(self, url):
        import urllib.error
        import urllib.request
        body = json.dumps(machine_body(self.url, self.identity)).encode('utf-8')
        timeout = HTTP_TIMEOUT
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
            if timeout <= 0:
                raise RegistrationCancelled('A task was canceled.')
        request = urllib.request.Request(url, data=body, method='POST',
                                         headers={'Content-Type': 'application/json; charset=utf-8'})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec - emulator, controller side
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            raise RegistrationError('Response status code does not indicate success: %d (%s).' % (exc.code, exc.reason))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise RegistrationCancelled('A task was canceled.')
            raise RegistrationError('HttpRequestException: %s (%s)' % (getattr(exc, 'reason', exc), url))

    def _retry(self, action, attempts, delay):
        """``RetryHelper.Retry``: ``attempts`` tries in all, ``delay`` seconds apart."""
        attempt = 0
        while True:
            try:
                return action()
            except RegistrationCancelled:
                raise
            except RegistrationError:
                attempt += 1
                if attempt >= attempts:
                    raise
            if self.deadline is not None and time.monotonic() + delay >= self.deadline:
                self.sleep(max(0.0, self.deadline - time.monotonic()))
                raise RegistrationCancelled('A task was canceled.')
            self.sleep(delay)

    def _register_once(self):
        dummy, raw = self._post(self.url)
        text = raw.decode('utf-8-sig', 'replace')
        if not text.strip():
            raise RegistrationError('Failed to read client registration data')
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise RegistrationError('JsonException: %s' % exc)
        if not isinstance(doc, dict):
            raise RegistrationError('The requested operation requires an element of type \'Object\'.')
        if 'jwt' in doc and 'serverUrl' in doc:
            claimed = parse_claimed(doc)
            if not (claimed['jwt'] or '').strip() or not (claimed['serverUrl'] or '').strip():
                raise RegistrationError('Failed to obtain registration data, status message: %s' % (claimed['statusMessage'] or ''))
            return None, claimed
        if 'claimLink' in doc and 'statusLink' in doc:
            data = {'claimLink': _check_string(doc, 'claimLink'), 'statusLink': _check_string(doc, 'statusLink')}
            for name in ('retrySeconds', 'maxRetries', 'maxLifetimeSeconds'):
                data[name] = _check_int(doc, name)
            return data, None
        raise RegistrationError('Failed to read client registration data')

    def register(self):
        """Returns ``(registration data or None, claimed data or None)``; raises RegistrationError."""
        try:
            return self._retry(self._register_once, CLIENT_REGISTER_MAX_RETRIES, retry_interval(self.environ))
        except RegistrationError:
            self.log('Error', 'RegisterForRemote', 'ClientRegistrationFailed', 'Failed to register machine with server: %s' % self.url)
            raise

    def _check_claimed(self, status_link):
        dummy, raw = self._post(status_link)
        try:
            doc = json.loads(raw.decode('utf-8-sig', 'replace'))
        except ValueError as exc:
            raise RegistrationError('JsonException: %s' % exc)
        if doc is None:
            raise RegistrationError('Failed to read machine claim data')
        if not isinstance(doc, dict):
            raise RegistrationError('JsonException: the claim status is not a JSON object')
        success = doc.get('success')
        if success is not None and not isinstance(success, bool):
            raise RegistrationError('The JSON value of success could not be converted to System.Boolean.')
        claimed = parse_claimed(doc)
        if not success:
            raise RegistrationError('Failed to claim machine: %s' % (claimed['statusMessage'] or ''))
        return claimed

    def claim(self, data):
        """Polls the status link until claimed (``ClaimAsync``)."""
        self.deadline = time.monotonic() + min(3600, max(1, data['maxLifetimeSeconds']))
        if data['retrySeconds'] < 0:
            raise RegistrationError('The value needs to translate in milliseconds to -1 (signifying an infinite timeout), '
                                    '0, or a positive integer less than or equal to the maximum allowed timer duration.')
        try:
            return self._retry(lambda: self._check_claimed(data['statusLink']), min(100, max(1, data['maxRetries'])),
                               float(data['retrySeconds']))
        except RegistrationError:
            self.log('Error', 'RegisterForRemote', 'ClientClaimFailed', 'Failed to claim machine with server')
            raise
