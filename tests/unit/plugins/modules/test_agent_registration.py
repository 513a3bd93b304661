# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_host, agent_runner, agent_settings
from ansible_collections.duplicati.fleet.plugins.modules import agent_registration
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import running_console
from ansible_collections.duplicati.fleet.tests.emulator.httpbase import Faults
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import run_module

TOKEN = 'fleet-token-0123456789'
PASSPHRASE = 'correct horse battery'


def run(monkeypatch, args, check_mode=False):
    return run_module(monkeypatch, agent_registration, args, check_mode)


def make_agent(tmp_path):
    install = tmp_path / 'install'
    install.mkdir()
    (install / 'package_type_id.txt').write_text('linux-x64-agent.deb\n')
    (install / 'autoupdate.manifest').write_text('{"Version": "2.3.0.4"}')
    script = install / 'duplicati-agent'
    script.write_text('#!/bin/sh\nPYTHONPATH=%s DUPLICATI_EMULATOR_INSTALL_DIR=%s DUPLICATI_EMULATOR_RETRY_SECONDS=0 exec %s -m '
                      'ansible_collections.duplicati.fleet.tests.emulator.agent "$@"\n'
                      % (os.pathsep.join(p for p in sys.path if p), install, sys.executable))
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def console():
    with running_console() as (app, base):
        app.tokens.add('fleet', TOKEN)
        app.url = base + 'remotecontrol/register?token=' + TOKEN
        yield app


@pytest.fixture
def host(tmp_path):
    folder = tmp_path / 'data'
    return {'data_folder': str(folder), 'settings_file': str(folder / 'agent.json'), 'agent_path': make_agent(tmp_path)}


def test_native_registers_once(monkeypatch, console, host):
    args = dict(host, registration_url=console.url, method='native')
    first = run(monkeypatch, args)
    assert first['changed'] and first['registered'] and not first['failed']
    assert first['server_url'].startswith('wss://')
    assert TOKEN not in json.dumps(first)
    ledger = console.ledger.registrations()
    assert len(ledger) == 1
    assert ledger[0]['machineId'] == first['machine_id']
    assert ledger[0]['packageTypeId'] == 'linux-x64-agent.deb' and ledger[0]['version'] == '2.3.0.4'
    assert stat.S_IMODE(os.stat(host['settings_file']).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(host['data_folder']).st_mode) == 0o700
    for name in ('machineid.txt', 'installation.txt'):
        assert os.path.isfile(os.path.join(host['data_folder'], name))
    second = run(monkeypatch, args)
    assert not second['changed'] and second['registered']
    assert second['machine_id'] == first['machine_id']
    assert len(console.ledger.registrations()) == 1


def test_force_registers_again(monkeypatch, console, host):
    args = dict(host, registration_url=console.url, method='native')
    run(monkeypatch, args)
    again = run(monkeypatch, dict(args, force=True))
    assert again['changed']
    assert len(console.ledger.registrations()) == 2


def test_agent_method_registers_once(monkeypatch, console, host):
    args = dict(host, registration_url=console.url)
    first = run(monkeypatch, args)
    assert first['changed'] and first['registered'] and first['method'] == 'agent', first
    second = run(monkeypatch, args)
    assert not second['changed']
    assert len(console.ledger.registrations()) == 1
    forced = run(monkeypatch, dict(args, force=True))
    assert forced['changed'] and len(console.ledger.registrations()) == 2


def test_native_encrypted_settings_are_readable_by_the_agent(monkeypatch, console, host):
    result = run(monkeypatch, dict(host, registration_url=console.url, method='native', settings_passphrase=PASSPHRASE))
    assert result['changed']
    with open(host['settings_file']) as handle:
        saved = json.load(handle)
    assert saved['jwt'].startswith('enc-v1:') and saved['settingsEncryptionKey'].startswith('enc-v1:')
    # The agent stand-in loads it with the passphrase, sees a registration and does not register again.
    agent_runner.run_agent_registration(host['agent_path'], console.url, settings_file=host['settings_file'],
                                        passphrase=PASSPHRASE, data_folder=host['data_folder'], timeout=60)
    assert len(console.ledger.registrations()) == 1


def test_agent_encrypted_settings_are_readable_by_the_module(monkeypatch, console, host):
    run(monkeypatch, dict(host, registration_url=console.url, settings_passphrase=PASSPHRASE))
    with open(host['settings_file']) as handle:
        assert json.load(handle)['jwt'].startswith('enc-v1:')
    loaded = agent_settings.load_agent_settings(host['settings_file'], PASSPHRASE)
    assert agent_settings.is_registered(loaded)
    again = run(monkeypatch, dict(host, registration_url=console.url, method='native', settings_passphrase=PASSPHRASE))
    assert not again['changed'] and again['registered']


@pytest.mark.parametrize('passphrase', ['wrong passphrase!', None])
def test_wrong_or_missing_passphrase_is_a_clear_error(monkeypatch, console, host, passphrase):
    run(monkeypatch, dict(host, registration_url=console.url, method='native', settings_passphrase=PASSPHRASE))
    before = open(host['settings_file']).read()
    result = run(monkeypatch, dict(host, registration_url=console.url, method='native', settings_passphrase=passphrase))
    assert result['failed']
    assert 'key' in result['msg'].lower()
    assert open(host['settings_file']).read() == before
    assert len(console.ledger.registrations()) == 1


@pytest.mark.parametrize('method', ['native', 'agent'])
def test_revoked_link_fails_and_writes_nothing(monkeypatch, console, host, method):
    console.tokens.revoke('fleet')
    result = run(monkeypatch, dict(host, registration_url=console.url, method=method))
    assert result['failed']
    assert 'revoked' in result['msg']
    assert TOKEN not in result['msg']
    assert not os.path.exists(host['settings_file'])
    if method == 'native':
        assert not os.path.exists(os.path.join(host['data_folder'], 'machineid.txt'))
    assert console.ledger.registrations() == []


def test_native_rides_out_503_and_429_bursts(monkeypatch, host):
    with running_console(faults=Faults(error_rate=0.6, rate_limit=1.0, seed=7)) as (app, base):
        app.tokens.add('fleet', TOKEN)
        url = base + 'remotecontrol/register?token=' + TOKEN
        result = run(monkeypatch, dict(host, registration_url=url, method='native', retries=30, timeout=120))
        assert result['changed'] and result['registered'], result
        assert result['attempts'] > 1
        assert app.faults.injected_503 + app.faults.injected_429 >= result['attempts'] - 1
        assert len(app.ledger.registrations()) == 1


def test_native_gives_up_within_retries(monkeypatch, host):
    with running_console(faults=Faults(error_rate=1.0)) as (app, base):
        app.tokens.add('fleet', TOKEN)
        url = base + 'remotecontrol/register?token=' + TOKEN
        result = run(monkeypatch, dict(host, registration_url=url, method='native', retries=2))
        assert result['failed'] and 'after 3 attempts' in result['msg']
        assert TOKEN not in result['msg']
        assert not os.path.exists(host['settings_file'])


@pytest.mark.parametrize('method', ['native', 'agent'])
def test_check_mode_writes_nothing_and_contacts_nobody(monkeypatch, console, host, method):
    result = run(monkeypatch, dict(host, registration_url=console.url, method=method), check_mode=True)
    assert result['changed'] and result['registered']
    assert not os.path.exists(host['data_folder'])
    assert console.log == []


def test_absent_clears_the_registration(monkeypatch, console, host):
    run(monkeypatch, dict(host, registration_url=console.url, method='native'))
    checked = run(monkeypatch, dict(host, state='absent'), check_mode=True)
    assert checked['changed'] and os.path.exists(host['settings_file'])
    result = run(monkeypatch, dict(host, state='absent'))
    assert result['changed'] and not result['registered']
    assert not os.path.exists(host['settings_file'])
    assert not run(monkeypatch, dict(host, state='absent'))['changed']


def test_missing_url_is_a_clear_error(monkeypatch, host):
    monkeypatch.delenv('DUPLICATI_REGISTRATION_URL', raising=False)
    result = run(monkeypatch, dict(host, method='native'))
    assert result['failed'] and 'registration URL' in result['msg']


def test_url_from_the_environment(monkeypatch, console, host):
    monkeypatch.setenv('DUPLICATI_REGISTRATION_URL', console.url)
    result = run(monkeypatch, dict(host, method='native'))
    assert result['changed'] and len(console.ledger.registrations()) == 1


SETTINGS_TOKEN = 'fleet-token-with-settings-42'
CLAIM_SETTINGS = {'reportingurl': 'https://reports.example/r', 'dashboardurl': 'https://dash.example/'}


def settings_link(console):
    console.tokens.add('with-settings', SETTINGS_TOKEN, CLAIM_SETTINGS)
    return console.url.replace(TOKEN, SETTINGS_TOKEN)


def test_agent_that_hangs_after_saving_its_registration_is_registered(monkeypatch, console, host):
    # RegisterAsync saves agent.json, then waits for a local server that never starts in register-only mode.
    result = run(monkeypatch, dict(host, registration_url=settings_link(console), timeout=12))
    assert not result['failed'], result
    assert result['changed'] and result['registered'] and result['server_url'].startswith('wss://')
    assert any('saved its registration' in w and 'within 12 seconds' in w for w in result['warnings']), result['warnings']
    assert SETTINGS_TOKEN not in json.dumps(result)
    assert agent_settings.is_registered(agent_settings.load_agent_settings(host['settings_file'], None))
    assert len(console.ledger.registrations()) == 1
    again = run(monkeypatch, dict(host, registration_url=console.url.replace(TOKEN, SETTINGS_TOKEN), timeout=12))
    assert not again['changed'] and len(console.ledger.registrations()) == 1


def test_forced_agent_run_that_hangs_after_saving_keeps_the_new_registration(monkeypatch, console, host):
    run(monkeypatch, dict(host, registration_url=console.url, method='native'))
    old = agent_settings.load_agent_settings(host['settings_file'], None)['jwt']
    result = run(monkeypatch, dict(host, registration_url=settings_link(console), timeout=12, force=True))
    assert not result['failed'] and result['changed'] and result['registered'], result
    new = agent_settings.load_agent_settings(host['settings_file'], None)['jwt']
    assert new and new != old
    assert [name for name in os.listdir(host['data_folder']) if name.endswith('.previous')] == []
    assert len(console.ledger.registrations()) == 2


def test_agent_timeout_without_a_saved_registration_still_fails(monkeypatch, host, tmp_path):
    # A console that never answers: the agent saves nothing, so the timeout is an error and nothing is written.
    import socket
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(1)
    try:
        url = 'http://127.0.0.1:%d/remotecontrol/register?token=%s' % (silent.getsockname()[1], TOKEN)
        result = run(monkeypatch, dict(host, registration_url=url, timeout=3))
    finally:
        silent.close()
    assert result['failed'] and 'within 3 seconds' in result['msg']
    assert not os.path.exists(host['settings_file'])


def test_native_warns_about_claim_settings_it_does_not_apply(monkeypatch, console, host):
    result = run(monkeypatch, dict(host, registration_url=settings_link(console), method='native'))
    assert result['changed'] and result['registered'] and not result['failed']
    warnings = [w for w in result['warnings'] if 'updatesettings' in w]
    assert len(warnings) == 1 and 'dashboardurl, reportingurl' in warnings[0]
    assert 'https://reports.example/r' not in warnings[0]
    plain = run(monkeypatch, dict(host, registration_url=console.url, method='native', force=True))
    assert plain['changed'] and [w for w in plain['warnings'] if 'updatesettings' in w] == warnings  # none added


def test_default_agent_json_follows_the_service_options(monkeypatch, console, tmp_path):
    # The agent service's options file (the unit's EnvironmentFile) moves the data folder: DataFolderManager.GetDataFolder.
    service_folder = tmp_path / 'service-data'
    options = tmp_path / 'duplicati-agent'
    options.write_text('DAEMON_OPTS="--webservice-port=8300 --server-datafolder=%s"\n' % service_folder)
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    systemctl = bindir / 'systemctl'
    systemctl.write_text('#!/bin/sh\nprintf "LoadState=loaded\\nActiveState=inactive\\nUnitFileState=enabled\\n'
                         'EnvironmentFiles=%s (ignore_errors=yes)\\n"\n' % options)
    systemctl.chmod(0o755)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ.get('PATH', '')))
    monkeypatch.setattr(agent_host.platform, 'system', lambda: 'Linux')
    args = dict(registration_url=console.url, method='native', agent_path=make_agent(tmp_path))
    checked = run(monkeypatch, args, check_mode=True)
    assert checked['settings_file'] == str(service_folder / 'agent.json'), checked
    result = run(monkeypatch, args)
    assert result['changed'] and result['settings_file'] == str(service_folder / 'agent.json')
    assert agent_settings.is_registered(agent_settings.load_agent_settings(str(service_folder / 'agent.json'), None))
    assert (service_folder / 'machineid.txt').read_text().split('\n')[0] == result['machine_id']
    assert not run(monkeypatch, args)['changed']


FULL_DISK_DRIVER = r'''
import json, os, subprocess, sys
disk, free_pages, args_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
subprocess.check_call(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk])
fd = os.open(os.path.join(disk, 'filler'), os.O_WRONLY | os.O_CREAT, 0o600)
size = 0
while True:
    try:
        size += os.write(fd, b'x' * 4096)
    except OSError:
        break
os.ftruncate(fd, max(0, size - free_pages * 4096))
os.close(fd)

def run():
    done = subprocess.run([sys.executable, '-m', 'ansible_collections.duplicati.fleet.plugins.modules.agent_registration',
                           args_file], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return json.loads(done.stdout.decode() or '{}'), done.stderr.decode()

first = run()
left_after_first = sorted(os.listdir(os.path.join(disk, 'data'))) if os.path.isdir(os.path.join(disk, 'data')) else []
os.unlink(os.path.join(disk, 'filler'))
second = run()
print(json.dumps({'first': first, 'second': second, 'left_after_first': left_after_first}))
'''


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists('/usr/bin/unshare'), reason='needs root and unshare for a small tmpfs')
@pytest.mark.parametrize('free_pages', [0, 1, 2, 3, 4])
def test_a_full_disk_never_registers_a_second_machine_id(tmp_path, console, free_pages):
    """The disk fills up during a native registration; after space is freed the retry registers the same machine."""
    disk = tmp_path / 'disk'
    disk.mkdir()
    args_file = tmp_path / 'args.json'
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {
        'registration_url': console.url, 'method': 'native', 'data_folder': str(disk / 'data'),
        'agent_path': str(tmp_path / 'no-agent'), 'timeout': 30}}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run(['unshare', '-m', sys.executable, '-c', FULL_DISK_DRIVER, str(disk), str(free_pages), str(args_file)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    first, second = outcome['first'][0], outcome['second'][0]
    assert first.get('failed') or first.get('registered'), outcome
    if first.get('failed'):
        assert 'No space left on device' in first['msg'] and 'Traceback' not in first['msg'], first
        assert 'exception' not in first
        assert not [name for name in outcome['left_after_first'] if name.startswith('.')], outcome  # no temp file left
    assert second.get('registered') and not second.get('failed'), outcome
    machine_ids = set(entry['machineId'] for entry in console.ledger.registrations())
    assert machine_ids == set([second['machine_id']]), 'one host, %d machine IDs registered' % len(machine_ids)
    assert TOKEN not in done.stdout.decode()
