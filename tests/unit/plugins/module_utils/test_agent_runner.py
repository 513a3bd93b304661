# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_runner as ar
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import running_console
from ansible_collections.duplicati.fleet.tests.emulator.httpbase import Faults

TOKEN = 'fleet-token-0123456789'
PASSPHRASE = 'correct horse battery'


def make_agent(tmp_path):
    """A ``duplicati-agent`` executable that runs the agent stand-in, and its install folder."""
    install = tmp_path / 'install'
    install.mkdir()
    (install / 'package_type_id.txt').write_text('\nlinux-x64-agent.deb\n')
    script = install / 'duplicati-agent'
    script.write_text('#!/bin/sh\nPYTHONPATH=%s DUPLICATI_EMULATOR_INSTALL_DIR=%s exec %s -m '
                      'ansible_collections.duplicati.fleet.tests.emulator.agent "$@"\n'
                      % (os.pathsep.join(p for p in sys.path if p), install, sys.executable))
    script.chmod(0o755)
    return str(script)


def data_folder(tmp_path):
    folder = tmp_path / 'data'
    folder.mkdir(mode=0o700)
    return str(folder)


def proc_cmdlines():
    lines = []
    for path in glob.glob('/proc/[0-9]*/cmdline'):
        try:
            with open(path, 'rb') as handle:
                lines.append(handle.read().replace(b'\0', b' ').decode('utf-8', 'replace'))
        except (IOError, OSError):
            pass
    return lines


def test_command_line_holds_no_secret():
    argv = ar.build_command('/usr/bin/duplicati-agent', '/root/.config/Duplicati/agent.json', '/data')
    assert argv == ['/usr/bin/duplicati-agent', 'run', '--agent-register-only',
                    '--agent-settings-file=/root/.config/Duplicati/agent.json', '--server-datafolder=/data']
    doc = ar.preload_document('https://c/r?token=x', PASSPHRASE)
    assert doc == {'args': {'agent': ['--agent-registration-url=https://c/r?token=x',
                                      '--agent-settings-file-passphrase=%s' % PASSPHRASE]}}


def test_inherited_preload_is_kept_under_ours(tmp_path):
    theirs = tmp_path / 'p.json'
    theirs.write_text(json.dumps({'env': {'*': {'A': '1'}}, 'args': {'agent': ['--agent-registration-url=old', '--x=1']}}))
    merged, exclusive = ar.merge_inherited_preload(ar.preload_document('new'), '!' + str(theirs))
    assert exclusive
    assert merged['env'] == {'*': {'A': '1'}}
    assert merged['args']['agent'] == ['--x=1', '--agent-registration-url=new']
    assert ar.merge_inherited_preload(ar.preload_document('new'), str(tmp_path / 'missing')) == (ar.preload_document('new'), False)


def test_mask_secrets():
    url = 'http://h/remotecontrol/register?token=%s' % TOKEN
    text = ar.mask_secrets('posting to %s with %s and %s' % (url, TOKEN, PASSPHRASE), url, PASSPHRASE)
    assert TOKEN not in text and PASSPHRASE not in text


def test_missing_binary_is_a_clear_error(tmp_path):
    with pytest.raises(ar.AgentRunError, match='not found or is not executable'):
        ar.run_agent_registration(str(tmp_path / 'nope'), 'http://h/r?token=abcdefgh')


@pytest.mark.parametrize('handover', ['preload', 'environment'])
def test_the_agent_registers_without_the_url_on_any_command_line(tmp_path, monkeypatch, handover):
    private_tmp = tmp_path / 'tmp'
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(private_tmp))
    agent = make_agent(tmp_path)
    folder = data_folder(tmp_path)
    settings = os.path.join(folder, 'agent.json')
    seen = []
    done = threading.Event()

    with running_console(faults=Faults(latency=0.3)) as (app, base):
        app.tokens.add('fleet', TOKEN)
        url = base + 'remotecontrol/register?token=' + TOKEN

        def watch():
            while not done.is_set():
                seen.extend(proc_cmdlines())

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            result = ar.run_agent_registration(agent, url, settings_file=settings, passphrase=PASSPHRASE,
                                               data_folder=folder, handover=handover, timeout=60)
        finally:
            done.set()
            watcher.join()
        assert result.rc == 0
        assert len(app.ledger.registrations()) == 1
    assert any('--agent-register-only' in line for line in seen), 'the watcher never saw the agent run'
    assert any('--agent-register-only' in line and str(tmp_path) in line for line in seen)
    assert not [line for line in seen if TOKEN in line or PASSPHRASE in line]
    assert TOKEN not in result.stdout + result.stderr
    # agent.json was written by the agent, encrypted with the passphrase, private
    with open(settings) as handle:
        saved = json.load(handle)
    assert saved['jwt'].startswith('enc-v1:')
    assert stat.S_IMODE(os.stat(settings).st_mode) == 0o600
    # the private preload folder is gone
    assert os.listdir(str(private_tmp)) == []


def test_a_revoked_link_fails_with_the_console_message_and_no_secret(tmp_path):
    agent = make_agent(tmp_path)
    folder = data_folder(tmp_path)
    with running_console() as (app, base):
        app.tokens.add_revoked(TOKEN)
        url = base + 'remotecontrol/register?token=' + TOKEN
        env = dict(os.environ, DUPLICATI_EMULATOR_RETRY_SECONDS='0')
        with pytest.raises(ar.AgentRunError) as err:
            ar.run_agent_registration(agent, url, settings_file=os.path.join(folder, 'agent.json'), data_folder=folder,
                                      timeout=60, environ=env)
    assert 'revoked' in str(err.value)
    assert TOKEN not in str(err.value)
    assert not os.path.exists(os.path.join(folder, 'agent.json'))


def test_a_hanging_agent_is_stopped_at_the_timeout(tmp_path):
    script = tmp_path / 'slow-agent'
    script.write_text('#!/bin/sh\nsleep 30\n')
    script.chmod(0o755)
    with pytest.raises(ar.AgentRunError, match='within 1 seconds'):
        ar.run_agent_registration(str(script), 'http://127.0.0.1:9/r?token=abcdefgh', timeout=1)


# The secrets reach the runner in its environment: other tests watch the process list for them.
RUNNER = ('import os, sys\n'
          'from ansible_collections.duplicati.fleet.plugins.module_utils import agent_runner as ar\n'
          'ar.run_agent_registration(sys.argv[1], os.environ.pop("TEST_URL"), passphrase=os.environ.pop("TEST_PASSPHRASE"),'
          ' timeout=120)\n')


def _alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (IOError, OSError):
        return False


def _files_holding(folder, secrets):
    """Regular files under ``folder`` that hold one of ``secrets`` (named pipes are not opened)."""
    found = []
    for root, dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                with open(path, 'rb') as handle:
                    data = handle.read()
                if any(s.encode('utf-8') in data for s in secrets):
                    found.append(path)
    return found


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='the kernel ends the agent with its parent on Linux only')
@pytest.mark.parametrize('signum', [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize('reads_handover', [True, False])
def test_a_killed_run_leaves_no_secret_and_no_agent(tmp_path, signum, reads_handover):
    """The module killed while the agent runs (kill -9, or a task timeout): no agent survives, no file keeps a secret."""
    private_tmp = tmp_path / 'tmp'
    private_tmp.mkdir()
    pidfile = tmp_path / 'agent.pid'
    agent = tmp_path / 'duplicati-agent'
    agent.write_text('#!/bin/sh\n%secho $$ > %s\nexec sleep 60\n'
                     % ('cat "$DUPLICATI_PRELOAD_SETTINGS" > /dev/null\n' if reads_handover else '', pidfile))
    agent.chmod(0o755)
    url = 'http://127.0.0.1:9/register?token=' + TOKEN
    env = dict(os.environ, TMPDIR=str(private_tmp), PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
               TEST_URL=url, TEST_PASSPHRASE=PASSPHRASE)
    runner = subprocess.Popen([sys.executable, '-c', RUNNER, str(agent)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    agent_pid = int(pidfile.read_text())
    assert _alive(agent_pid)
    os.kill(runner.pid, signum)
    out, err = runner.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while _alive(agent_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(agent_pid), 'the agent outlived the killed run'
    assert _files_holding(str(private_tmp), [TOKEN, PASSPHRASE]) == []
    if signum != signal.SIGKILL:
        assert os.listdir(str(private_tmp)) == []
        assert b'Stopped by signal %d' % signum in err
        assert TOKEN.encode() not in out + err and PASSPHRASE.encode() not in out + err


def test_the_handover_is_gone_once_the_agent_read_it(tmp_path):
    agent = tmp_path / 'duplicati-agent'
    agent.write_text('#!/bin/sh\ncat "$DUPLICATI_PRELOAD_SETTINGS"\necho\n'
                     'test -e "$DUPLICATI_PRELOAD_SETTINGS" && echo still there || echo gone\n')
    agent.chmod(0o755)
    result = ar.run_agent_registration(str(agent), 'http://h/r?token=' + TOKEN, passphrase=PASSPHRASE, timeout=30,
                                       environ=dict(os.environ, DUPLICATI_PRELOAD_SETTINGS_DEBUG='1'))
    first, second = result.stdout.strip().splitlines()
    assert json.loads(first) == {'args': {'agent': ['--agent-registration-url=http://h/r?token=********',
                                                    '--agent-settings-file-passphrase=********']}}
    assert second == 'gone'
