# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Authentication of the emulated server, checked against Auth.cs, LoginProvider.cs and JWTProvider.cs (Duplicati/WebserverCore)."""

import json
import sqlite3
import time

import jwt
import pytest

from ansible_collections.duplicati.fleet.tests.emulator.server.testing import running_server

PW = 'correct horse battery'


def _refresh(srv, cookie, nonce, name=None):
    name = name or 'RefreshToken_%d' % srv.port
    body = {'Nonce': nonce} if nonce is not None else None
    return srv.request('POST', '/api/v1/auth/refresh', json_body=body, headers={'Cookie': '%s=%s' % (name, cookie)})


def _cookie_value(reply):
    first = reply.cookies()[0]
    return first.split(';')[0].split('=', 1)[1]


def _jwt_config(srv):
    conn = sqlite3.connect(srv.app.db.path)
    try:
        value = conn.execute("SELECT Value FROM Option WHERE BackupID = -2 AND Name = 'jwt-config'").fetchone()[0]
    finally:
        conn.close()
    return json.loads(value)


def test_login_bad_password_gives_exact_401_body():
    # LoginProvider.cs: a bad password gives 401 {Error:"Failed to log in",Code:401}
    with running_server('--webservice-password', PW) as srv:
        reply = srv.request('POST', '/api/v1/auth/login', json_body={'Password': 'nope'})
        assert reply.status == 401
        assert reply.body == b'{"Error":"Failed to log in","Code":401}'
        assert reply.header('Content-Type') == 'application/json'
        assert reply.cookies() == []


def test_login_gives_tokens_and_refresh_cookie_with_real_attributes():
    # Auth.cs (GetCookieName) refresh cookie: RefreshToken_<port>, Path=/api/v1/auth/refresh, HttpOnly, SameSite=Strict, Domain=<host>
    with running_server('--webservice-password', PW) as srv:
        reply = srv.login(PW, remember=True)
        body = reply.json()
        assert list(body) == ['AccessToken', 'RefreshNonce']
        cookie = reply.cookies()[0]
        assert cookie.startswith('RefreshToken_%d=' % srv.port)
        attrs = [a.strip().lower() for a in cookie.split(';')[1:]]
        assert 'path=/api/v1/auth/refresh' in attrs and 'httponly' in attrs and 'samesite=strict' in attrs
        assert 'domain=127.0.0.1' in attrs and 'secure' not in attrs
        assert any(a.startswith('expires=') and a.endswith('gmt') for a in attrs)
        claims = jwt.decode(body['AccessToken'], options={'verify_signature': False})
        assert claims['typ'] == 'AccessToken' and claims['sid'] == 'webserver'
        assert claims['iss'] == claims['aud'] == 'https://duplicati'
        assert claims['exp'] - claims['nbf'] == 15 * 60  # JWTConfig.AccessTokenDurationInMinutes: 15 min
        refresh = jwt.decode(_cookie_value(reply), options={'verify_signature': False, 'verify_iat': False})
        assert refresh['typ'] == 'RefreshToken' and isinstance(refresh['cnt'], str) and isinstance(refresh['iat'], str)
        assert refresh['exp'] - refresh['nbf'] == 30 * 24 * 60 * 60  # RememberMe: 30 days
        assert 'nce' in refresh


def test_short_lived_refresh_token_without_remember_me():
    # JWTConfig.RefreshTokenShortLivedDurationInMinutes: RememberMe false or absent gives a short-lived (120 min) refresh token
    with running_server('--webservice-password', PW) as srv:
        refresh = jwt.decode(_cookie_value(srv.login(PW)), options={'verify_signature': False, 'verify_iat': False})
        assert refresh['exp'] - refresh['nbf'] == 120 * 60


def test_refresh_rotates_and_requires_nonce():
    # Auth.cs auth/refresh rotates the token; 2.2+ requires the last RefreshNonce; JWTTokenProvider.CreateRefreshToken: nce = PBKDF2 of the nonce
    with running_server('--webservice-password', PW) as srv:
        first = srv.login(PW, remember=True)
        token, nonce = _cookie_value(first), first.json()['RefreshNonce']
        assert _refresh(srv, token, None).status == 401
        wrong = _refresh(srv, token, 'AAAA' + nonce[4:])
        assert wrong.status == 401 and wrong.json() == {'Error': 'Failed to refresh token', 'Code': 401}
        ok = _refresh(srv, token, nonce)
        assert ok.status == 200
        new_token, new_nonce = _cookie_value(ok), ok.json()['RefreshNonce']
        assert new_token != token and new_nonce != nonce
        old = jwt.decode(token, options={'verify_signature': False, 'verify_iat': False})
        new = jwt.decode(new_token, options={'verify_signature': False, 'verify_iat': False})
        assert int(new['cnt']) == int(old['cnt']) + 1 and new['fam'] == old['fam']
        assert srv.request('GET', '/api/v1/backups', headers={'Authorization': 'Bearer ' + ok.json()['AccessToken']}).status == 200


def test_refresh_without_cookie():
    with running_server('--webservice-password', PW) as srv:
        reply = srv.request('POST', '/api/v1/auth/refresh', json_body={'Nonce': 'x'})
        assert reply.status == 401
        assert reply.json() == {'Error': 'Authorization failed due to missing cookie.', 'Code': 401}


def test_stale_refresh_token_kills_the_family():
    # LoginProvider: a counter behind by more than the drift (outside 30 s: drift 0) invalidates the family
    with running_server('--webservice-password', PW) as srv:
        first = srv.login(PW, remember=True)
        token, nonce = _cookie_value(first), first.json()['RefreshNonce']
        second = _refresh(srv, token, nonce)
        assert second.status == 200
        # inside the 30 s window one step of drift is tolerated: the old token works once more
        again = _refresh(srv, token, nonce)
        assert again.status == 200
        # now two behind: re-use detected, the family is gone, even the newest token fails
        replay = _refresh(srv, token, nonce)
        assert replay.status == 401
        newest = _refresh(srv, _cookie_value(again), again.json()['RefreshNonce'])
        assert newest.status == 401
        assert srv.app.db.count_token_families() == 0


def test_logout_invalidates_family_only_with_valid_nonce_and_always_deletes_cookie():
    # Auth.cs auth/refresh/logout; ServerUtil Commands/Logout.cs sends no nonce, so its logout invalidates nothing
    with running_server('--webservice-password', PW) as srv:
        login = srv.login(PW, remember=True)
        token, nonce = _cookie_value(login), login.json()['RefreshNonce']
        cookie = {'Cookie': 'RefreshToken_%d=%s' % (srv.port, token)}
        access = {'Authorization': 'Bearer ' + login.json()['AccessToken']}
        no_nonce = srv.request('POST', '/api/v1/auth/refresh/logout', headers=cookie)
        assert no_nonce.status == 200 and no_nonce.json() == {'success': True}
        deleted = no_nonce.cookies()[0]
        assert deleted.startswith('RefreshToken_%d=;' % srv.port) and 'expires=Thu, 01 Jan 1970 00:00:00 GMT' in deleted
        assert 'path=/api/v1/auth/refresh' in deleted
        assert srv.app.db.count_token_families() == 1
        assert srv.request('GET', '/api/v1/backups', headers=access).status == 200
        with_nonce = srv.request('POST', '/api/v1/auth/refresh/logout', json_body={'Nonce': nonce}, headers=cookie)
        assert with_nonce.json() == {'success': True}
        assert srv.app.db.count_token_families() == 0
        # the access token of a deleted family makes the real auth middleware throw: a bare 500
        revoked = srv.request('GET', '/api/v1/backups', headers=access)
        assert revoked.status == 500 and revoked.body == b''


def test_missing_or_bad_bearer_gets_401_challenge():
    with running_server('--webservice-password', PW) as srv:
        none = srv.request('GET', '/api/v1/backups')
        assert none.status == 401 and none.body == b'' and none.header('WWW-Authenticate') == 'Bearer'
        bad = srv.request('GET', '/api/v1/backups', headers={'Authorization': 'Bearer not.a.token'})
        assert bad.status == 401 and 'invalid_token' in bad.header('WWW-Authenticate')


def test_access_token_lifetime_option_expires_tokens():
    # --access-token-minutes shortens AccessTokenDurationInMinutes; validation allows 5 s clock skew (JWTProvider.cs)
    with running_server('--webservice-password', PW, '--access-token-minutes', '0.02') as srv:
        headers = srv.bearer(PW)
        assert srv.request('GET', '/api/v1/backups', headers=headers).status == 200
        time.sleep(1.2 + 5)
        expired = srv.request('GET', '/api/v1/backups', headers=headers)
        assert expired.status == 401 and 'expired' in expired.header('WWW-Authenticate')


def test_signin_with_token_minted_from_database_key():
    # ServerUtil Connection.ConnectAsync / JWTProvider.cs: HS256 with the UTF-8 bytes of the base64 SigningKey, typ=SigninToken, sid=server-cli
    with running_server('--webservice-password', PW) as srv:
        config = _jwt_config(srv)
        now = int(time.time())
        token = jwt.encode({'typ': 'SigninToken', 'sid': 'server-cli', 'iss': config['Authority'], 'aud': config['Audience'],
                            'nbf': now, 'exp': now + 300}, config['SigningKey'].encode('utf-8'), algorithm='HS256')
        reply = srv.request('POST', '/api/v1/auth/signin', json_body={'SigninToken': token, 'RememberMe': True})
        assert reply.status == 200
        assert jwt.decode(reply.json()['AccessToken'], options={'verify_signature': False})['sid'] == 'server-cli'
        wrong_key = jwt.encode({'typ': 'SigninToken', 'sid': 'server-cli', 'iss': config['Authority'], 'aud': config['Audience'],
                                'nbf': now, 'exp': now + 300}, b'decoded-bytes-are-the-wrong-key-material', algorithm='HS256')
        bad = srv.request('POST', '/api/v1/auth/signin', json_body={'SigninToken': wrong_key})
        assert bad.status == 401 and bad.json() == {'Error': 'Failed to sign in', 'Code': 401}
        old = jwt.encode({'typ': 'SigninToken', 'sid': 'server-cli', 'iss': config['Authority'], 'aud': config['Audience'],
                          'nbf': now - 900, 'exp': now - 600}, config['SigningKey'].encode('utf-8'), algorithm='HS256')
        expired = srv.request('POST', '/api/v1/auth/signin', json_body={'SigninToken': old})
        assert expired.json() == {'Error': 'Signin token expired', 'Code': 401}


def test_signin_disabled():
    # Auth.cs: auth/signin returns 401 if sign-in tokens are disabled; WebServerLoader.OPTION_WEBSERVICE_DISABLE_SIGNIN_TOKENS: the option is persisted
    with running_server('--webservice-password', PW, '--webservice-disable-signin-tokens') as srv:
        reply = srv.request('POST', '/api/v1/auth/signin', json_body={'SigninToken': 'x'})
        assert reply.status == 401 and reply.json() == {'Error': 'Signin tokens are disabled', 'Code': 401}
        assert srv.app.db.get_setting('disable-signin-tokens') == 'True'
        issue = srv.request('POST', '/api/v1/auth/issuesignintoken', json_body={'Password': PW})
        assert issue.json() == {'Error': 'Signin tokens are disabled', 'Code': 401}


def test_issuesignintoken_checks_password_and_token_signs_in():
    with running_server('--webservice-password', PW) as srv:
        bad = srv.request('POST', '/api/v1/auth/issuesignintoken', json_body={'Password': 'x'})
        assert bad.json() == {'Error': 'Incorrect password', 'Code': 401}
        token = srv.request('POST', '/api/v1/auth/issuesignintoken', json_body={'Password': PW}).json()['Token']
        assert jwt.decode(token, options={'verify_signature': False})['sid'] == 'web-api'
        assert srv.request('POST', '/api/v1/auth/signin', json_body={'SigninToken': token}).status == 200


def test_issuetoken_operations():
    # Auth.cs issuetoken/{operation}: export, bugreport, websocket; 1 minute
    with running_server('--webservice-password', PW) as srv:
        headers = srv.bearer(PW)
        token = srv.request('POST', '/api/v1/auth/issuetoken/export', headers=headers).json()['Token']
        claims = jwt.decode(token, options={'verify_signature': False})
        assert claims['typ'] == 'SingleOperationToken' and claims['sop'] == 'export' and claims['exp'] - claims['nbf'] == 60
        bad = srv.request('POST', '/api/v1/auth/issuetoken/delete', headers=headers)
        assert bad.status == 400 and bad.json() == {'Error': 'Invalid operation', 'Code': 400}
        assert srv.request('POST', '/api/v1/auth/issuetoken/export').status == 401


def test_forever_token_disabled():
    with running_server('--webservice-password', PW) as srv:
        reply = srv.request('POST', '/api/v1/auth/issue-forever-token', headers=srv.bearer(PW))
        assert reply.status == 401 and reply.json() == {'Error': 'Forever tokens are not enabled', 'Code': 401}


def test_forever_token_once_per_start():
    # ServerUtil Commands/IssueForeverToken.cs, Auth.cs: issue-forever-token → {"AccessToken":..., "RefreshNonce":null}; the second one is refused
    with running_server('--webservice-password', PW, '--webservice-enable-forever-token') as srv:
        headers = srv.bearer(PW)
        first = srv.request('POST', '/api/v1/auth/issue-forever-token', headers=headers)
        assert first.status == 200 and first.body.startswith(b'{"AccessToken":"') and first.body.endswith(b'"RefreshNonce":null}')
        claims = jwt.decode(first.json()['AccessToken'], options={'verify_signature': False})
        assert claims['fam'] == 'temporary' and claims['sid'] == 'forever-token'
        assert claims['exp'] - claims['nbf'] > 9 * 365 * 86400
        # fam == "temporary": accepted without a TokenFamily row
        assert srv.request('GET', '/api/v1/backups', headers={'Authorization': 'Bearer ' + first.json()['AccessToken']}).status == 200
        second = srv.request('POST', '/api/v1/auth/issue-forever-token', headers=headers)
        assert second.json() == {'Error': 'Cannot generate multiple forever tokens, restart the server to generate a new one',
                                 'Code': 401}


def test_preauth_header_and_query_token():
    # PreAuthTokenHandler.cs: Authorization: PreAuth <token> for --webservice-pre-auth-tokens (≥10 chars of [A-Za-z0-9_-])
    with running_server('--webservice-password', PW, '--webservice-pre-auth-tokens', 'good_token_123;short;bad token here') as srv:
        assert srv.app.pre_auth_tokens == {'good_token_123'}
        assert srv.request('GET', '/api/v1/backups', headers={'Authorization': 'PreAuth good_token_123'}).status == 200
        assert srv.request('GET', '/api/v1/backups?token=good_token_123').status == 200
        rejected = srv.request('GET', '/api/v1/backups', headers={'Authorization': 'PreAuth short'})
        assert rejected.status == 401 and rejected.header('WWW-Authenticate') is None


def test_auth_status():
    with running_server('--webservice-password', PW) as srv:
        anon = srv.request('POST', '/api/v1/auth/status')
        assert anon.status == 200 and anon.json() == {'authorized': False, 'message': 'Not authorized'}
        authed = srv.request('POST', '/api/v1/auth/status', headers=srv.bearer(PW)).json()
        assert authed['authorized'] is True and authed['message'] == 'Authorized' and authed['socketToken']


@pytest.mark.parametrize('body,ctype,status', [(b'', None, 400), (b'', 'text/plain', 400), (b'{bad', 'application/json', 400),
                                               (b'[1]', 'application/json', 400), (b'{"Password":"x"}', 'text/plain', 415)])
def test_login_binding_failures_have_empty_bodies(body, ctype, status):
    # a missing body is a 400 whatever the content type (RequestDelegateFactory: CanHaveBody is false)
    with running_server('--webservice-password', PW) as srv:
        headers = {'Content-Type': ctype} if ctype else {}
        reply = srv.request('POST', '/api/v1/auth/login', body=body, headers=headers)
        assert reply.status == status and reply.body == b''


def test_head_on_a_get_route_is_405_but_health_answers_any_method():
    with running_server('--webservice-password', PW) as srv:
        reply = srv.request('HEAD', '/api/v1/backups', headers=srv.bearer(PW))
        assert reply.status == 405 and 'GET' in reply.header('Allow')
        assert srv.request('GET', '/api/v1/backups', headers=srv.bearer(PW)).status == 200
        assert srv.request('HEAD', '/health').status == 200
        assert srv.request('POST', '/health').body == b'Healthy'
