# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HS256 JSON Web Tokens the way the Duplicati server mints and checks them.

Source: ``Duplicati/WebserverCore/Middlewares/JWTProvider.cs``.

* The HMAC key is the **UTF-8 bytes of the base64 ``SigningKey`` string** from the
  server's ``jwt-config``, not its decoded bytes (``Encoding.UTF8.GetBytes(SigningKey)``).
* ``iss`` and ``aud`` are ``https://duplicati``; every token has ``nbf`` and ``exp``
  (whole seconds since the epoch) and the custom claims in ``CLAIM_*``.
* Validation: issuer, audience, lifetime (``exp`` required) with 5 seconds of clock skew.

Holding the signing key (readable from the server database) is enough to mint a sign-in
token, which is what ServerUtil does (``signin_token``).
"""


import base64
import binascii
import hashlib
import hmac
import json
import re
import time

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import JWTError

ALGORITHM = 'HS256'
ISSUER = 'https://duplicati'
AUDIENCE = 'https://duplicati'
#: ``ClockSkew`` of the server's token validation.
CLOCK_SKEW_SECONDS = 5

# Custom claims (JWTTokenProvider.Claims)
CLAIM_TYPE = 'typ'
CLAIM_USER_ID = 'sid'
CLAIM_FAMILY = 'fam'
CLAIM_COUNTER = 'cnt'
CLAIM_ISSUED_AT = 'iat'
CLAIM_OPERATION = 'sop'
CLAIM_NONCE = 'nce'
# Registered claims
CLAIM_ISSUER = 'iss'
CLAIM_AUDIENCE = 'aud'
CLAIM_NOT_BEFORE = 'nbf'
CLAIM_EXPIRES = 'exp'

# Token types (the value of the ``typ`` claim)
TOKEN_TYPE_ACCESS = 'AccessToken'
TOKEN_TYPE_REFRESH = 'RefreshToken'
TOKEN_TYPE_SIGNIN = 'SigninToken'
TOKEN_TYPE_SINGLE_OPERATION = 'SingleOperationToken'
TOKEN_TYPES = (TOKEN_TYPE_ACCESS, TOKEN_TYPE_REFRESH, TOKEN_TYPE_SIGNIN, TOKEN_TYPE_SINGLE_OPERATION)

# User ids (the value of the ``sid`` claim)
USER_WEBSERVER = 'webserver'
USER_SERVER_CLI = 'server-cli'
USER_WEB_API = 'web-api'
USER_REMOTE_CONTROL = 'remote-control'
USER_FOREVER_TOKEN = 'forever-token'
#: The token family that needs no TokenFamily row (forever and remote-control tokens).
TEMPORARY_FAMILY = 'temporary'

# JWTConfig defaults, in minutes
DEFAULT_ACCESS_TOKEN_MINUTES = 15
DEFAULT_REFRESH_TOKEN_MINUTES = 60 * 24 * 30
DEFAULT_SIGNIN_TOKEN_MINUTES = 5
DEFAULT_SINGLE_OPERATION_TOKEN_MINUTES = 1

_HEADER = {'alg': ALGORITHM, 'typ': 'JWT'}
_BASE64URL = re.compile(r'\A[A-Za-z0-9_-]+\Z')


def _b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _b64decode(text, what):
    if not isinstance(text, str) or len(text) % 4 == 1 or not _BASE64URL.match(text):
        raise JWTError('The token is malformed: its %s is not base64url' % what)
    try:
        return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JWTError('The token is malformed: its %s is not base64url' % what)


def _json_segment(text, what):
    try:
        value = json.loads(_b64decode(text, what).decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        raise JWTError('The token is malformed: its %s is not JSON' % what)
    if not isinstance(value, dict):
        raise JWTError('The token is malformed: its %s is not a JSON object' % what)
    return value


def _key_bytes(signing_key):
    if not isinstance(signing_key, str) or not signing_key:
        raise JWTError('The JWT signing key must be a non-empty string (the SigningKey of the jwt-config)')
    return signing_key.encode('utf-8')


def _sign(signing_input, signing_key):
    return hmac.new(_key_bytes(signing_key), signing_input.encode('ascii'), hashlib.sha256).digest()


def _dumps(value):
    return json.dumps(value, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def encode(claims, signing_key):
    """Sign ``claims`` (a dict, serialized in its own order) as an HS256 token with Duplicati's key rule."""
    if not isinstance(claims, dict):
        raise JWTError('JWT claims must be a dict, not %s' % type(claims).__name__)
    signing_input = _b64encode(_dumps(_HEADER)) + '.' + _b64encode(_dumps(claims))
    return signing_input + '.' + _b64encode(_sign(signing_input, signing_key))


def _split(token):
    if not isinstance(token, str):
        raise JWTError('The token must be a string, not %s' % type(token).__name__)
    parts = token.split('.')
    if len(parts) != 3:
        raise JWTError('The token is malformed: it has %d dot-separated parts, not 3' % len(parts))
    return parts


def unverified_claims(token):
    """The claims of ``token`` WITHOUT checking its signature or lifetime (e.g. to read ``exp`` for renewal)."""
    return _json_segment(_split(token)[1], 'payload')


def _number(claims, name):
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JWTError('The token is invalid: the %r claim is %s, not a number' % (name, 'missing' if value is None else repr(value)))
    return value


def decode(token, signing_key, issuer=ISSUER, audience=AUDIENCE, leeway=CLOCK_SKEW_SECONDS, now=None):
    """Verify ``token`` as the Duplicati server does and return its claims.

    Checks: the algorithm is HS256, the signature (key = UTF-8 of ``signing_key``), ``iss``
    (unless ``issuer`` is None), ``aud`` (unless ``audience`` is None), ``exp`` (required)
    and ``nbf`` (when present), each with ``leeway`` seconds. ``now`` is seconds since the
    epoch (default: the current time). Raises ``JWTError`` naming the failed check.
    """
    header_b64, payload_b64, signature_b64 = _split(token)
    header = _json_segment(header_b64, 'header')
    if header.get('alg') != ALGORITHM:
        raise JWTError('The token is rejected: its algorithm is %r, only %s is accepted' % (header.get('alg'), ALGORITHM))
    signature = _b64decode(signature_b64, 'signature')
    if not hmac.compare_digest(signature, _sign(header_b64 + '.' + payload_b64, signing_key)):
        raise JWTError('The token signature does not verify: wrong signing key, or the token was altered',
                       hint='Use the SigningKey of the server the token came from.')
    claims = _json_segment(payload_b64, 'payload')

    if issuer is not None and claims.get(CLAIM_ISSUER) != issuer:
        raise JWTError('The token is rejected: issuer %r is not %r' % (claims.get(CLAIM_ISSUER), issuer))
    if audience is not None:
        aud = claims.get(CLAIM_AUDIENCE)
        audiences = aud if isinstance(aud, list) else [aud]
        if audience not in audiences:
            raise JWTError('The token is rejected: audience %r is not %r' % (aud, audience))

    now = time.time() if now is None else now
    expires = _number(claims, CLAIM_EXPIRES)
    if now > expires + leeway:
        raise JWTError('The token has expired (%d seconds ago)' % int(now - expires),
                       hint='Log in again to get a fresh token.')
    if CLAIM_NOT_BEFORE in claims:
        not_before = _number(claims, CLAIM_NOT_BEFORE)
        if now + leeway < not_before:
            raise JWTError('The token is not valid yet (valid from %d seconds from now)' % int(not_before - now),
                           hint='Check that the clocks of this host and the server agree.')
    return claims


def _parse_config(jwt_config):
    if isinstance(jwt_config, (str, bytes)):
        try:
            jwt_config = json.loads(jwt_config)
        except ValueError:
            raise JWTError('The jwt-config is not valid JSON')
    if not isinstance(jwt_config, dict):
        raise JWTError('The jwt-config must be a JSON object')
    for name in ('Authority', 'Audience', 'SigningKey'):
        value = jwt_config.get(name)
        if not isinstance(value, str) or not value:
            raise JWTError('The jwt-config has no %s (it must hold Authority, Audience and SigningKey)' % name,
                           hint='Read the jwt-config of a server that has started at least once.')
    minutes = jwt_config.get('SigninTokenDurationInMinutes', DEFAULT_SIGNIN_TOKEN_MINUTES)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        raise JWTError('The jwt-config has an invalid SigninTokenDurationInMinutes: %r' % (minutes,))
    return jwt_config, minutes


def signin_token(jwt_config, user_id=USER_SERVER_CLI, now=None):
    """Mint a sign-in token exactly as ``JWTTokenProvider.CreateSigninToken`` does.

    :param jwt_config: the server's ``jwt-config`` setting, parsed (PascalCase keys) or as JSON text.
    :param user_id: the ``sid`` claim; ServerUtil uses ``server-cli``.
    :param now: seconds since the epoch (default: the current time).

    Claims, in the server's order: ``typ`` = SigninToken, ``sid``, ``nbf`` = now,
    ``exp`` = now + SigninTokenDurationInMinutes (default 5), ``iss`` = Authority,
    ``aud`` = Audience. Exchange it at ``POST /api/v1/auth/signin``.
    """
    config, minutes = _parse_config(jwt_config)
    if not isinstance(user_id, str) or not user_id:
        raise JWTError('The sign-in token user id must be a non-empty string')
    now = time.time() if now is None else now
    claims = {
        CLAIM_TYPE: TOKEN_TYPE_SIGNIN,
        CLAIM_USER_ID: user_id,
        CLAIM_NOT_BEFORE: int(now),
        CLAIM_EXPIRES: int(now + minutes * 60),
        CLAIM_ISSUER: config['Authority'],
        CLAIM_AUDIENCE: config['Audience'],
    }
    return encode(claims, config['SigningKey'])
