# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registration protocol of the Duplicati console, spoken natively (Duplicati/Library/RemoteControl/RegisterForRemote.cs).

What the agent does in ``RegisterForRemote`` is done here the same way:

1. ``POST <registration URL>`` with a flat JSON object of strings (``instanceId``,
   ``machineId``, ``machineName``, ``installId``, ``localTime``, ``version``,
   ``packageTypeId``, ``operatingSystem``); every non-empty query parameter of the URL is
   copied into the body and overrides a same-named key. That is how the token of a
   pre-authorised link reaches the console.
2. The 2xx answer is either *claimed* (``jwt`` and ``serverUrl`` present: the machine is
   registered; an empty ``jwt`` or ``serverUrl`` is a refusal explained by
   ``statusMessage``) or *needs a claim* (``claimLink`` and ``statusLink``): then the
   same body is posted to ``statusLink`` every ``retrySeconds`` until the answer has
   ``success: true``, at most ``clamp(maxRetries, 1, 100)`` times and at most
   ``clamp(maxLifetimeSeconds, 1, 3600)`` seconds.

Unlike the agent (10 tries, 30 s apart), the client here retries connection errors, 5xx
and 429 with exponential backoff and jitter, and stops after ``retries`` retries or when
``timeout`` seconds have passed, whichever comes first. A 429 with ``Retry-After`` is
waited out exactly and bounded by ``timeout`` only: a console pacing a large fleet is
not failing, and a growing backoff there would leave its admitted rate unused.

The registration URL is a bearer secret: anyone holding it can add machines to the
account. It never appears in an error message, a result or a log line from here;
``redact`` removes it (and each of its query values) from any text.
"""

import datetime
import json
import os
import platform
import random
import socket
import subprocess
import time
import uuid

from urllib.parse import parse_qsl, urlsplit

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_host
from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings
from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.redaction import redact, redacted_url
from ansible_collections.duplicati.fleet.plugins.module_utils.transport import (
    Response,
    backoff_delay,
    is_tls_failure,
    parse_retry_after,
    send_once,
)

DEFAULT_REGISTRATION_URL = 'https://api.duplicati.com/remotecontrol/register'
DEFAULT_TIMEOUT = 120
DEFAULT_RETRIES = 8
BODY_KEYS = ('instanceId', 'machineId', 'machineName', 'installId', 'localTime', 'version', 'packageTypeId', 'operatingSystem')
CLAIM_KEYS = ('jwt', 'serverUrl', 'certificateUrl', 'serverCertificates', 'localEncryptionKey', 'statusMessage', 'settings')
OPERATING_SYSTEMS = {'linux': 'Linux', 'darwin': 'MacOS', 'macos': 'MacOS', 'windows': 'Windows', 'win32': 'Windows'}


class RegistrationError(DuplicatiError):
    """The console refused the registration, or could not be reached in time.

    ``refused`` is True only when the console answered and did not register the machine;
    otherwise (timeouts, connection errors, 5xx) it may have registered it.
    """

    refused = False


def _refused(error):
    error.refused = True
    return error


# ---- the secret ---------------------------------------------------------------------------

def check_registration_url(url):
    """Raise ``RegistrationError`` unless ``url`` is an absolute http(s) URL (never quoting it)."""
    if not url or not isinstance(url, str):
        raise RegistrationError('No registration URL was given',
                                hint='Set registration_url, or the DUPLICATI_REGISTRATION_URL environment variable.')
    if any(ch in url for ch in '\r\n\0 '):
        raise RegistrationError('The registration URL contains white space or control characters',
                                hint='Copy the link from the Duplicati console again.')
    if any(ord(ch) > 126 or ord(ch) < 32 for ch in url):
        raise RegistrationError('The registration URL contains characters that are not plain ASCII; a link from the '
                                'console never does (a host name must be in its xn-- form, other characters percent-encoded)',
                                hint='Copy the link from the Duplicati console again.')
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError:
        raise RegistrationError('The registration URL is not a valid URL (%s)' % redacted_url(url))
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise RegistrationError('The registration URL must be an http:// or https:// URL (got %s)' % redacted_url(url),
                                hint='Copy the link from the Duplicati console again.')
    return url


# ---- the request body -------------------------------------------------------------------

def query_overrides(url):
    """The non-empty query parameters of ``url`` as the agent copies them into the body.

    .NET's ``ParseQueryString`` decodes ``+`` and ``%XX``, and joins repeated keys with ``,``.
    """
    values = {}
    order = []
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if name not in values:
            values[name] = []
            order.append(name)
        values[name].append(value)
    result = {}
    for name in order:
        joined = ','.join(values[name])
        if joined.strip():
            result[name] = joined
    return result


def local_time_o(now=None):
    """The local time in .NET's round-trip ``o`` format: ``2026-08-22T10:11:12.1234567+02:00``."""
    now = now or datetime.datetime.now().astimezone()
    if now.tzinfo is None:
        now = now.astimezone()
    text = now.strftime('%Y-%m-%dT%H:%M:%S.%f') + '0'
    offset = now.utcoffset() or datetime.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = '+' if minutes >= 0 else '-'
    minutes = abs(minutes)
    return '%s%s%02d:%02d' % (text, sign, minutes // 60, minutes % 60)


def machine_name(system=None, run=None):
    """``MachineNameReader.GetMachineName`` (Duplicati/Library/Utility): on macOS the output of
    ``scutil --get ComputerName`` (trimmed; given one second, and ignored when it fails or is blank),
    else, and as the fallback, ``Environment.MachineName``: the host name up to the first dot.
    """
    system = platform.system() if system is None else system
    if system == 'Darwin':
        run = run or subprocess.run
        try:
            done = run(['scutil', '--get', 'ComputerName'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=1, check=False)
        except (OSError, subprocess.SubprocessError):
            done = None
        if done is not None and done.returncode == 0:
            name = done.stdout.decode('utf-8', 'replace').strip()
            if name:
                return name
    return socket.gethostname().split('.', 1)[0]


def operating_system_name(system):
    """``Linux``, ``MacOS``, ``Windows`` or ``Unknown``, as ``UpdaterManager.OperatingSystemName``."""
    return OPERATING_SYSTEMS.get((system or '').lower(), 'Unknown')


def registration_body(url, machine_id, install_id, version=None, package_type_id='', operating_system='Linux',
                      name=None, instance_id=None, local_time=None):
    """The JSON body of a registration request, query parameters of ``url`` included."""
    body = {
        'instanceId': instance_id or str(uuid.uuid4()),
        'machineId': machine_id,
        'machineName': name if name is not None else machine_name(),
        'installId': install_id,
        'localTime': local_time or local_time_o(),
        'version': version,
        'packageTypeId': package_type_id,
        'operatingSystem': operating_system,
    }
    body.update(query_overrides(url))
    return body


# ---- the answers --------------------------------------------------------------------------

def claimed_data(answer):
    """The claim fields of a claimed answer, ``None`` for missing ones."""
    return dict((key, answer.get(key)) for key in CLAIM_KEYS)


def unapplied_settings_warning(claim):
    """The warning for claim ``settings`` that a native registration does not apply, or None.

    The agent hands them to its local server as an ``updatesettings`` control message
    (``RegisterAsync`` in Duplicati/Agent/Program.cs, ``ControlMessage.CreateSettingsControlMessage``,
    applied by ``RemoteControllerHandler.OnControlAsync``): report URLs, dashboard URL, storage
    API credentials, client license key and backup configurations. Only the names are shown.
    """
    settings = claim.get('settings')
    if not isinstance(settings, dict) or not settings:
        return None
    return ('The console sent settings with the claim (%s) that method=native does not apply; the Duplicati Agent applies '
            'them to its local server as an "updatesettings" control message. Check in the Duplicati console that the '
            'machine has them once its agent service is connected.'
            % ', '.join(sorted(str(name) for name in settings)))


def _blank(value):
    return not isinstance(value, str) or not value.strip()


class RegistrationClient(object):
    """Registers one machine with the console behind ``url``.

    ``sleep``, ``clock``, ``jitter`` and ``opener`` are injectable for tests.
    """

    def __init__(self, url, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES, validate_certs=True, ca_path=None,
                 backoff=1.0, max_backoff=30.0, request_timeout=100, sleep=None, clock=None, jitter=None, opener=None):
        self.url = check_registration_url(url)
        if timeout is None or float(timeout) <= 0:
            raise RegistrationError('Invalid timeout %r: it must be a positive number of seconds' % (timeout,))
        if retries is None or int(retries) < 0:
            raise RegistrationError('Invalid retries %r: it must be 0 or more' % (retries,))
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.validate_certs = bool(validate_certs)
        self.ca_path = ca_path or None
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.request_timeout = float(request_timeout)
        self.sleep = sleep or time.sleep
        self.clock = clock or time.monotonic
        self.jitter = jitter or random.random
        self.opener = opener
        self.attempts = 0
        self.retried = 0
        self.log = []

    @property
    def shown_url(self):
        return redacted_url(self.url)

    # -- one exchange --------------------------------------------------------------------
    def _post_once(self, url, body, timeout):
        data = json.dumps(body).encode('utf-8')
        headers = {'Content-Type': 'application/json; charset=utf-8', 'Accept': 'application/json'}
        outcome = send_once(self.opener, 'POST', url, data, headers, timeout, self.validate_certs, self.ca_path)
        if isinstance(outcome, Response):
            return outcome.status, outcome.headers, outcome.body
        return None, None, outcome

    def post(self, url, body, deadline, what):
        """POST ``body`` to ``url`` until a 2xx JSON object comes back; returns it.

        Connection errors, 5xx and 429 are retried; any other status is final. A 429 with a
        ``Retry-After`` is the console pacing a fleet, not a failure: the client comes back
        when told, and only ``timeout`` bounds such waits. Every other retry counts against
        ``retries`` and waits an exponential backoff with jitter.
        """
        failures = 0
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise RegistrationError('Timed out after %d seconds while %s %s' % (self.timeout, what, self.shown_url),
                                        url=self.shown_url, hint='Raise the timeout option, or try again later.')
            self.attempts += 1
            status, headers, payload = self._post_once(url, body, min(self.request_timeout, remaining))
            if status is not None and 200 <= status < 300:
                return self._parse(status, payload, what)
            retryable = status is None or status >= 500 or status == 429
            if not retryable:
                raise self._refusal(status, payload, what)
            reason = self._describe(status, headers, payload)
            after = parse_retry_after(headers.get('Retry-After'), time.time()) if status == 429 and headers is not None else None
            if after is not None and after > 0:
                wait = after
            else:
                if failures >= self.retries:
                    raise RegistrationError('Failed %s %s: %s, after %d attempts' % (what, self.shown_url, reason, failures + 1),
                                            status=status, url=self.shown_url,
                                            hint='The console may be overloaded or unreachable; raise retries or timeout, or try again later.')
                wait = backoff_delay(self.backoff, self.max_backoff, failures, self.jitter)
                failures += 1
            remaining = deadline - self.clock()
            if wait >= remaining:
                raise RegistrationError('Failed %s %s: %s, and the timeout of %d seconds ends before the next try' % (
                    what, self.shown_url, reason, self.timeout), status=status, url=self.shown_url,
                    hint='Raise the timeout option, or try again later.')
            self.log.append({'status': status, 'wait': round(wait, 3)})
            self.retried += 1
            self.sleep(wait)

    def _describe(self, status, headers, payload):
        if status is None:
            reason = getattr(payload, 'reason', None) or payload
            if is_tls_failure(payload):
                return 'the TLS certificate could not be verified (%s)' % redact(reason, self.url)
            return 'the connection failed (%s)' % redact(reason, self.url)
        if status == 429:
            return 'the console is rate limiting requests (HTTP 429)'
        return 'the console answered HTTP %d' % status

    def _refusal(self, status, payload, what):
        message = _status_message(payload)
        text = 'The console refused the registration %s (HTTP %d)' % (self.shown_url, status)
        if message:
            text += ': %s' % redact(message, self.url)
        hint = 'Check that the registration link is still valid in the Duplicati console; a deleted link can no longer register machines.'
        return _refused(RegistrationError(text, status=status, server_error=redact(message, self.url) if message else None,
                                          url=self.shown_url, hint=hint))

    def _parse(self, status, payload, what):
        try:
            answer = json.loads(payload.decode('utf-8'))
        except (ValueError, UnicodeDecodeError, AttributeError):
            answer = None
        if not isinstance(answer, dict):
            raise RegistrationError('The console at %s answered with something that is not a registration answer (HTTP %d)' % (
                self.shown_url, status), status=status, url=self.shown_url,
                hint='Check that registration_url is a Duplicati console registration link.')
        return answer

    # -- the protocol ----------------------------------------------------------------------
    def register(self, body):
        """Register and return the claim (``jwt``, ``serverUrl``, ... see ``CLAIM_KEYS``)."""
        start = self.clock()
        deadline = start + self.timeout
        answer = self.post(self.url, body, deadline, 'registering with')
        if 'jwt' in answer and 'serverUrl' in answer:
            if _blank(answer.get('jwt')) or _blank(answer.get('serverUrl')):
                message = redact(answer.get('statusMessage') or 'no status message', self.url)
                raise _refused(RegistrationError('The console did not register the machine (%s): %s' % (self.shown_url, message),
                                                 server_error=message, url=self.shown_url,
                                                 hint='Check that the registration link is still valid in the Duplicati console.'))
            return claimed_data(answer)
        if 'claimLink' in answer and 'statusLink' in answer:
            return self._wait_for_claim(answer, body, start, deadline)
        raise RegistrationError('The console at %s answered without a token or a claim link' % self.shown_url,
                                url=self.shown_url, hint='Check that registration_url is a Duplicati console registration link.')

    def _wait_for_claim(self, answer, body, start, deadline):
        status_link = answer.get('statusLink')
        claim_link = answer.get('claimLink')
        if _blank(status_link):
            raise RegistrationError('The console asked for a claim but gave no status link', url=self.shown_url)
        if not same_origin(status_link, self.url):
            # The status link is sent the registration body, token included: only to the console itself.
            raise RegistrationError('The console at %s asked to wait for the claim at another site (%s); the registration '
                                    'token is only sent to the scheme, host and port of the registration URL'
                                    % (self.shown_url, redacted_url(status_link)), url=self.shown_url,
                                    hint='Check that registration_url is the link the Duplicati console gave.')
        retry_seconds = max(0.0, _number(answer.get('retrySeconds'), 5))
        max_tries = min(100, max(1, int(_number(answer.get('maxRetries'), 1))))
        lifetime = min(3600.0, max(1.0, _number(answer.get('maxLifetimeSeconds'), 3600)))
        deadline = min(deadline, start + lifetime)
        last = None
        for attempt in range(max_tries):
            if attempt:
                if self.clock() + retry_seconds >= deadline:
                    break
                self.sleep(retry_seconds)
            try:
                status = self.post(status_link, body, deadline, 'waiting for the claim at')
            except RegistrationError as err:
                if err.status is None or err.status >= 500 or err.status == 429:
                    last = str(err)
                    continue
                raise
            if status.get('success') is True and not _blank(status.get('jwt')) and not _blank(status.get('serverUrl')):
                return claimed_data(status)
            last = redact(status.get('statusMessage') or 'not claimed yet', self.url)
        raise RegistrationError(
            'The machine was registered but not claimed in time (%s). Claim it by visiting %s' % (last, claim_link),
            url=self.shown_url,
            hint='Use a pre-authorised registration link so no claim is needed, or claim the machine and run again.')


def _origin(url):
    try:
        parts = urlsplit(url)
        port = parts.port or {'http': 80, 'https': 443}.get(parts.scheme.lower())
    except (ValueError, AttributeError):
        return None
    return parts.scheme.lower(), (parts.hostname or '').lower(), port


def same_origin(url, reference):
    """True when ``url`` has the scheme, host and port of ``reference``."""
    origin = _origin(url)
    return origin is not None and origin[1] != '' and origin == _origin(reference)


def _number(value, default):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float(default)


def _status_message(payload):
    """The ``statusMessage`` (or a short text) of a refusal body."""
    if isinstance(payload, Exception) or not payload:
        return None
    try:
        answer = json.loads(payload.decode('utf-8'))
    except (ValueError, UnicodeDecodeError, AttributeError):
        try:
            text = payload.decode('utf-8').strip()
        except (UnicodeDecodeError, AttributeError):
            return None
        return text[:300] if text and not text.startswith('<') else None
    if isinstance(answer, dict):
        for key in ('statusMessage', 'StatusMessage', 'message', 'error', 'Error'):
            if isinstance(answer.get(key), str) and answer[key].strip():
                return answer[key].strip()
    return None


# ---- the native registration of a host ------------------------------------------------

def register_native(settings_file, data_folder, url, existing, agent_path, passphrase=None, owner=None, group=None,
                    **client_options):
    """Register this host as its agent would and write ``agent.json``; returns the client (its ``attempts``) and
    the warning for claim settings it does not apply (or None).

    The identity files are on disk before the console hears of it: if agent.json cannot be written
    afterwards (a full disk), a retry registers the same machine ID again, not a second one. They are
    taken back only when nothing can have been registered. ``client_options`` go to ``RegistrationClient``.
    """
    install_id, machine_id, identity_files = df.plan_identity(data_folder)
    install_dir = agent_host.install_dir(agent_path)
    body = registration_body(
        url,
        machine_id=machine_id,
        install_id=install_id,
        version=agent_host.read_installed_version(install_dir) if install_dir else None,
        package_type_id=agent_host.read_package_type_id(install_dir) if install_dir else '',
        operating_system=operating_system_name(platform.system()))
    client = RegistrationClient(url, **client_options)
    written = []
    try:
        df.write_identity_files(identity_files, owner, group, written)
        claim = client.register(body)
    except (RegistrationError, IOError, OSError) as err:
        if not isinstance(err, RegistrationError) or err.refused:
            for path in written:
                os.unlink(path)
        raise
    settings = dict(existing)
    settings.update({'jwt': claim['jwt'], 'serverUrl': claim['serverUrl'], 'settingsEncryptionKey': claim['localEncryptionKey'],
                     'serverCertificates': claim['serverCertificates'], 'certificateUrl': claim['certificateUrl']})
    agent_settings.save_agent_settings(settings_file, settings, passphrase, owner=owner, group=group)
    return client, unapplied_settings_warning(claim)
