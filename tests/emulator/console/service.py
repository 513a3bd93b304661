# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated registration service of the Duplicati console.

Duplicati's source holds only the agent side of registration; the console's side is not in
Duplicati's source: modelled on the console's observed answers. This service answers exactly
what the agent side parses (``Duplicati/Library/RemoteControl/RegisterForRemote.cs``, camelCase,
case-sensitive on read: ``RegisterForRemote.JsonOptions``):

``POST /remotecontrol/register``
    The path of the real default URL ``https://api.duplicati.com/remotecontrol/register``
    (``RegisterForRemote.DefaultRegisterationUrl``). A pre-authorised link is ``<base>/remotecontrol/register?token=<token>``.
    The query parameter name ``token`` is this console's choice: the real one is not
    in Duplicati's source. The agent POSTs to the whole link and copies every
    non-empty query parameter into the JSON body, so the console reads the token from
    the *body*, never from the query string.

    * valid token → 200 with the claimed-immediately answer ``{jwt, serverUrl,
      certificateUrl, serverCertificates, localEncryptionKey, statusMessage[, settings]}``;
    * no token → 200 with ``{claimLink, statusLink, retrySeconds, maxRetries,
      maxLifetimeSeconds}`` (``RegisterClientData``);
    * revoked or unknown token → **200** with ``jwt`` and ``serverUrl`` present but empty
      and the reason in ``statusMessage``. That is the only answer whose message the
      agent shows: it calls ``EnsureSuccessStatusCode`` first (a 4xx would be reported
      as a bare HTTP error), then, because both keys exist, deserialises the claimed
      data and throws "Failed to obtain registration data, status message: <msg>";
    * a body that is not the agent's machine data → 400.

``POST /remotecontrol/status/<id>`` (the ``statusLink``)
    ``EnvelopedClaimedClientData``: ``{success:false, statusMessage}`` until the
    registration is claimed through the test-control surface, then ``success:true``
    with the claimed data. Unknown ids get 404.

``GET /remotecontrol/claim/<id>`` (the ``claimLink``)
    A plain page for a person; claiming happens through ``/_emulator/``.

``GET /remotecontrol/certificates`` (the ``certificateUrl``)
    A JSON array of ``MiniServerCertificate`` (``KeepRemoteConnection.RefreshCertificatesAsync``).

The ``serverUrl`` handed out is ``wss://<host>/remotecontrol/agent`` on this console's
address; this service does not accept websocket connections.

Fault injection (503 rate, latency, 429 + Retry-After) applies to the register and
status endpoints.

Everything under ``/_emulator/`` is the test-control surface, which is **not part of
Duplicati** and has no authentication (bind the emulator to loopback):

* ``GET /_emulator/ledger[?machineId=&installId=&tokenName=&flow=]``
* ``GET /_emulator/tokens``, ``POST /_emulator/tokens`` ``{name?, value?, settings?}``,
  ``POST /_emulator/tokens/<name>/revoke``
* ``GET /_emulator/registrations``, ``POST /_emulator/registrations/<id>/claim``
  ``{settings?}``
* ``GET /_emulator/faults``, ``POST /_emulator/faults`` ``{error_rate?, latency?, rate_limit?}``
* ``POST /_emulator/verify`` ``{jwt}``: the claims of a machine token this console issued.
* ``GET /_emulator/requests``: every request this console received outside ``/_emulator/``,
  answered or not (``{count, requests: [{time, method, path, status, remoteAddress}]}``).
  A console started in place of Duplicati's default address (see the agent stand-in's
  ``DUPLICATI_EMULATOR_DEFAULT_REGISTRATION_URL``) tells with it whether anything reached it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import secrets

import jwt

from ..httpbase import EmulatorApp, Response
from .certificates import ServerCertificate
from .ledger import Ledger
from .machine_token import MachineTokenIssuer
from .registration import BadRequest, PendingRegistrations, validate_machine_data
from .tokens import ACTIVE, REVOKED, TokenError, TokenStore, check_settings

REGISTER_PATH = '/remotecontrol/register'
STATUS_PATH = '/remotecontrol/status/'
CLAIM_PATH = '/remotecontrol/claim/'
CERTIFICATES_PATH = '/remotecontrol/certificates'
AGENT_SOCKET_PATH = '/remotecontrol/agent'
TOKEN_PARAMETER = 'token'

MESSAGE_REGISTERED = 'Machine registered'
MESSAGE_REVOKED = 'The registration link has been revoked'
MESSAGE_UNKNOWN = 'The registration link is not valid'
MESSAGE_WAITING = 'The machine has not been claimed yet'
MESSAGE_EXPIRED = 'The registration has expired, restart the agent to register again'
MESSAGE_CLAIMED = 'Machine claimed'

_ID = r'([0-9a-f]{32})'
_NAME = r'([A-Za-z0-9][A-Za-z0-9._-]{0,63})'


class ConsoleApp(EmulatorApp):
    server_header = 'Kestrel'

    def __init__(self, faults=None, tokens=None, ledger=None, public_url=None, claim_retry_seconds=5,
                 claim_max_retries=100, claim_lifetime=3600, claim_settings=None, certificate=None):
        super(ConsoleApp, self).__init__(faults)
        self.tokens = tokens or TokenStore()
        self.ledger = ledger or Ledger()
        self.pending = PendingRegistrations()
        self.issuer = MachineTokenIssuer()
        self.certificate = certificate or ServerCertificate()
        self.public_url = public_url.rstrip('/') if public_url else None
        self.claim_retry_seconds = int(claim_retry_seconds)
        self.claim_max_retries = int(claim_max_retries)
        self.claim_lifetime = int(claim_lifetime)
        self.claim_settings = dict(claim_settings) if claim_settings else None

        self.route('POST', REGISTER_PATH, self.register)
        self.route('POST', STATUS_PATH + _ID, self.status)
        self.route('GET', CLAIM_PATH + _ID, self.claim_page, faults=False)
        self.route('GET', CERTIFICATES_PATH, self.certificates, faults=False)

        self.route('GET', '/_emulator/ledger', self.control_ledger, faults=False)
        self.route('GET', '/_emulator/tokens', self.control_tokens, faults=False)
        self.route('POST', '/_emulator/tokens', self.control_add_token, faults=False)
        self.route('POST', '/_emulator/tokens/%s/revoke' % _NAME, self.control_revoke_token, faults=False)
        self.route('GET', '/_emulator/registrations', self.control_registrations, faults=False)
        self.route('POST', '/_emulator/registrations/%s/claim' % _ID, self.control_claim, faults=False)
        self.route('GET', '/_emulator/faults', self.control_faults, faults=False)
        self.route('POST', '/_emulator/faults', self.control_set_faults, faults=False)
        self.route('POST', '/_emulator/verify', self.control_verify, faults=False)
        self.route('GET', '/_emulator/requests', self.control_requests, faults=False)

    # ---- helpers ---------------------------------------------------------------------

    def base_url(self, request):
        """The address the client used (``Host``), or ``--public-url``."""
        if self.public_url:
            return self.public_url
        host = request.header('Host') or '127.0.0.1'
        return 'http://%s' % host

    def _host(self, request):
        return self.base_url(request).split('://', 1)[1].split('/', 1)[0]

    def token_link(self, request, value):
        return '%s%s?%s=%s' % (self.base_url(request), REGISTER_PATH, TOKEN_PARAMETER, value)

    def _claimed_data(self, request, body, registration_id, token_name, settings):
        data = {
            'jwt': self.issuer.issue(body, registration_id, token_name),
            'serverUrl': 'wss://%s%s' % (self._host(request), AGENT_SOCKET_PATH),
            'certificateUrl': self.base_url(request) + CERTIFICATES_PATH,
            'serverCertificates': [self.certificate.mini()],
            'localEncryptionKey': secrets.token_hex(32),
        }
        if settings:
            data['settings'] = dict(settings)
        return data

    @staticmethod
    def _machine_data(request):
        try:
            body = request.json()
        except ValueError:
            raise BadRequest('the body is not JSON')
        return validate_machine_data(body)

    @staticmethod
    def _bad_request(exc):
        return Response.json({'statusMessage': 'Bad request: %s' % exc}, 400)

    @staticmethod
    def _control_body(request):
        try:
            body = request.json()
        except ValueError:
            raise BadRequest('the body is not JSON')
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise BadRequest('the body must be a JSON object')
        return body

    # ---- the console API the agent talks to ------------------------------------------

    def register(self, request):
        try:
            body = self._machine_data(request)
        except BadRequest as exc:
            return self._bad_request(exc)
        remote = request.client_address[0]
        token = body.get(TOKEN_PARAMETER)
        if token:
            state, record = self.tokens.lookup(token)
            if state != ACTIVE:
                name = record['name'] if record else None
                message = MESSAGE_REVOKED if state == REVOKED else MESSAGE_UNKNOWN
                self.ledger.reject(state, name, body, remote)
                return Response.json({'jwt': '', 'serverUrl': '', 'certificateUrl': '', 'serverCertificates': [],
                                      'localEncryptionKey': None, 'statusMessage': message})
            registration_id = secrets.token_hex(16)
            data = self._claimed_data(request, body, registration_id, record['name'], record['settings'])
            data['statusMessage'] = MESSAGE_REGISTERED
            self.ledger.record(registration_id, 'token', record['name'], body, remote)
            return Response.json(data)

        item = self.pending.add(body, self.claim_lifetime, remote)
        base = self.base_url(request)
        return Response.json({
            'claimLink': base + CLAIM_PATH + item.id,
            'statusLink': base + STATUS_PATH + item.id,
            'retrySeconds': self.claim_retry_seconds,
            'maxRetries': self.claim_max_retries,
            'maxLifetimeSeconds': self.claim_lifetime,
        })

    def status(self, request):
        try:
            self._machine_data(request)
        except BadRequest as exc:
            return self._bad_request(exc)
        item, first = self.pending.poll(request.match.group(1))
        if item is None:
            return Response.json({'success': False, 'statusMessage': 'No such registration'}, 404)
        envelope = {'success': False, 'statusMessage': MESSAGE_WAITING, 'jwt': None, 'serverUrl': None,
                    'certificateUrl': None, 'serverCertificates': None, 'localEncryptionKey': None, 'settings': None}
        if item.expired():
            envelope['statusMessage'] = MESSAGE_EXPIRED
        elif item.claimed is not None:
            envelope.update(item.claimed)
            envelope['success'] = True
            envelope['statusMessage'] = MESSAGE_CLAIMED
            if first:
                self.ledger.record(item.id, 'claim', None, item.body, item.remote_address)
        return Response.json(envelope)

    def claim_page(self, request):
        registration_id = request.match.group(1)
        page = ('<!DOCTYPE html><html><head><title>Claim machine</title></head><body>'
                '<p>Registration %s is waiting to be claimed. This emulated console claims it through '
                '<code>POST /_emulator/registrations/%s/claim</code>.</p></body></html>'
                % (html.escape(registration_id), html.escape(registration_id)))
        return Response(200, page.encode('utf-8'), 'text/html; charset=utf-8')

    def certificates(self, request):
        return Response.json([self.certificate.mini()])

    # ---- test-control surface (not part of Duplicati) --------------------------------

    def control_ledger(self, request):
        filters = {k: v for k, v in request.query.items()
                   if k in ('machineId', 'installId', 'instanceId', 'tokenName', 'flow', 'remoteAddress')}
        return Response.json(self.ledger.summary(**filters))

    def _token_view(self, request, record):
        view = {k: record[k] for k in ('name', 'value', 'state', 'created', 'revoked', 'settings')}
        view['link'] = self.token_link(request, record['value'])
        return view

    def control_tokens(self, request):
        return Response.json([self._token_view(request, r) for r in self.tokens.list()])

    def control_add_token(self, request):
        try:
            body = self._control_body(request)
            record = self.tokens.add(body.get('name'), body.get('value'), body.get('settings'))
        except (BadRequest, TokenError) as exc:
            return Response.json({'error': str(exc)}, 400)
        return Response.json(self._token_view(request, record), 201)

    def control_revoke_token(self, request):
        record = self.tokens.revoke(request.match.group(1))
        if record is None:
            return Response.json({'error': 'no token named %r' % request.match.group(1)}, 404)
        return Response.json(self._token_view(request, record))

    def control_registrations(self, request):
        base = self.base_url(request)
        items = self.pending.list()
        for item in items:
            item['claimLink'] = base + CLAIM_PATH + item['id']
            item['statusLink'] = base + STATUS_PATH + item['id']
        return Response.json(items)

    def control_claim(self, request):
        try:
            body = self._control_body(request)
            settings = body.get('settings', self.claim_settings)
            if settings is not None:
                check_settings(settings)
        except (BadRequest, TokenError) as exc:
            return Response.json({'error': str(exc)}, 400)

        def make_claimed(item):
            return self._claimed_data(request, item.body, item.id, None, settings)

        item, reason = self.pending.claim(request.match.group(1), make_claimed)
        if item is None:
            status = 404 if reason == 'unknown' else 409
            return Response.json({'error': 'cannot claim: the registration is %s' % reason}, status)
        return Response.json(item.view())

    def control_faults(self, request):
        f = self.faults
        return Response.json({'error_rate': f.error_rate, 'latency': f.latency, 'rate_limit': f.rate_limit,
                              'injected_503': f.injected_503, 'injected_429': f.injected_429})

    def control_set_faults(self, request):
        try:
            body = self._control_body(request)
            values = {}
            for key in ('error_rate', 'latency', 'rate_limit'):
                if body.get(key) is not None:
                    value = float(body[key])
                    if value < 0 or (key == 'error_rate' and value > 1):
                        raise BadRequest('%s out of range: %s' % (key, value))
                    values[key] = value
        except (BadRequest, TypeError, ValueError) as exc:
            return Response.json({'error': str(exc)}, 400)
        self.faults.configure(**values)
        return self.control_faults(request)

    def control_verify(self, request):
        try:
            body = self._control_body(request)
            token = body.get('jwt')
            if not isinstance(token, str) or not token:
                raise BadRequest('give the token as {"jwt": "..."}')
            claims = self.issuer.verify(token)
        except BadRequest as exc:
            return Response.json({'error': str(exc)}, 400)
        except jwt.InvalidTokenError as exc:
            return Response.json({'valid': False, 'error': str(exc)}, 400)
        return Response.json({'valid': True, 'claims': claims})

    def control_requests(self, request):
        with self.log_lock:
            entries = [entry for entry in self.log if not entry[2].startswith('/_emulator/')]
        requests = [{'time': entry[0], 'method': entry[1], 'path': entry[2], 'status': entry[3], 'remoteAddress': entry[4]}
                    for entry in entries]
        return Response.json({'count': len(requests), 'requests': requests})

    # ---- lifecycle -------------------------------------------------------------------

    def describe(self):
        return {'register_path': REGISTER_PATH, 'token_parameter': TOKEN_PARAMETER,
                'control_path': '/_emulator/', 'tokens': self.tokens.names(),
                'ledger_file': self.ledger.path, 'certificate_hash': self.certificate.public_key_hash}

    def close(self):
        self.ledger.close()
