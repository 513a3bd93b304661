# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``RegisterForRemote.RegisterClientAsync`` and ``Agent/Program.cs`` ``RegisterAsync``: each successful registration hands a machine its own
``jwt``; the ledger records every one (machine id, install id, instance id, token name,
time, remote address) so that tests can count duplicate registrations, stays exact under
many parallel registrations, and survives a restart when kept in a file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.duplicati.fleet.tests.emulator.console.agent_protocol import (
    RegistrationFailed, machine_data, read_register_answer)
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import call, call_json, running_console
from ansible_collections.duplicati.fleet.tests.emulator.console.ledger import Ledger, LedgerError
from ansible_collections.duplicati.fleet.tests.emulator.console.tokens import TokenStore

TOKEN = 'ledger-token-abcdef'


def _store():
    store = TokenStore()
    store.add('fleet', TOKEN)
    return store


def _register(link, machine, instance=None):
    body = machine_data(link, machine, install_id='inst-' + machine, instance_id=instance)
    status, _h, raw = call(link, body)
    return read_register_answer(status, raw)


def test_entry_fields_and_duplicate_count():
    with running_console(tokens=_store()) as (app, base):
        link = base + 'remotecontrol/register?token=' + TOKEN
        _register(link, 'alpha', instance='i-1')
        _register(link, 'alpha', instance='i-2')
        _register(link, 'beta')
        _s, summary = call_json(base + '_emulator/ledger')
        _s, alpha = call_json(base + '_emulator/ledger?machineId=alpha')
    assert summary['count'] == 3 and summary['machines'] == 2
    assert summary['duplicates'] == {'alpha': 2}
    assert alpha['count'] == 2
    entry = alpha['registrations'][0]
    assert entry['machineId'] == 'alpha' and entry['installId'] == 'inst-alpha' and entry['instanceId'] == 'i-1'
    assert entry['tokenName'] == 'fleet' and entry['flow'] == 'token'
    assert entry['remoteAddress'] == '127.0.0.1'
    assert entry['packageTypeId'] == 'linux-x64-agent.deb'
    assert entry['time'].endswith('+00:00')


def test_parallel_registrations_are_all_recorded():
    count = 300
    with running_console(tokens=_store()) as (app, base):
        link = base + 'remotecontrol/register?token=' + TOKEN
        with ThreadPoolExecutor(max_workers=64) as pool:
            results = list(pool.map(lambda n: _register(link, 'host-%04d' % n), range(count)))
        _s, summary = call_json(base + '_emulator/ledger')
    assert all(kind == 'claimed' for kind, _data in results)
    assert len({data['jwt'] for _kind, data in results}) == count
    assert summary['count'] == count and summary['machines'] == count and summary['duplicates'] == {}


def test_ledger_file_is_private_and_survives_restart(tmp_path):
    path = str(tmp_path / 'ledger.json')
    with running_console(tokens=_store(), ledger=Ledger(path)) as (app, base):
        link = base + 'remotecontrol/register?token=' + TOKEN
        _register(link, 'gamma')
        with pytest.raises(RegistrationFailed):
            _register(base + 'remotecontrol/register?token=wrong-token-000', 'delta')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        data = json.load(handle)
    assert [e['machineId'] for e in data['registrations']] == ['gamma']
    assert [e['machineId'] for e in data['rejections']] == ['delta']
    assert not [n for n in os.listdir(str(tmp_path)) if n != 'ledger.json']
    with running_console(tokens=_store(), ledger=Ledger(path)) as (app, base):
        _register(base + 'remotecontrol/register?token=' + TOKEN, 'gamma')
        _s, summary = call_json(base + '_emulator/ledger')
    assert summary['count'] == 2 and summary['duplicates'] == {'gamma': 2}


def test_unreadable_ledger_file_is_refused(tmp_path):
    path = tmp_path / 'ledger.json'
    path.write_text('{"something": "else"}')
    with pytest.raises(LedgerError):
        Ledger(str(path))
    assert path.read_text() == '{"something": "else"}'
