# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HS256 tokens with Duplicati's key rule, cross-checked against PyJWT."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import hmac
import json
import time

import jwt as pyjwt
import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import jwt as djwt
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError, JWTError

SIGNING_KEY = base64.b64encode(bytes(range(32))).decode()  # a base64 SigningKey like JWTConfig.Create() makes
CONFIG = {
    'Authority': 'https://duplicati',
    'Audience': 'https://duplicati',
    'SigningKey': SIGNING_KEY,
    'AccessTokenDurationInMinutes': 15,
    'RefreshTokenDurationInMinutes': 43200,
    'RefreshTokenShortLivedDurationInMinutes': 120,
    'SigninTokenDurationInMinutes': 5,
    'SingleOperationTokenDurationInMinutes': 1,
    'MaxRefreshTokenDrift': 1,
    'MaxRefreshTokenDriftSeconds': 30,
    'RequireRefreshNonce': True,
    'PbkdfConfig': {'Algorithm': 'SHA256', 'Iterations': 10000, 'Salt': '', 'Hash': None},
}
NOW = 1767225600  # 2026-01-01T00:00:00Z


def _segments(token):
    return [base64.urlsafe_b64decode(part + '=' * (-len(part) % 4)) for part in token.split('.')]


def _claims(**extra):
    claims = {'typ': 'AccessToken', 'sid': 'server-cli', 'fam': 'temporary', 'nbf': NOW, 'exp': NOW + 900,
              'iss': 'https://duplicati', 'aud': 'https://duplicati'}
    claims.update(extra)
    return claims


def test_key_is_the_utf8_of_the_base64_text_not_its_decoded_bytes():
    token = djwt.encode(_claims(), SIGNING_KEY)
    signing_input = token.rsplit('.', 1)[0].encode()
    signature = _segments(token)[2]
    assert signature == hmac.new(SIGNING_KEY.encode('utf-8'), signing_input, hashlib.sha256).digest()
    assert signature != hmac.new(base64.b64decode(SIGNING_KEY), signing_input, hashlib.sha256).digest()


def test_our_token_verifies_in_pyjwt():
    token = djwt.encode(_claims(), SIGNING_KEY)
    claims = pyjwt.decode(token, key=SIGNING_KEY.encode(), algorithms=['HS256'], audience='https://duplicati',
                          issuer='https://duplicati', options={'verify_exp': False, 'verify_nbf': False})
    assert claims == _claims()
    assert pyjwt.get_unverified_header(token) == {'alg': 'HS256', 'typ': 'JWT'}


def test_pyjwt_token_verifies_in_ours():
    token = pyjwt.encode(_claims(), SIGNING_KEY.encode(), algorithm='HS256')
    assert djwt.decode(token, SIGNING_KEY, now=NOW + 10) == _claims()


def test_pyjwt_token_with_audience_list_verifies():
    token = pyjwt.encode(_claims(aud=['other', 'https://duplicati']), SIGNING_KEY.encode(), algorithm='HS256')
    assert djwt.decode(token, SIGNING_KEY, now=NOW)['sid'] == 'server-cli'


def test_token_signed_with_decoded_key_is_rejected():
    token = pyjwt.encode(_claims(), base64.b64decode(SIGNING_KEY), algorithm='HS256')
    with pytest.raises(JWTError, match='signature'):
        djwt.decode(token, SIGNING_KEY, now=NOW)


def test_wrong_key_is_rejected():
    token = djwt.encode(_claims(), SIGNING_KEY)
    with pytest.raises(JWTError, match='signature') as err:
        djwt.decode(token, base64.b64encode(b'\x01' * 32).decode(), now=NOW)
    assert isinstance(err.value, DuplicatiError) and err.value.hint


@pytest.mark.parametrize('segment', [0, 1, 2])
def test_tampered_tokens_are_rejected(segment):
    token = djwt.encode(_claims(), SIGNING_KEY)
    parts = token.split('.')
    if segment == 1:
        payload = json.loads(_segments(token)[1])
        payload['sid'] = 'webserver'
        parts[1] = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b'=').decode()
    else:
        # the first character carries six whole bits, so changing it always changes the bytes
        parts[segment] = ('B' if parts[segment][0] == 'A' else 'A') + parts[segment][1:]
    with pytest.raises(JWTError):
        djwt.decode('.'.join(parts), SIGNING_KEY, now=NOW)
    with pytest.raises(pyjwt.InvalidTokenError):
        pyjwt.decode('.'.join(parts), key=SIGNING_KEY.encode(), algorithms=['HS256'], audience='https://duplicati',
                     options={'verify_exp': False, 'verify_nbf': False})


@pytest.mark.parametrize('header', [{'alg': 'none', 'typ': 'JWT'}, {'alg': 'HS512', 'typ': 'JWT'}, {'typ': 'JWT'}])
def test_other_algorithms_are_rejected(header):
    head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b'=').decode()
    body = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b'=').decode()
    sig = base64.urlsafe_b64encode(hmac.new(SIGNING_KEY.encode(), (head + '.' + body).encode(), hashlib.sha256).digest())
    with pytest.raises(JWTError, match='algorithm'):
        djwt.decode(head + '.' + body + '.' + sig.rstrip(b'=').decode(), SIGNING_KEY, now=NOW)


def test_lifetime_with_five_seconds_of_skew():
    token = djwt.encode(_claims(), SIGNING_KEY)
    assert djwt.decode(token, SIGNING_KEY, now=NOW + 900 + 5)
    with pytest.raises(JWTError, match='expired'):
        djwt.decode(token, SIGNING_KEY, now=NOW + 900 + 6)
    assert djwt.decode(token, SIGNING_KEY, now=NOW - 5)
    with pytest.raises(JWTError, match='not valid yet'):
        djwt.decode(token, SIGNING_KEY, now=NOW - 6)
    with pytest.raises(JWTError, match='expired'):
        djwt.decode(token, SIGNING_KEY, now=NOW + 901, leeway=0)


def test_expired_pyjwt_token_is_rejected_by_both():
    token = pyjwt.encode(_claims(nbf=int(time.time()) - 120, exp=int(time.time()) - 60), SIGNING_KEY.encode(), algorithm='HS256')
    with pytest.raises(JWTError, match='expired'):
        djwt.decode(token, SIGNING_KEY)
    with pytest.raises(pyjwt.ExpiredSignatureError):
        pyjwt.decode(token, key=SIGNING_KEY.encode(), algorithms=['HS256'], audience='https://duplicati')


def test_exp_is_required():
    claims = _claims()
    del claims['exp']
    with pytest.raises(JWTError, match="'exp'"):
        djwt.decode(djwt.encode(claims, SIGNING_KEY), SIGNING_KEY, now=NOW)
    with pytest.raises(JWTError, match="'exp'"):
        djwt.decode(djwt.encode(_claims(exp='soon'), SIGNING_KEY), SIGNING_KEY, now=NOW)


@pytest.mark.parametrize('claims, message', [
    (_claims(aud='https://elsewhere'), 'audience'),
    (_claims(aud=['a', 'b']), 'audience'),
    (_claims(iss='https://elsewhere'), 'issuer'),
])
def test_wrong_issuer_or_audience(claims, message):
    token = djwt.encode(claims, SIGNING_KEY)
    with pytest.raises(JWTError, match=message):
        djwt.decode(token, SIGNING_KEY, now=NOW)
    if message == 'audience':
        with pytest.raises(pyjwt.InvalidAudienceError):
            pyjwt.decode(token, key=SIGNING_KEY.encode(), algorithms=['HS256'], audience='https://duplicati',
                         options={'verify_exp': False, 'verify_nbf': False})


def test_issuer_and_audience_checks_can_be_disabled():
    token = djwt.encode(_claims(iss='x', aud='y'), SIGNING_KEY)
    assert djwt.decode(token, SIGNING_KEY, issuer=None, audience=None, now=NOW)['iss'] == 'x'
    assert djwt.decode(token, SIGNING_KEY, issuer='x', audience='y', now=NOW)['aud'] == 'y'


@pytest.mark.parametrize('token', ['', 'abc', 'a.b', 'a.b.c.d', '!!.??.##', 'e30.e30', 'W10.e30.AAAA', 'e30.W10.AAAA', None, 42])
def test_malformed_tokens(token):
    with pytest.raises(JWTError):
        djwt.decode(token, SIGNING_KEY, now=NOW)


def test_unverified_claims_reads_without_the_key():
    token = pyjwt.encode(_claims(exp=NOW + 1), b'some other key of enough length 32', algorithm='HS256')
    assert djwt.unverified_claims(token)['exp'] == NOW + 1
    with pytest.raises(JWTError, match='malformed'):
        djwt.unverified_claims('not a token')


def test_signin_token_matches_create_signin_token():
    token = djwt.signin_token(CONFIG, now=NOW + 0.75)
    header, payload, dummy = token.split('.')
    assert json.loads(_segments(token)[0]) == {'alg': 'HS256', 'typ': 'JWT'}
    # claim order and types as JwtSecurityToken writes them: custom claims, then nbf, exp, iss, aud
    assert _segments(token)[1] == (
        b'{"typ":"SigninToken","sid":"server-cli","nbf":%d,"exp":%d,"iss":"https://duplicati","aud":"https://duplicati"}'
        % (NOW, NOW + 300))
    claims = pyjwt.decode(token, key=SIGNING_KEY.encode(), algorithms=['HS256'], audience='https://duplicati',
                          issuer='https://duplicati', options={'verify_exp': False, 'verify_nbf': False})
    assert claims['typ'] == djwt.TOKEN_TYPE_SIGNIN and claims['sid'] == djwt.USER_SERVER_CLI
    assert djwt.decode(token, SIGNING_KEY, now=NOW + 60)[djwt.CLAIM_TYPE] == 'SigninToken'


def test_signin_token_uses_the_configured_lifetime_issuer_and_user():
    config = dict(CONFIG, SigninTokenDurationInMinutes=2, Authority='https://a', Audience='https://b')
    claims = json.loads(_segments(djwt.signin_token(config, user_id='trayicon', now=NOW))[1])
    assert claims == {'typ': 'SigninToken', 'sid': 'trayicon', 'nbf': NOW, 'exp': NOW + 120,
                      'iss': 'https://a', 'aud': 'https://b'}


def test_signin_token_defaults_to_five_minutes_and_accepts_json_text():
    config = dict(CONFIG)
    del config['SigninTokenDurationInMinutes']
    claims = json.loads(_segments(djwt.signin_token(json.dumps(config), now=NOW))[1])
    assert claims['exp'] - claims['nbf'] == 300


def test_signin_token_is_fresh_by_default():
    claims = djwt.decode(djwt.signin_token(CONFIG), SIGNING_KEY)
    assert abs(claims['nbf'] - time.time()) < 5


@pytest.mark.parametrize('config', [
    {}, {'Authority': 'https://duplicati', 'Audience': 'https://duplicati'},
    dict(CONFIG, SigningKey=''), dict(CONFIG, SigninTokenDurationInMinutes=0),
    dict(CONFIG, SigninTokenDurationInMinutes='5'), 'not json', '[1]', None,
    # JsonSerializer is case-sensitive: camelCase keys do not bind
    {'authority': 'https://duplicati', 'audience': 'https://duplicati', 'signingKey': SIGNING_KEY},
])
def test_signin_token_rejects_bad_configs(config):
    with pytest.raises(JWTError):
        djwt.signin_token(config, now=NOW)


def test_constants():
    assert (djwt.CLAIM_TYPE, djwt.CLAIM_USER_ID, djwt.CLAIM_FAMILY, djwt.CLAIM_COUNTER, djwt.CLAIM_ISSUED_AT,
            djwt.CLAIM_OPERATION, djwt.CLAIM_NONCE) == ('typ', 'sid', 'fam', 'cnt', 'iat', 'sop', 'nce')
    assert djwt.TOKEN_TYPES == ('AccessToken', 'RefreshToken', 'SigninToken', 'SingleOperationToken')
    assert djwt.TEMPORARY_FAMILY == 'temporary'


def test_encode_rejects_bad_input():
    with pytest.raises(JWTError):
        djwt.encode(['not', 'a', 'dict'], SIGNING_KEY)
    with pytest.raises(JWTError):
        djwt.encode(_claims(), '')
    with pytest.raises(JWTError):
        djwt.encode(_claims(), b'bytes')
