# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`duplicati-agent run` hosting the emulated server, and the duplicati-server stand-in (Agent/Program.cs, Server/Program.cs, WebServerLoader.cs)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from ansible_collections.duplicati.fleet.tests.emulator import child_environment


AGENT = 'ansible_collections.duplicati.fleet.tests.emulator.agent'
SERVER = 'ansible_collections.duplicati.fleet.tests.emulator.agent.server_standin'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start(module, args, env, cwd):
    full = child_environment({'PATH': os.environ.get('PATH', '')}, **env)
    proc = subprocess.Popen([sys.executable, '-m', module] + args, env=full, cwd=str(cwd), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if 'Server has started and is listening on' in line:
            return proc, lines
    proc.kill()
    raise AssertionError('did not start: %s' % ''.join(lines + [proc.stdout.read() or '']))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=20)


def get(url, headers=None, body=None):
    request = urllib.request.Request(url, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def registered(tmp_path):
    home = tmp_path / 'home'
    folder = home / '.config' / 'Duplicati'
    folder.mkdir(parents=True)
    os.chmod(str(folder), 0o700)
    (folder / 'agent.json').write_text(json.dumps({'jwt': 'token', 'serverUrl': 'wss://console.test/ws'}))
    return {'HOME': str(home), 'DUPLICATI_EMULATOR_INSTALL_DIR': str(tmp_path / 'install')}


def test_run_hosts_a_server_with_health_and_psk(registered, tmp_path):
    port = free_port()
    proc, lines = start(AGENT, ['run', '--webservice-port=%d' % port], registered, tmp_path)
    try:
        assert any('remote-control connection' in line and 'not emulated' in line for line in lines)
        assert get('http://127.0.0.1:%d/health' % port)[0] == 200
        # PreSharedKeyFilter is an endpoint filter: it runs after authorization, so use a no-auth endpoint
        status, body = get('http://127.0.0.1:%d/api/v1/auth/login' % port, {'Content-Type': 'application/json'},
                           b'{"Password": "guess"}')
        assert (status, body) == (403, 'Invalid PreSharedKey')
        assert (tmp_path / 'home' / '.config' / 'Duplicati' / 'installation.txt').exists()
    finally:
        assert stop(proc) == 0


def test_run_without_psk_and_preload_server_args_cannot_override_forwarded_ones(registered, tmp_path):
    # PreloadSettingsLoader.cs cascading: preload `server` args reach the hosted server only where not forwarded already
    port = free_port()
    preload = tmp_path / 'pre' / 'preload.json'
    preload.parent.mkdir()
    preload.write_text(json.dumps({'args': {'server': ['--webservice-port=1', '--webservice-password=frompreload']}}))
    env = dict(registered, DUPLICATI_PRELOAD_SETTINGS=str(preload))
    proc, dummy = start(AGENT, ['run', '--webservice-port=%d' % port, '--disable-pre-shared-key'], env, tmp_path)
    try:
        status, body = get('http://127.0.0.1:%d/api/v1/auth/login' % port, {'Content-Type': 'application/json'},
                           b'{"Password": "frompreload"}')
        assert status == 401 and 'Failed to log in' in body  # no PSK filter; the forwarded random password wins
    finally:
        assert stop(proc) == 0


def test_server_standin_env_and_command_line(tmp_path):
    # Server/Program.cs ApplyEnvironmentVariables: DUPLICATI__<NAME> for every option; the command line wins
    port, other = free_port(), free_port()
    env = {'HOME': str(tmp_path / 'home'), 'DUPLICATI__WEBSERVICE_PORT': str(port),
           'DUPLICATI__SERVER_DATAFOLDER': str(tmp_path / 'sdf')}
    proc, dummy = start(SERVER, [], env, tmp_path)
    try:
        assert get('http://127.0.0.1:%d/health' % port)[0] == 200
        assert (tmp_path / 'sdf').is_dir()
    finally:
        assert stop(proc) == 0
    proc, dummy = start(SERVER, ['--webservice-port=%d' % other], env, tmp_path)
    try:
        assert get('http://127.0.0.1:%d/health' % other)[0] == 200
    finally:
        assert stop(proc) == 0


def test_hosted_server_reports_the_agent_release_and_origin(registered, tmp_path):
    # Agent/Program.cs StartLocalServerAsync: the agent hosts its own build of the server (applicationSettings.Origin = "Agent")
    port = free_port()
    proc, dummy = start(AGENT, ['run', '--webservice-port=%d' % port, '--disable-pre-shared-key',
                                '--webservice-password=hosted-password'], registered, tmp_path)
    try:
        status, body = get('http://127.0.0.1:%d/api/v1/auth/login' % port, {'Content-Type': 'application/json'},
                           b'{"Password": "hosted-password"}')
        assert status == 200, body
        token = json.loads(body)['AccessToken']
        status, body = get('http://127.0.0.1:%d/api/v1/systeminfo' % port, {'Authorization': 'Bearer ' + token})
        info = json.loads(body)
        assert status == 200
        assert info['StartedBy'] == 'Agent'
        assert info['ServerVersion'] == '2.3.0.109'  # no autoupdate.manifest in the install dir: master's version
    finally:
        assert stop(proc) == 0


def _pfx(tmp_path, password):
    """A self-signed certificate for 127.0.0.1 as a PKCS#12 file."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, 'duplicati.test')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
            .sign(key, hashes.SHA256()))
    path = tmp_path / 'server.pfx'
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b'server', key, cert, None, serialization.BestAvailableEncryption(password.encode())))
    return str(path)


def _https(url, body=None):
    import ssl
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, data=body, headers={'Content-Type': 'application/json'} if body else {})
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_server_standin_reads_its_secrets_from_preload_and_serves_https(tmp_path):
    # Server.Program.Main: preload key `server` (PreloadSettingsLoader.ConfigurePreloadSettings) supplies the
    # password and the settings key inside the process; WebServerLoader.TryRunServerAsync serves HTTPS when the
    # certificate file and its password are both given (here the file on the command line, the password in preload)
    install = tmp_path / 'install'
    install.mkdir()
    pfx = _pfx(tmp_path, 'pfx pass 1')
    (install / 'preload.json').write_text(json.dumps({'args': {'server': [
        '--webservice-password=preload password 2', '--settings-encryption-key=settings key 3',
        '--webservice-sslcertificatepassword=pfx pass 1']}}))
    port = free_port()
    env = {'HOME': str(tmp_path / 'home'), 'DUPLICATI_EMULATOR_INSTALL_DIR': str(install)}
    args = ['--webservice-port=%d' % port, '--server-datafolder=%s' % (tmp_path / 'data'),
            '--webservice-sslcertificatefile=%s' % pfx]
    proc, dummy = start(SERVER, args, env, tmp_path)
    try:
        base = 'https://127.0.0.1:%d/api/v1/' % port
        assert _https(base + 'serverstate') == 401
        assert _https(base + 'auth/login', json.dumps({'Password': 'preload password 2'}).encode()) == 200
        assert _https(base + 'auth/login', json.dumps({'Password': 'wrong'}).encode()) == 401
        with pytest.raises(Exception):
            urllib.request.urlopen('http://127.0.0.1:%d/health' % port, timeout=5)
    finally:
        assert stop(proc) == 0
    # the settings key from preload.json encrypted the database's secrets
    import sqlite3
    row = sqlite3.connect(str(tmp_path / 'data' / 'Duplicati-server.sqlite')).execute(
        'SELECT "Value" FROM "Option" WHERE "BackupID" = -2 AND "Name" = \'jwt-config\'').fetchone()
    assert row[0].startswith('enc-v1:')
    # without the certificate password the server keeps serving the certificate its database holds
    # (ServerSettings.ServerSSLCertificate); --webservice-remove-sslcertificate returns it to plain HTTP
    (install / 'preload.json').write_text(json.dumps({'args': {'server': [
        '--webservice-password=preload password 2', '--settings-encryption-key=settings key 3']}}))
    proc, dummy = start(SERVER, args, env, tmp_path)
    try:
        assert _https(base + 'serverstate') == 401
    finally:
        assert stop(proc) == 0
    proc, dummy = start(SERVER, args + ['--webservice-remove-sslcertificate=true'], env, tmp_path)
    try:
        assert get('http://127.0.0.1:%d/api/v1/serverstate' % port)[0] == 401
    finally:
        assert stop(proc) == 0


def test_server_standin_refuses_a_certificate_with_a_wrong_password(tmp_path):
    pfx = _pfx(tmp_path, 'right')
    proc = subprocess.run([sys.executable, '-m', SERVER, '--webservice-port=%d' % free_port(),
                           '--server-datafolder=%s' % (tmp_path / 'data'), '--webservice-sslcertificatefile=%s' % pfx,
                           '--webservice-sslcertificatepassword=wrong'],
                          env=child_environment({'PATH': os.environ.get('PATH', '')}, HOME=str(tmp_path / 'home'),
                                                DUPLICATI_EMULATOR_INSTALL_DIR=str(tmp_path / 'install')),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60, check=False)
    assert proc.returncode == 100
    assert 'Unable to load the certificate' in proc.stdout
