# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registration and agent.json of the stand-in (Agent/Settings.cs, RegisterForRemote.cs), against a fake console."""

import hashlib
import json
import os
import stat

import pytest

from ansible_collections.duplicati.fleet.tests.emulator.agent.__main__ import main
from ansible_collections.duplicati.fleet.tests.emulator.agent.settings import AgentSettings
from ansible_collections.duplicati.fleet.tests.emulator.console import harness, tokens
from ansible_collections.duplicati.fleet.tests.emulator.httpbase import EmulatorApp, Response, serve_in_thread

CERT = {'publicKeyHash': 'abc', 'publicKey': '-----BEGIN RSA PUBLIC KEY-----\nMII+/=\n-----END RSA PUBLIC KEY-----',
        'obtained': '2026-01-01T00:00:00Z', 'expiry': '2027-01-01T10:00:00.5+02:00'}
CLAIMED = {'jwt': 'machine-jwt', 'serverUrl': 'wss://console.test/ws', 'certificateUrl': 'https://console.test/certs',
           'serverCertificates': [CERT], 'localEncryptionKey': 'local-key-123', 'statusMessage': None}


class FakeConsole(EmulatorApp):
    def __init__(self, answers, status_answers=()):
        super(FakeConsole, self).__init__()
        self.answers = list(answers)
        self.status_answers = list(status_answers)
        self.bodies = []
        self.status_bodies = []
        self.route('POST', '/register', self.register)
        self.route('POST', '/status', self.status)

    def register(self, request):
        self.bodies.append((request.header('Content-Type'), request.json()))
        status, payload = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return Response.json(payload, status) if payload is not None else Response.text('down', status)

    def status(self, request):
        self.status_bodies.append(request.json())
        status, payload = self.status_answers.pop(0) if len(self.status_answers) > 1 else self.status_answers[0]
        return Response.json(payload, status)


@pytest.fixture
def env(tmp_path):
    home = tmp_path / 'home'
    home.mkdir()
    return {'HOME': str(home), 'DUPLICATI_EMULATOR_RETRY_SECONDS': '0', 'PATH': os.environ.get('PATH', ''),
            'DUPLICATI_EMULATOR_INSTALL_DIR': str(tmp_path / 'install')}


@pytest.fixture
def console():
    started = []

    def start(answers, status_answers=()):
        app = FakeConsole(answers, status_answers)
        httpd, base = serve_in_thread(app)
        started.append(httpd)
        return app, base
    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def agent_json(env):
    return os.path.join(env['HOME'], '.config', 'Duplicati', 'agent.json')


def test_claimed_immediately_writes_agent_json(env, console):
    # RegisterForRemote.CreateMachineData / RegisterClientAsync, Agent/Program.cs RegisterAsync, Agent/Settings.cs
    app, base = console([(200, CLAIMED)])
    url = base + 'register?token=pre-auth&empty=&machineName=override'
    assert main(['register', url], env) == 0
    content_type, body = app.bodies[0]
    assert content_type.startswith('application/json')
    assert set(body) == {'instanceId', 'machineId', 'machineName', 'installId', 'localTime', 'version', 'packageTypeId',
                         'operatingSystem', 'token'}
    assert body['token'] == 'pre-auth' and body['machineName'] == 'override'
    folder = os.path.dirname(agent_json(env))
    with open(os.path.join(folder, 'installation.txt')) as handle:
        assert body['installId'] == handle.readline().strip()
    assert body['machineId'] == body['installId'] and len(body['installId']) == 32
    assert body['operatingSystem'] == 'Linux'
    path = agent_json(env)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        text = handle.read()
    saved = json.loads(text)
    assert saved == {'jwt': 'machine-jwt', 'serverUrl': 'wss://console.test/ws', 'certificateUrl': 'https://console.test/certs',
                     'settingsEncryptionKey': 'local-key-123',
                     'serverCertificates': [{'publicKeyHash': 'abc', 'publicKey': CERT['publicKey'],
                                             'obtained': '2026-01-01T00:00:00+00:00', 'expiry': '2027-01-01T10:00:00.5+02:00'}]}
    assert text.startswith('{\n  "jwt": "machine-jwt",\n')
    assert '\\u002B' in text  # System.Text.Json escapes '+'


def test_claim_link_and_polling(env, console, capsys):
    # RegisterForRemote.RegisterClientAsync / CheckClientClaimedAsync: claimLink + statusLink, polling until success
    app, base = console([(200, None)])
    app.answers = [(200, {'claimLink': 'https://console.test/claim/1', 'statusLink': base + 'status',
                          'retrySeconds': 0, 'maxRetries': 5, 'maxLifetimeSeconds': 30})]
    app.status_answers = [(200, {'success': False, 'statusMessage': 'waiting'}),
                          (200, {'success': False, 'statusMessage': 'waiting'}),
                          (200, dict(CLAIMED, success=True, localEncryptionKey=None))]
    assert main(['run', '--agent-register-only', '--agent-registration-url=' + base + 'register'], env) == 0
    assert 'Machine registered, claim it by visiting: https://console.test/claim/1' in capsys.readouterr().out
    assert len(app.status_bodies) == 3
    assert set(app.status_bodies[0]) == set(app.bodies[0][1])
    saved = json.load(open(agent_json(env)))
    assert 'settingsEncryptionKey' not in saved and saved['jwt'] == 'machine-jwt'


def test_claim_polling_gives_up_after_max_retries(env, console, capsys):
    app, base = console([(200, None)])
    app.answers = [(200, {'claimLink': 'c', 'statusLink': base + 'status', 'retrySeconds': 0,
                          'maxRetries': 0, 'maxLifetimeSeconds': 30})]
    app.status_answers = [(200, {'success': False, 'statusMessage': 'not yet'})]
    assert main(['register', base + 'register'], env) == 1
    assert 'Failed to claim machine: not yet' in capsys.readouterr().out
    assert len(app.status_bodies) == 1  # clamp(0, 1, 100) = 1 attempt
    assert not os.path.exists(agent_json(env))


def test_error_with_status_message_and_retries(env, console, capsys):
    # RegisterForRemote.RegisterAsync: empty jwt fails with the statusMessage; retried 10 times in all
    app, base = console([(200, {'jwt': '', 'serverUrl': 'x', 'statusMessage': 'token revoked'})])
    assert main(['register', base + 'register'], env) == 1
    assert 'Failed to obtain registration data, status message: token revoked' in capsys.readouterr().out
    assert len(app.bodies) == 10


def test_retry_on_503(env, console):
    app, base = console([(503, None), (503, None), (200, CLAIMED)])
    assert main(['register', base + 'register'], env) == 0
    assert len(app.bodies) == 3


def test_url_from_preload_args_and_env_without_argv(env, console, tmp_path):
    # PreloadSettingsLoader + Agent/Program.cs GetDefaultRegistrationUrl: the registration URL reaches `run` through preload args or preload env
    app, base = console([(200, CLAIMED)])
    preload = tmp_path / 'p' / 'preload.json'
    preload.parent.mkdir()
    preload.write_text(json.dumps({'args': {'agent': ['--agent-registration-url=' + base + 'register?via=args']}}))
    assert main(['run', '--agent-register-only'], dict(env, DUPLICATI_PRELOAD_SETTINGS=str(preload))) == 0
    assert app.bodies[-1][1]['via'] == 'args'
    os.unlink(agent_json(env))
    preload.write_text(json.dumps({'env': {'agent': {'DUPLICATI__REGISTER_REMOTE_CONTROL': base + 'register?via=env'}}}))
    assert main(['run', '--agent-register-only'], dict(env, DUPLICATI_PRELOAD_SETTINGS=str(preload))) == 0
    assert app.bodies[-1][1]['via'] == 'env'
    os.unlink(agent_json(env))
    preload.write_text(json.dumps({'env': {'*': {'DUPLICATI_REMOTE_CONTROL_URL': base + 'register?via=register-env'}}}))
    assert main(['register'], dict(env, DUPLICATI_PRELOAD_SETTINGS=str(preload))) == 0
    assert app.bodies[-1][1]['via'] == 'register-env'
    os.unlink(agent_json(env))
    assert main(['run', '--agent-register-only'], dict(env, DUPLICATI__REGISTER_REMOTE_CONTROL=base + 'register?via=process')) == 0
    assert app.bodies[-1][1]['via'] == 'process'


def test_passphrase_encrypts_jwt_and_key(env, console, capsys):
    # Agent/Settings.cs (EncryptedFieldHelper): enc-v1 values with --agent-settings-file-passphrase; missing/wrong passphrase errors
    app, base = console([(200, CLAIMED)])
    passphrase = 'correct horse battery'
    assert main(['register', base + 'register', '--agent-settings-file-passphrase', passphrase], env) == 0
    saved = json.load(open(agent_json(env)))
    for name in ('jwt', 'settingsEncryptionKey'):
        value = saved[name]
        assert value.startswith('enc-v1:')
        body = value[7:]
        assert body[:64] == hashlib.sha256(body[128:].encode()).hexdigest().upper()
        assert body[64:128] == hashlib.sha256(passphrase.encode()).hexdigest().upper()
    assert saved['serverUrl'] == 'wss://console.test/ws'
    loaded = AgentSettings.load(agent_json(env), passphrase)
    assert loaded.jwt == 'machine-jwt' and loaded.settings_encryption_key == 'local-key-123'
    capsys.readouterr()
    assert main(['register', base + 'register'], env) == 2
    out = capsys.readouterr().out
    assert 'ErrorID: AgentSettingsKeyMissing' in out and 'Message: Settings file is encrypted but key is missing' in out
    assert main(['register', base + 'register', '--agent-settings-file-passphrase', 'wrong passphrase'], env) == 2
    out = capsys.readouterr().out
    assert 'ErrorID: InvalidAgentSettingsKey' in out and 'Message: Invalid settings key provided' in out
    assert len(app.bodies) == 1


def test_plain_values_are_read_with_a_passphrase(env, tmp_path):
    path = tmp_path / 'agent.json'
    path.write_text(json.dumps({'JWT': 'plain', 'ServerUrl': 'wss://x'}))
    loaded = AgentSettings.load(str(path), 'a long passphrase')
    assert loaded.jwt == 'plain' and loaded.server_url == 'wss://x' and loaded.registered


def test_against_the_console_emulator_with_a_preauthorised_link(env):
    # RegisterForRemote.RegisterClientAsync "claimed immediately" against tests/emulator/console
    store = tokens.TokenStore()
    store.add('fleet', 'fleet-token-0123456789', None)
    with harness.running_console(tokens=store) as (_app, base):
        link = base + 'remotecontrol/register?token=fleet-token-0123456789'
        assert main(['run', '--agent-register-only'], dict(env, DUPLICATI__REGISTER_REMOTE_CONTROL=link)) == 0
    saved = json.load(open(agent_json(env)))
    assert saved['jwt'] and saved['serverUrl']
    assert set(saved) <= {'jwt', 'serverUrl', 'certificateUrl', 'settingsEncryptionKey', 'serverCertificates'}
    assert all(set(c) == {'publicKeyHash', 'publicKey', 'obtained', 'expiry'} for c in saved['serverCertificates'])
