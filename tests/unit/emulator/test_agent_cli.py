# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""duplicati-agent stand-in: command line and exit codes (``Duplicati/Agent/Program.cs``)."""

import json
import os

import pytest

from ansible_collections.duplicati.fleet.tests.emulator.agent import cmdline
from ansible_collections.duplicati.fleet.tests.emulator.agent.__main__ import (
    Context, _commands, hosted_server_arguments, main, register_values)
from ansible_collections.duplicati.fleet.tests.emulator.agent.settings import AgentSettings


@pytest.fixture
def env(tmp_path):
    home = tmp_path / 'home'
    home.mkdir()
    return {'HOME': str(home), 'PATH': os.environ.get('PATH', ''),
            'DUPLICATI_EMULATOR_INSTALL_DIR': str(tmp_path / 'install')}


def parse(env, tokens):
    ctx = Context(tokens, env)
    return cmdline.parse('duplicati-agent', _commands(ctx), tokens)


def test_run_defaults_are_those_of_master(env, tmp_path):
    # Agent/Program.cs: the option defaults of master
    command, values = parse(env, ['run'])
    assert command.name == 'run'
    assert values['agent_registration_url'] == 'https://api.duplicati.com/remotecontrol/register'
    assert values['agent_settings_file'] == os.path.join(str(tmp_path / 'home'), '.config', 'Duplicati', 'agent.json')
    assert values['webservice_port'] == '8210'
    assert values['webservice_interface'] == 'loopback'
    assert values['webservice_allowed_hostnames'] == '127.0.0.1'
    assert values['webservice_reset_jwt_config'] is True
    assert values['webservice_api_only'] is True
    assert values['webservice_disable_signin_tokens'] is True
    assert values['disable_pre_shared_key'] is False
    assert values['windows_eventlog'] == ''
    assert values['secret_provider_cache'] == 'None'
    assert values['secret_provider_pattern'] == '$'
    assert values['agent_register_only'] is False


def test_registration_url_env_fallbacks(env):
    # Agent/Program.cs GetDefaultRegistrationUrl / RegisterForRemote.DefaultRegisterationUrl: run reads DUPLICATI__REGISTER_REMOTE_CONTROL, register does not
    env['DUPLICATI_REMOTE_CONTROL_URL'] = 'http://console.test/reg'
    assert parse(env, ['run'])[1]['agent_registration_url'] == 'http://console.test/reg'
    assert parse(env, ['register'])[1]['agent_registration_url'] == 'http://console.test/reg'
    env['DUPLICATI__REGISTER_REMOTE_CONTROL'] = 'http://server-var.test/reg'
    assert parse(env, ['run'])[1]['agent_registration_url'] == 'http://server-var.test/reg'
    assert parse(env, ['register'])[1]['agent_registration_url'] == 'http://console.test/reg'
    assert register_values(parse(env, ['register'])[1], env)['agent_registration_url'] == 'http://console.test/reg'


@pytest.mark.parametrize('tokens,expected', [
    (['run', '--disable-pre-shared-key'], True),
    (['run', '--disable-pre-shared-key=true'], True),
    (['run', '--disable-pre-shared-key=False'], False),
    (['run', '--disable-pre-shared-key:TRUE'], True),
    (['run', '--disable-pre-shared-key', 'false'], False),
])
def test_bool_forms(env, tokens, expected):
    # Agent/Program.cs: booleans as System.CommandLine accepts them
    assert parse(env, tokens)[1]['disable_pre_shared_key'] is expected


def test_string_option_forms(env):
    assert parse(env, ['run', '--webservice-port', '9000'])[1]['webservice_port'] == '9000'
    assert parse(env, ['run', '--webservice-port=9001'])[1]['webservice_port'] == '9001'


@pytest.mark.parametrize('tokens,message', [
    ([], 'Required command was not provided.'),
    (['run', '--no-such-option'], "Unrecognized command or argument '--no-such-option'."),
    (['run', '--disable-pre-shared-key=maybe'], "Cannot parse argument 'maybe' for option '--disable-pre-shared-key'"),
    (['run', '--webservice-port'], "Required argument missing for option: '--webservice-port'."),
    (['run', '--webservice-port=1', '--webservice-port=2'], "expects a single argument but 2 were provided"),
    (['clear', '--agent-settings-file-passphrase=abcdefgh'], 'Unrecognized command or argument'),
    (['RUN'], 'Required command was not provided.'),
])
def test_parse_errors_exit_1(env, capsys, tokens, message):
    # Agent/Program.cs: no root handler; parse errors exit with 1
    assert main(tokens, env) == 1
    assert message in capsys.readouterr().err


def test_help_exits_0(env, capsys):
    for token in ('--help', '-h', 'help', '/?'):
        assert main(['run', token], env) == 0
        assert '--agent-registration-url' in capsys.readouterr().out


def test_keep_password_with_password_is_user_error(env, capsys, tmp_path):
    # RunAgentAsync: --keep-webservice-password with --webservice-password -> UserInformationException, exit 2
    rc = main(['run', '--keep-webservice-password', '--webservice-password=pw',
               '--agent-settings-file=%s' % (tmp_path / 'a.json')], env)
    out = capsys.readouterr().out
    assert rc == 2
    assert 'ErrorID: KeepWebservicePasswordWithPassword' in out
    assert 'Message: Cannot use --keep-webservice-password with a provided password' in out


def test_clear_deletes_the_file(env, tmp_path):
    # Agent/Program.cs: clear
    target = tmp_path / 'agent.json'
    target.write_text('{"jwt": "x"}')
    assert main(['clear', '--agent-settings-file', str(target)], env) == 0
    assert not target.exists()
    assert main(['clear', '--agent-settings-file', str(target)], env) == 0


def test_register_is_noop_when_registered(env, tmp_path, capsys):
    # RegisterAsync: already registered -> exit 0 without contacting the console (the URL is unreachable)
    target = tmp_path / 'agent.json'
    target.write_text(json.dumps({'jwt': 'token', 'serverUrl': 'wss://x'}))
    env['DUPLICATI_EMULATOR_RETRY_SECONDS'] = '0'
    assert main(['register', 'http://127.0.0.1:9/never', '--agent-settings-file', str(target)], env) == 0
    assert main(['run', '--agent-register-only', '--agent-registration-url=http://127.0.0.1:9/never',
                 '--agent-settings-file', str(target)], env) == 0
    assert 'Client registered, exiting' in capsys.readouterr().out


def test_short_passphrase_is_exit_1(env, tmp_path, capsys):
    # Agent/Settings.cs -> EncryptedFieldHelper.KeyInstance.CreateKey throws an ArgumentException for < 8 characters
    rc = main(['register', 'http://127.0.0.1:9/', '--agent-settings-file', str(tmp_path / 'a.json'),
               '--agent-settings-file-passphrase', 'short'], env)
    assert rc == 1
    assert 'Key must be at least 8 characters long' in capsys.readouterr().out


def test_hosted_server_arguments_as_start_local_server_builds_them(env):
    # Agent/Program.cs StartLocalServerAsync: empty values dropped, settings key falls back to agent.json
    dummy, values = parse(env, ['run', '--webservice-password=secretpw'])
    settings = AgentSettings('/nonexistent', settings_encryption_key='from-claim-key')
    args = hosted_server_arguments(values, settings)
    assert args == [
        '--webservice-interface=loopback', '--webservice-password=secretpw', '--webservice-port=8210',
        '--webservice-reset-jwt-config=True', '--webservice-allowed-hostnames=127.0.0.1', '--webservice-api-only=True',
        '--webservice-disable-signin-tokens=True', '--disable-db-encryption=False', '--disable-default-secret-provider=False',
        '--settings-encryption-key=from-claim-key',
        '--webservice-disable-api-extensions=v1:websocket,v1:websocket:authenticate,v1:subscribe:legacystatus,'
        'v1:subscribe:backuplist,v1:subscribe:serversettings,v1:subscribe:progress,v1:subscribe:taskqueue,'
        'v1:subscribe:taskcompleted,v1:subscribe:notifications,v1:subscribe:remotecontrol',
        '--allow-insecure-datafolder=False']
    values['settings_encryption_key'] = 'local-key-1'
    assert '--settings-encryption-key=local-key-1' in hosted_server_arguments(values, settings)
    settings.settings_encryption_key = None
    values['settings_encryption_key'] = None
    assert not any(a.startswith('--settings-encryption-key') for a in hosted_server_arguments(values, settings))


def test_the_default_address_can_be_moved_for_tests_only(env):
    # RegisterForRemote.DefaultRegisterationUrl: the compiled-in address; the emulator-only knob replaces just that
    env['DUPLICATI_EMULATOR_DEFAULT_REGISTRATION_URL'] = 'http://default-console.test/remotecontrol/register'
    assert parse(env, ['run'])[1]['agent_registration_url'] == 'http://default-console.test/remotecontrol/register'
    assert parse(env, ['register'])[1]['agent_registration_url'] == 'http://default-console.test/remotecontrol/register'
    env['DUPLICATI_REMOTE_CONTROL_URL'] = 'http://console.test/reg'
    assert parse(env, ['run'])[1]['agent_registration_url'] == 'http://console.test/reg'
    assert parse(env, ['register'])[1]['agent_registration_url'] == 'http://console.test/reg'
