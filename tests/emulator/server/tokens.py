# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JWTs and password hashes as the real server makes them
(``Duplicati/WebserverCore/Middlewares/JWTProvider.cs``, ``Duplicati/Library/RestAPI/Database/PbkdfConfig.cs``).

* ``JWTConfig`` is stored as PascalCase JSON in the server setting ``jwt-config``; the
  HMAC-SHA256 key is the UTF-8 bytes of the base64 ``SigningKey`` string.
* Claims: ``typ`` (AccessToken/RefreshToken/SigninToken/SingleOperationToken), ``sid``,
  ``fam``, ``cnt`` (a string), ``iat`` (refresh tokens only, a string of seconds),
  ``sop``, ``nce`` (PBKDF2-SHA256 of the refresh nonce with the config's salt); ``iss``
  = ``aud`` = ``https://duplicati``; ``nbf`` and ``exp``. Validation allows 5 s skew.
* ``PbkdfConfig``: PBKDF2-HMAC-SHA256, 10000 iterations, 32-byte hash; ``HashAlorithm``
  is misspelt as in the real record.
"""

import base64
import hashlib
import hmac
import secrets
import time

import jwt

from . import dotnet_json

TEMPORARY_FAMILY_ID = 'temporary'
FOREVER_TOKEN_USER_ID = 'forever-token'
CLOCK_SKEW_SECONDS = 5


class TokenError(Exception):
    """A token failed validation. ``expired`` tells a lifetime failure apart."""

    def __init__(self, message, expired=False):
        super(TokenError, self).__init__(message)
        self.expired = expired


def pbkdf_default():
    return {'Algorithm': 'PBKDF2', 'Version': 1, 'Salt': '', 'Iterations': 10000, 'HashAlorithm': 'SHA256', 'Hash': ''}


def _pbkdf2(config, secret):
    salt = base64.b64decode(config.get('Salt') or '')
    name = (config.get('HashAlorithm') or 'SHA256').lower()
    return hashlib.pbkdf2_hmac(name, secret.encode('utf-8'), salt, int(config.get('Iterations') or 10000), 32)


def pbkdf_create(password):
    """PbkdfConfig.CreatePBKDF2: a new random 32-byte salt and the hash of ``password``."""
    config = pbkdf_default()
    config['Salt'] = base64.b64encode(secrets.token_bytes(32)).decode('ascii')
    config['Hash'] = base64.b64encode(_pbkdf2(config, password)).decode('ascii')
    return config


def pbkdf_hash(config, secret):
    return base64.b64encode(_pbkdf2(config, secret)).decode('ascii')


def pbkdf_verify(config, secret, expected_hash=None):
    expected = base64.b64decode(expected_hash if expected_hash is not None else config.get('Hash') or '')
    return hmac.compare_digest(expected, _pbkdf2(config, secret))


def legacy_prepare_password(password, legacy_salt):
    """ServerSettings.LegacyPreparePassword: base64(SHA256(UTF8(pw) || b64dec(salt))) when a legacy salt is set."""
    if not legacy_salt or not legacy_salt.strip():
        return password
    digest = hashlib.sha256(password.encode('utf-8') + base64.b64decode(legacy_salt)).digest()
    return base64.b64encode(digest).decode('ascii')


def jwt_config_create():
    """JWTConfig.Create(): defaults plus a random 32-byte base64 SigningKey, in declaration order."""
    return {
        'Authority': 'https://duplicati',
        'Audience': 'https://duplicati',
        'SigningKey': base64.b64encode(secrets.token_bytes(32)).decode('ascii'),
        'AccessTokenDurationInMinutes': 15,
        'RefreshTokenDurationInMinutes': 60 * 24 * 30,
        'RefreshTokenShortLivedDurationInMinutes': 60 * 2,
        'SigninTokenDurationInMinutes': 5,
        'SingleOperationTokenDurationInMinutes': 1,
        'MaxRefreshTokenDrift': 1,
        'MaxRefreshTokenDriftSeconds': 30,
        'RequireRefreshNonce': True,
        'PbkdfConfig': pbkdf_default(),
    }


def jwt_config_serialize(config):
    return dotnet_json.dumps(config)


_CONFIG_DEFAULTS = jwt_config_create()


def jwt_config_load(text):
    """Deserialize a stored jwt-config (missing members take the record defaults, as System.Text.Json does)."""
    import json
    loaded = json.loads(text)
    config = {}
    for name, default in _CONFIG_DEFAULTS.items():
        if name == 'SigningKey':
            config[name] = loaded.get(name)
        else:
            config[name] = loaded.get(name, default)
    if not config.get('PbkdfConfig'):
        config['PbkdfConfig'] = pbkdf_default()
    return config


class TokenProvider(object):
    """JWTTokenProvider over a JWTConfig dict."""

    def __init__(self, config):
        self.config = config
        self._key = config['SigningKey'].encode('utf-8')

    def _generate(self, claims, lifetime_seconds):
        now = int(time.time())
        payload = dict(claims)
        payload.update({'nbf': now, 'exp': now + int(lifetime_seconds), 'iss': self.config['Authority'], 'aud': self.config['Audience']})
        return jwt.encode(payload, self._key, algorithm='HS256', headers={'typ': 'JWT'})

    def create_access_token(self, user_id, family_id):
        return self._generate({'typ': 'AccessToken', 'sid': user_id, 'fam': family_id}, self.config['AccessTokenDurationInMinutes'] * 60)

    def create_forever_token(self):
        return self._generate({'typ': 'AccessToken', 'sid': FOREVER_TOKEN_USER_ID, 'fam': TEMPORARY_FAMILY_ID}, 10 * 365.25 * 86400)

    def create_signin_token(self, user_id):
        return self._generate({'typ': 'SigninToken', 'sid': user_id}, self.config['SigninTokenDurationInMinutes'] * 60)

    def create_single_operation_token(self, user_id, operation):
        return self._generate({'typ': 'SingleOperationToken', 'sid': user_id, 'sop': operation},
                              self.config['SingleOperationTokenDurationInMinutes'] * 60)

    def create_refresh_token(self, user_id, family_id, counter, short_lived):
        """(token, nonce); the nonce is None only when neither short-lived nor RequireRefreshNonce."""
        claims = {'typ': 'RefreshToken', 'sid': user_id, 'fam': family_id, 'cnt': str(counter), 'iat': '%.7f' % time.time()}
        nonce = None
        if short_lived or self.config.get('RequireRefreshNonce', True):
            nonce = base64.b64encode(secrets.token_bytes(32)).decode('ascii')
            claims['nce'] = pbkdf_hash(self.config['PbkdfConfig'], nonce)
        minutes = self.config['RefreshTokenShortLivedDurationInMinutes'] if short_lived else self.config['RefreshTokenDurationInMinutes']
        return self._generate(claims, minutes * 60), nonce

    def validate(self, token, token_type=None):
        """The claims of a valid token (signature, iss, aud, nbf, exp with 5 s skew), else TokenError."""
        try:
            claims = jwt.decode(token, self._key, algorithms=['HS256'], audience=self.config['Audience'], issuer=self.config['Authority'],
                                leeway=CLOCK_SKEW_SECONDS, options={'require': ['exp'], 'verify_iat': False})
        except jwt.ExpiredSignatureError:
            raise TokenError('The token is expired', expired=True)
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc))
        if token_type is not None and claims.get('typ') != token_type:
            raise TokenError('Invalid token type')
        return claims

    def read_refresh_token(self, token, nonce):
        claims = self.validate(token, 'RefreshToken')
        if 'nce' in claims and not pbkdf_verify(self.config['PbkdfConfig'], nonce or '', claims['nce']):
            raise TokenError('Refresh nonce does not match the expected value')
        try:
            claims['cnt'] = int(claims['cnt'])
        except (KeyError, TypeError, ValueError):
            raise TokenError('Invalid refresh token')
        return claims
