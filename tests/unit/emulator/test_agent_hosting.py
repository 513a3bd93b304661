# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`duplicati-agent run` hosting the emulated server, and the duplicati-server stand-in (protocol sheet §1.1, §5.4, §9.6)."""

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
    # §3 cascading: preload `server` args reach the hosted server only where not forwarded already
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
    # §5.4: DUPLICATI__<NAME> for every option; the command line wins
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
    # §1.1: the agent hosts its own build of the server (applicationSettings.Origin = "Agent")
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
