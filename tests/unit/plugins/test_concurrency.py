# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two runs converging the same host at the same time.

Two module processes start together on the same file, as two playbooks run against one
host would. Each pair must leave a valid file that holds what *both* runs asked for (no
lost update from a read-modify-write race), never a mix of the two, and the
registration must happen once: one console registration, one run reporting a change.
The writes go through the slow-disk shim of ``module_process`` so the two runs overlap
for a long time.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings, serverutil_settings
from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils import preload as pl
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import running_console
from ansible_collections.duplicati.fleet.tests.unit.plugins import module_process
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import PASSWORD, server

TOKEN = 'concurrency-token-0123456789'
ROUNDS = 3


def together(*runs):
    """Start every ``(name, args, workdir, kwargs)`` at once; their results in order."""
    procs = [module_process.start(name, args, workdir, **kwargs) for name, args, workdir, kwargs in runs]
    return [module_process.result_of(proc) for proc in procs]


def no_temp_files(folder):
    return [name for name in os.listdir(str(folder)) if name.endswith('.tmp')]


def test_two_preload_runs_keep_both_entries(tmp_path):
    for round_number in range(ROUNDS):
        path = str(tmp_path / ('preload-%d.json' % round_number))
        # a large common part, so that writing takes long enough to overlap
        base = dict(path=path, args={'server': ['--common-%d=%s' % (i, 'c' * 40) for i in range(200)]})
        slow = dict(slow_writes=True, write_chunk=256, write_pause=0.004)
        first, second = together(('preload', dict(base, env={'agent': {'FIRST': 'one'}}), tmp_path, slow),
                                 ('preload', dict(base, env={'agent': {'SECOND': 'two'}}), tmp_path, slow))
        assert not first.get('failed') and not second.get('failed'), (first.get('msg'), second.get('msg'))
        document, dummy = pl.read_preload_file(path)
        assert document['env']['agent'] == {'FIRST': 'one', 'SECOND': 'two'}, 'an update was lost: %r' % document['env']
        assert len(document['args']['server']) == 200
        assert no_temp_files(tmp_path) == []


def test_two_registrations_of_one_host_register_once(tmp_path):
    with running_console() as (app, base):
        app.tokens.add('fleet', TOKEN)
        for round_number in range(ROUNDS):
            folder = tmp_path / ('data-%d' % round_number)
            args = dict(registration_url=base + 'remotecontrol/register?token=' + TOKEN, method='native',
                        data_folder=str(folder), settings_file=str(folder / 'agent.json'), agent_path=str(tmp_path / 'no-agent'))
            slow = dict(slow_writes=True, write_chunk=64, write_pause=0.004)
            results = together(('agent_registration', args, tmp_path, slow), ('agent_registration', args, tmp_path, slow))
            assert [r.get('failed', False) for r in results] == [False, False], [r.get('msg') for r in results]
            assert sorted(r['changed'] for r in results) == [False, True]
            assert all(r['registered'] for r in results)
            machine_id = df.read_machine_id(str(folder))
            assert [r['machine_id'] for r in results] == [machine_id, machine_id]
            assert len(app.ledger.registrations(machineId=machine_id)) == 1
            settings = agent_settings.load_agent_settings(str(folder / 'agent.json'))
            assert app.issuer.verify(settings['jwt'])['mid'] == machine_id
            assert no_temp_files(folder) == []
        assert app.ledger.summary()['duplicates'] == {}
        assert app.ledger.summary()['count'] == ROUNDS


@pytest.fixture(scope='module')
def two_servers():
    with server('--seed-backups', '2') as first:
        with server('--seed-backups', '2') as second:
            yield first, second


def test_two_logins_to_different_servers_keep_both_entries(tmp_path, two_servers):
    key = 'concurrency-key-1'
    for round_number in range(ROUNDS):
        path = str(tmp_path / ('settings-%d.json' % round_number))
        slow = dict(slow_writes=True, write_chunk=16, write_pause=0.004)
        results = together(*[('server_login', dict(host_url=harness.url, password=PASSWORD, settings_file=path, settings_encryption_key=key),
                              tmp_path, slow) for harness in two_servers])
        assert [r.get('failed', False) for r in results] == [False, False], [r.get('msg') for r in results]
        entries = serverutil_settings.load_serverutil_settings(path, key)
        stored = sorted(e['HostUrl'] for e in entries if e.get('RefreshToken'))
        assert stored == sorted(h.url for h in two_servers), 'a login was lost: %r' % stored
        assert no_temp_files(tmp_path) == []


def test_two_exports_to_one_file_leave_one_complete_export(tmp_path, two_servers):
    harness = two_servers[0]
    for round_number in range(ROUNDS):
        dest = str(tmp_path / ('export-%d.json' % round_number))
        slow = dict(slow_writes=True, write_chunk=16, write_pause=0.002)
        results = together(*[('backup_export', dict(host_url=harness.url, password=PASSWORD, backup=backup, dest=dest), tmp_path, slow)
                             for backup in ('1', '2')])
        assert [r.get('failed', False) for r in results] == [False, False], [r.get('msg') for r in results]
        with open(dest, 'rb') as handle:
            exported = json.loads(handle.read().decode('utf-8'))
        assert str(exported['Backup']['ID']) in ('1', '2')
        assert no_temp_files(tmp_path) == []
