# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP transport: URLs, JSON, retries, Retry-After and the error messages.

The generic transport behaviour is tested against a small app served by the emulator's
``httpbase`` (no Duplicati semantics needed); Duplicati's own answers (PSK, hostname
filter, fault injection) are tested against the emulated server in test_client.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import email.utils
import json
import socket

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import transport
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.tests.emulator import httpbase


class FakeApp(httpbase.EmulatorApp):
    """Answers from a script: ``answers[path]`` is a list of Responses used in turn (the last repeats)."""

    def __init__(self):
        super(FakeApp, self).__init__()
        self.answers = {}
        self.requests = []

    def handle(self, request):
        self.requests.append(request)
        script = self.answers.get(request.path)
        if not script:
            return httpbase.Response(404, b'', 'text/plain')
        return script.pop(0) if len(script) > 1 else script[0]

    def count(self, path):
        return len([r for r in self.requests if r.path == path])


@pytest.fixture
def fake():
    app = FakeApp()
    httpd, url = httpbase.serve_in_thread(app)
    yield app, url
    httpd.shutdown()
    httpd.server_close()


class Sleeps(object):
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


def make_transport(url, **kwargs):
    kwargs.setdefault('sleep', Sleeps())
    kwargs.setdefault('jitter', lambda: 0.5)
    return transport.Transport(url, **kwargs)


# -- URL building ---------------------------------------------------------------

def test_api_base_is_host_url_plus_api_v1():
    t = transport.Transport('http://127.0.0.1:8200')
    assert t.host_url == 'http://127.0.0.1:8200/'
    assert t.api_url == 'http://127.0.0.1:8200/api/v1/'
    assert t.url_for('backups') == 'http://127.0.0.1:8200/api/v1/backups'
    assert t.url_for('health', root=True) == 'http://127.0.0.1:8200/health'


def test_host_url_with_path_gets_trailing_slash():
    t = transport.Transport('https://nas.example/duplicati')
    assert t.api_url == 'https://nas.example/duplicati/api/v1/'
    assert t.url_for('health', root=True) == 'https://nas.example/duplicati/health'
    assert transport.Transport('https://nas.example/duplicati/').api_url == 'https://nas.example/duplicati/api/v1/'


def test_query_booleans_are_dotnet_style_and_values_escaped():
    t = transport.Transport()
    url = t.url_for('backup/%s/run' % transport.quote_segment('a b/c'), {'skipqueue': True, 'x': False, 'p': 'a&b c'})
    assert url == 'http://127.0.0.1:8200/api/v1/backup/a%20b%2Fc/run?skipqueue=True&x=False&p=a%26b%20c'


@pytest.mark.parametrize('url,port', [
    ('http://127.0.0.1:8200/', 8200),
    ('http://localhost/', 0),
    ('https://nas.example/duplicati/', 0),
    ('https://nas.example:443/', 443),
    ('https://[::1]:8443', 8443),
])
def test_refresh_cookie_name_from_host_url_port(url, port):
    assert transport.refresh_cookie_name(url) == 'RefreshToken_%d' % port


@pytest.mark.parametrize('bad', ['ftp://host/', 'not a url', 'http:///nohost', 'http://h:99999/', 'http://h/?a=1',
                                 'http://bad host:8200/', 'http://127.0.0.1:8200/a b/', 'http://h/\x00'])
def test_bad_host_url_is_a_clear_error(bad):
    with pytest.raises(DuplicatiError) as err:
        transport.Transport(bad)
    assert 'Invalid host_url' in str(err.value)
    assert 'host_url option' in str(err.value)


@pytest.mark.parametrize('method', ['GET', 'POST'])
@pytest.mark.parametrize('location', ['http://127.0.0.1:1/elsewhere/api/v1/backups', '/login.html'])
def test_redirects_are_never_followed_with_credentials(fake, method, location):
    app, url = fake
    app.answers['/api/v1/backups'] = [httpbase.Response(302, b'', 'text/plain', headers=[('Location', location)])]
    app.answers['/login.html'] = [httpbase.Response.json([])]
    t = make_transport(url)
    with pytest.raises(DuplicatiError) as err:
        t.request(method, 'backups', headers={'Authorization': 'Bearer secret-token', 'Cookie': 'RefreshToken_1=secret'},
                  body={'x': 1} if method == 'POST' else None)
    text = str(err.value)
    assert err.value.status == 302
    assert 'redirected to %s' % location in text and 'not followed' in text
    assert 'never sent across a redirect' in text and 'host_url' in text
    assert app.count('/api/v1/backups') == 1 and app.count('/login.html') == 0  # sent once, and not to the target
    assert 'secret' not in text


def test_bad_timeout_is_a_clear_error():
    with pytest.raises(DuplicatiError, match='Invalid timeout'):
        transport.Transport(timeout=0)


def test_retry_after_seconds_and_http_date():
    now = 1700000000.0
    assert transport.parse_retry_after('7', now) == 7.0
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert transport.parse_retry_after(date, now) == pytest.approx(12.0, abs=1)
    assert transport.parse_retry_after(email.utils.formatdate(now - 50, usegmt=True), now) == 0.0
    assert transport.parse_retry_after('soon', now) is None
    assert transport.parse_retry_after(None, now) is None


# -- requests -------------------------------------------------------------------

def test_json_body_and_headers_are_sent(fake):
    app, url = fake
    app.answers['/api/v1/thing'] = [httpbase.Response.json({'A': 1})]
    t = make_transport(url)
    resp = t.request('PUT', 'thing', body='new password', headers={'X-Extra': 'yes'})
    assert resp.json() == {'A': 1}
    sent = app.requests[-1]
    assert sent.method == 'PUT'
    assert json.loads(sent.body.decode('utf-8')) == 'new password'
    assert sent.header('Content-Type').startswith('application/json')
    assert sent.header('X-Extra') == 'yes'


def test_no_psk_header_is_ever_sent(fake):
    app, url = fake
    app.answers['/api/v1/thing'] = [httpbase.Response.json({})]
    make_transport(url).request('GET', 'thing')
    assert app.requests[-1].header('X-Duplicati-PreSharedKey') is None


def test_raw_bytes_and_cookies(fake):
    app, url = fake
    payload = bytes(bytearray(range(256)))
    resp = httpbase.Response(200, payload, 'application/octet-stream')
    resp.add_header('Set-Cookie', 'RefreshToken_8200=abc.def; expires=Thu, 01 Jan 2099 00:00:00 GMT; path=/api/v1/auth/refresh')
    resp.add_header('Set-Cookie', 'Other=1; path=/')
    app.answers['/api/v1/file'] = [resp]
    got = make_transport(url).request('GET', 'file', raw=True)
    assert got.body == payload
    assert got.cookies == {'RefreshToken_8200': 'abc.def', 'Other': '1'}
    assert app.requests[-1].header('Accept') == '*/*'


def test_get_is_retried_on_503_with_exponential_backoff(fake):
    app, url = fake
    app.answers['/api/v1/flaky'] = [httpbase.Response.text('Service Unavailable', 503)] * 3 + [httpbase.Response.json({'ok': True})]
    sleeps = Sleeps()
    resp = make_transport(url, sleep=sleeps, retries=3, backoff=1.0).request('GET', 'flaky')
    assert resp.json() == {'ok': True}
    assert app.count('/api/v1/flaky') == 4
    # jitter 0.5 -> 75% of 1, 2, 4
    assert sleeps.calls == [0.75, 1.5, 3.0]


def test_retries_are_bounded(fake):
    app, url = fake
    app.answers['/api/v1/down'] = [httpbase.Response.text('Service Unavailable', 503)]
    with pytest.raises(DuplicatiError) as err:
        make_transport(url, retries=2).request('GET', 'down')
    assert app.count('/api/v1/down') == 3
    assert err.value.status == 503
    assert 'the server is unavailable (HTTP 503 after 3 attempts)' in str(err.value)
    assert 'Try again later' in str(err.value)


def test_post_is_never_repeated_on_503(fake):
    app, url = fake
    app.answers['/api/v1/backup/1/run'] = [httpbase.Response.text('Service Unavailable', 503), httpbase.Response.json({'Status': 'OK'})]
    with pytest.raises(DuplicatiError) as err:
        make_transport(url).request('POST', 'backup/1/run')
    assert app.count('/api/v1/backup/1/run') == 1
    assert err.value.status == 503
    assert 'after' not in str(err.value).split('(HTTP 503')[1].split(')')[0]


def test_post_marked_idempotent_is_retried(fake):
    app, url = fake
    app.answers['/api/v1/serverstate/resume'] = [httpbase.Response.text('Service Unavailable', 503), httpbase.Response(200, b'')]
    make_transport(url).request('POST', 'serverstate/resume', idempotent=True)
    assert app.count('/api/v1/serverstate/resume') == 2


def test_get_marked_not_idempotent_is_not_retried(fake):
    app, url = fake
    app.answers['/api/v1/once'] = [httpbase.Response.text('Service Unavailable', 503), httpbase.Response.json({})]
    with pytest.raises(DuplicatiError):
        make_transport(url).request('GET', 'once', idempotent=False)
    assert app.count('/api/v1/once') == 1


def test_429_honours_retry_after_seconds(fake):
    app, url = fake
    limited = httpbase.Response.text('Too Many Requests', 429, headers=[('Retry-After', '3')])
    app.answers['/api/v1/busy'] = [limited, httpbase.Response.json([])]
    sleeps = Sleeps()
    assert make_transport(url, sleep=sleeps).request('GET', 'busy').json() == []
    assert sleeps.calls == [3.0]


def test_429_honours_retry_after_http_date(fake):
    app, url = fake
    now = 1800000000.0
    date = email.utils.formatdate(now + 5, usegmt=True)
    app.answers['/api/v1/busy'] = [httpbase.Response.text('x', 429, headers=[('Retry-After', date)]), httpbase.Response.json([])]
    sleeps = Sleeps()
    make_transport(url, sleep=sleeps, clock=lambda: now).request('GET', 'busy')
    assert sleeps.calls == [pytest.approx(5.0, abs=1)]


def test_429_with_too_long_retry_after_gives_up(fake):
    app, url = fake
    app.answers['/api/v1/busy'] = [httpbase.Response.text('x', 429, headers=[('Retry-After', '3600')])]
    sleeps = Sleeps()
    with pytest.raises(DuplicatiError) as err:
        make_transport(url, sleep=sleeps).request('GET', 'busy')
    assert sleeps.calls == []
    assert app.count('/api/v1/busy') == 1
    assert 'rate limiting' in str(err.value)
    assert '3600' in str(err.value)


def test_404_and_other_statuses_are_not_retried(fake):
    app, url = fake
    app.answers['/api/v1/backup/9'] = [httpbase.Response.json({'Error': 'Backup not found', 'Code': 404}, 404)]
    with pytest.raises(DuplicatiError) as err:
        make_transport(url).request('GET', 'backup/9')
    assert app.count('/api/v1/backup/9') == 1
    assert str(err.value) == ('Failed to GET %sapi/v1/backup/9: the server answered with an error (HTTP 404): '
                              'Server error (404): Backup not found.' % url)
    assert err.value.server_error == 'Backup not found'
    assert err.value.code == 404


def test_query_is_never_shown_in_errors(fake):
    app, url = fake
    app.answers['/api/v1/backup/1/export'] = [httpbase.Response.json({'Error': 'Invalid operation', 'Code': 401}, 401)]
    with pytest.raises(DuplicatiError) as err:
        make_transport(url).request('GET', 'backup/1/export', query={'passphrase': 'TopSecret', 'token': 'tok'})
    assert 'TopSecret' not in str(err.value)
    assert 'tok' not in str(err.value.url)


def test_action_and_failure_explain_a_status(fake):
    app, url = fake
    app.answers['/api/v1/auth/login'] = [httpbase.Response.json({'Error': 'Failed to log in', 'Code': 401}, 401)]
    with pytest.raises(DuplicatiError) as err:
        make_transport(url).request('POST', 'auth/login', body={'Password': 'x'}, action='log in to',
                                    failures={401: transport.Failure('the password was refused', 'Check the password option.')})
    assert str(err.value) == 'Failed to log in to %s: the password was refused (HTTP 401). Check the password option.' % url


def test_plain_text_psk_refusal(fake):
    app, url = fake
    app.answers['/api/v1/x'] = [httpbase.Response.text('Invalid PreSharedKey', 403)]
    with pytest.raises(DuplicatiError) as err:
        make_transport(url).request('GET', 'x')
    assert 'Duplicati Agent that accepts API calls only from the Agent itself' in str(err.value)
    assert '--disable-pre-shared-key=true' in err.value.hint


def test_hostname_refusal(fake):
    app, url = fake
    app.answers['/api/v1/x'] = [httpbase.Response.json({'Error': 'Invalid hostname: nas.example', 'Code': 403}, 403)]
    with pytest.raises(DuplicatiError) as err:
        make_transport(url).request('GET', 'x')
    assert 'Invalid hostname: nas.example' in str(err.value)
    assert 'allowed host names' in str(err.value)


def test_non_json_answer_is_a_clear_error(fake):
    app, url = fake
    app.answers['/api/v1/html'] = [httpbase.Response(200, b'<html>', 'text/html')]
    with pytest.raises(DuplicatiError, match='not JSON'):
        make_transport(url).request('GET', 'html').json()


def _free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_connection_refused_says_is_the_server_running():
    url = 'http://127.0.0.1:%d/' % _free_port()
    sleeps = Sleeps()
    with pytest.raises(DuplicatiError) as err:
        make_transport(url, sleep=sleeps, retries=2).request('GET', 'backups')
    text = str(err.value)
    assert text.startswith('Failed to GET %sapi/v1/backups: the connection was refused after 3 attempts.' % url)
    assert 'Is the Duplicati server running' in text and url in text
    assert len(sleeps.calls) == 2


def test_connection_refused_post_tried_once():
    url = 'http://127.0.0.1:%d/' % _free_port()
    sleeps = Sleeps()
    with pytest.raises(DuplicatiError) as err:
        make_transport(url, sleep=sleeps).request('POST', 'backup/1/run')
    assert sleeps.calls == []
    assert 'attempts' not in str(err.value)


def test_timeout_is_explained():
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    url = 'http://127.0.0.1:%d/' % server.getsockname()[1]
    try:
        with pytest.raises(DuplicatiError) as err:
            make_transport(url, timeout=1, retries=0).request('GET', 'backups')
    finally:
        server.close()
    assert 'no answer within 1 seconds' in str(err.value)
    assert 'timeout option' in str(err.value)


def _self_signed_server(tmp_path):
    """An HTTPS server with a fresh self-signed certificate; returns (httpd, url)."""
    import datetime
    import ipaddress
    import ssl
    import threading
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u'127.0.0.1')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(u'127.0.0.1'))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file = tmp_path / 'cert.pem'
    key_file = tmp_path / 'key.pem'
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    app = FakeApp()
    app.answers['/api/v1/backups'] = [httpbase.Response.json([])]
    httpd = httpbase.make_server(app)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_file), str(key_file))
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, 'https://127.0.0.1:%d/' % httpd.server_address[1], str(cert_file)


def test_a_redirect_from_https_to_http_is_named(tmp_path):
    httpd, url, dummy = _self_signed_server(tmp_path)
    httpd.app.answers['/api/v1/backups'] = [httpbase.Response(301, b'', 'text/plain', headers=[('Location', 'http://127.0.0.1:1/api/v1/backups')])]
    try:
        with pytest.raises(DuplicatiError) as err:
            make_transport(url, validate_certs=False).request('GET', 'backups', headers={'Authorization': 'Bearer secret-token'})
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert 'from https to plain http' in str(err.value) and 'not followed' in str(err.value)


def test_tls_failure_mentions_validate_certs_and_ca_path(tmp_path):
    httpd, url, cert_file = _self_signed_server(tmp_path)
    try:
        with pytest.raises(DuplicatiError) as err:
            make_transport(url, retries=3).request('GET', 'backups')
        # the same server is fine once its certificate is trusted, or checks are off
        assert make_transport(url, ca_path=cert_file).request('GET', 'backups').json() == []
        assert make_transport(url, validate_certs=False).request('GET', 'backups').json() == []
    finally:
        httpd.shutdown()
        httpd.server_close()
    text = str(err.value)
    assert 'the TLS certificate of the server could not be verified' in text
    assert 'ca_path' in text and 'validate_certs' in text
    assert 'attempts' not in text  # a certificate failure is not retried
