# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``kill -9`` of a module at a random moment leaves the previous file intact.

Each module runs as its own process (as Ansible runs it on a host) and rewrites one of
the files a host depends on: ``preload.json`` (``preload``), ``agent.json``
(``agent_registration``), ServerUtil's ``settings.json`` (``server_login``) and an
exported backup configuration (``backup_export``). The process is killed with SIGKILL
after a random delay within its normal run time, again and again. After every kill the
file must be either byte-for-byte the previous one or a complete new one, never a mix
or a truncated file.

The module processes write through a slow-disk shim (every ``os.write`` goes out in
small chunks with a pause), so that many kills land while the file is being written;
a kill that left the writer's temporary file behind proves it did. Each loop goes on
until enough kills landed mid-write. ``test_the_loop_notices_a_writer_that_is_not_crash_safe``
runs the same loop with ``write_atomic`` replaced by a plain truncate-and-write and
expects it to find a damaged file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import json
import os
import random
import signal
import time

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings, serverutil_settings
from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils import preload as pl
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import running_console
from ansible_collections.duplicati.fleet.tests.unit.plugins import module_process
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import PASSWORD, server

TOKEN = 'crash-token-0123456789abcdef'
MID_WRITE_KILLS = 3      # kills that must land while the file is being written
MAX_ROUNDS = 24


def read(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def temp_files(path):
    """The temporary files ``write_atomic`` leaves when killed before its rename."""
    folder, name = os.path.split(path)
    return glob.glob(os.path.join(folder, '.%s.*.tmp' % name))


def kill_loop(path, start, check, seed, mid_write_kills=MID_WRITE_KILLS, max_rounds=MAX_ROUNDS, stop_on_damage=False):
    """Start a module (``start(round)``), SIGKILL it at a random moment, ``check(before, after, round)``.

    Returns (rounds, kills that landed mid-write, damaged rounds).
    """
    rng = random.Random(seed)
    began = time.monotonic()
    reference = module_process.result_of(start(-1))
    full_run = time.monotonic() - began
    assert reference['rc'] == 0 and not reference.get('failed'), reference
    mid_write = rounds = 0
    damaged = []
    while rounds < max_rounds and mid_write < mid_write_kills:
        before = read(path)
        proc = start(rounds)
        if rounds % 2:
            # every other round: a random moment of the whole run (start-up, reading, writing, renaming)
            time.sleep(rng.uniform(0.0, full_run))
        else:
            # the others: a random moment after the write began, however slow a loaded machine is
            deadline = time.monotonic() + max(30.0, 5 * full_run)
            while not temp_files(path) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.02))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        leftovers = temp_files(path)
        if leftovers:
            mid_write += 1
            for leftover in leftovers:
                os.unlink(leftover)
        after = read(path)
        try:
            check(before, after, rounds)
        except AssertionError as exc:
            damaged.append((rounds, str(exc)))
            if stop_on_damage:
                return rounds + 1, mid_write, damaged
        rounds += 1
    print('\n%s: %d kills (%d mid-write) within %.2f s runs, seed %d' % (os.path.basename(path), rounds, mid_write, full_run, seed))
    return rounds, mid_write, damaged


# ---- preload.json ----------------------------------------------------------------------

def preload_args(path, variant):
    """Two large, different preload.json contents (about 40 kB each)."""
    return dict(path=path, merge=False, args={'agent': ['--option-%d-%d=%s' % (variant, i, 'v' * 40) for i in range(700)]},
                env={'agent': {'VARIANT': str(variant)}})


def preload_loop(tmp_path, seed, **kwargs):
    path = str(tmp_path / 'preload.json')
    expected = dict((v, pl.render_preload(pl.replace_preload(dict((k, val) for k, val in preload_args(path, v).items()
                                                                  if k in ('args', 'env', 'db')))).encode('utf-8'))
                    for v in (0, 1))
    in_place = kwargs.pop('in_place_writes', False)

    def start(n):
        return module_process.start('preload', preload_args(path, n % 2 if n >= 0 else 1), tmp_path,
                                    slow_writes=True, write_chunk=512, write_pause=0.008, in_place_writes=in_place)

    def check(before, after, n):
        assert after is not None, 'preload.json is gone'
        assert after == before or after == expected[n % 2], 'preload.json is neither the previous nor the new file (%d bytes)' % len(after)
        pl.read_preload_file(path)

    return kill_loop(path, start, check, seed, **kwargs)


def test_kill_during_preload_write_keeps_the_previous_file(tmp_path):
    rounds, mid_write, damaged = preload_loop(tmp_path, seed=11)
    assert damaged == []
    assert mid_write >= MID_WRITE_KILLS


def test_the_loop_notices_a_writer_that_is_not_crash_safe(tmp_path):
    rounds, dummy, damaged = preload_loop(tmp_path, seed=12, in_place_writes=True, mid_write_kills=10 ** 6,
                                          max_rounds=25, stop_on_damage=True)
    assert damaged, 'a truncate-and-write writer survived %d kills unnoticed' % rounds


# ---- agent.json --------------------------------------------------------------------------

def test_kill_during_registration_keeps_agent_json(tmp_path):
    folder = tmp_path / 'data'
    path = str(folder / 'agent.json')
    with running_console() as (app, base):
        app.tokens.add('fleet', TOKEN)
        args = dict(registration_url=base + 'remotecontrol/register?token=' + TOKEN, method='native', force=True,
                    data_folder=str(folder), settings_file=path, agent_path=str(tmp_path / 'no-agent'))

        def start(n):
            return module_process.start('agent_registration', args, tmp_path, slow_writes=True, write_chunk=16, write_pause=0.005)

        def check(before, after, n):
            assert after is not None, 'agent.json is gone'
            settings = agent_settings.parse_agent_settings(after.decode('utf-8'))
            assert agent_settings.is_registered(settings)
            if after != before:
                # a complete new file: a token the console issued for this machine
                assert app.issuer.verify(settings['jwt'])['mid'] == df.read_machine_id(str(folder))

        rounds, mid_write, damaged = kill_loop(path, start, check, seed=21)
    assert damaged == []
    assert mid_write >= MID_WRITE_KILLS


# ---- settings.json and exports (server modules) ---------------------------------------------

@pytest.fixture(scope='module')
def duplicati_server():
    with server('--seed-backups', '2') as harness:
        yield harness


def test_kill_during_login_keeps_settings_json(tmp_path, duplicati_server):
    path = str(tmp_path / 'settings.json')
    args = dict(host_url=duplicati_server.url, password=PASSWORD, settings_file=path, settings_encryption_key='crash-test-key-1')

    def start(n):
        return module_process.start('server_login', args, tmp_path, slow_writes=True, write_chunk=8, write_pause=0.008)

    def check(before, after, n):
        assert after is not None, 'settings.json is gone'
        entries = json.loads(after.decode('utf-8'))
        assert isinstance(entries, list) and len(entries) == 1
        loaded = serverutil_settings.load_serverutil_settings(path, 'crash-test-key-1')
        assert loaded[0]['RefreshToken'], 'the stored login lost its token'

    rounds, mid_write, damaged = kill_loop(path, start, check, seed=31)
    assert damaged == []
    assert mid_write >= MID_WRITE_KILLS


def test_kill_during_export_keeps_the_exported_file(tmp_path, duplicati_server):
    dest = str(tmp_path / 'backup.json')

    def start(n):
        # alternate between the two backups, so every run rewrites the file
        return module_process.start('backup_export', dict(host_url=duplicati_server.url, password=PASSWORD, backup=str(n % 2 + 1), dest=dest),
                                    tmp_path, slow_writes=True, write_chunk=16, write_pause=0.004)

    def check(before, after, n):
        assert after is not None, 'the export is gone'
        exported = json.loads(after.decode('utf-8'))
        assert str(exported['Backup']['ID']) in ('1', '2')
        assert after == before or str(exported['Backup']['ID']) == str(n % 2 + 1)

    rounds, mid_write, damaged = kill_loop(dest, start, check, seed=41)
    assert damaged == []
    assert mid_write >= MID_WRITE_KILLS
