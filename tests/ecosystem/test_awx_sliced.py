# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/rollout.yml as a sliced AWX / Automation Controller job runs it: a job template with
``job_slice_count`` K becomes K jobs that run at the same time, each through ansible-runner with its
own private data folder and an inventory of its slice only. The controller's
``Inventory.get_script_data`` sorts the hosts by name and gives slice i (1-based) the hosts
``[i-1::K]``. Each slice is a play of its own: ``serial`` and ``max_fail_percentage`` count within
the slice, so each slice has its own canary batch. Against one emulated console."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys

import ansible_runner

from ansible_collections.duplicati.fleet.tests.ecosystem.awx_credential import inject_env, load_credential_type
from ansible_collections.duplicati.fleet.tests.ecosystem.test_awx_job import PLAYBOOK


def slices(hosts, count):
    """The hosts of each slice, as the controller builds a sliced job's inventories."""
    ordered = sorted(hosts)
    return [ordered[number::count] for number in range(count)]


def _sliced_job(site, hosts, count, envvars, host_vars=None):
    """Start one ansible-runner job per slice, all at once; wait for them; return their runners."""
    started = []
    for number, members in enumerate(slices(hosts, count), 1):
        private = site['work'] / ('slice-%d' % number)
        private.mkdir(mode=0o700)
        inventory = {'duplicati_agents': {'hosts': {}}}
        for host in members:
            folder = site['work'] / 'hosts' / host
            folder.mkdir(mode=0o700, parents=True)
            variables = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                         'duplicati_agent_data_folder': str(folder / 'data'),
                         'duplicati_agent_preload_path': str(folder / 'preload.json')}
            variables.update((host_vars or {}).get(host, {}))
            inventory['duplicati_agents']['hosts'][host] = variables
        extravars = {'duplicati_agent_package_source': 'none', 'duplicati_agent_manage_service': False,
                     'duplicati_agent_path': site['agent']}
        started.append(ansible_runner.run_async(
            private_data_dir=str(private), ident='slice-%d' % number, playbook=PLAYBOOK, inventory=inventory,
            extravars=extravars, envvars=envvars, quiet=True, settings={'suppress_ansible_output': True}))
    for thread, dummy in started:
        thread.join(600)
    return [runner for dummy, runner in started]


def _batches(runner):
    """The hosts each serial batch ran the role on: one play start per batch."""
    batches = []
    for event in runner.events:
        if event['event'] == 'playbook_on_play_start':
            batches.append(set())
        elif event['event'].startswith('runner_on_') and batches:
            batches[-1].add(event['event_data']['host'])
    return batches


def _ledger(site):
    return json.loads(subprocess.run([sys.executable, '-c', 'import sys, urllib.request; '
                                      'print(urllib.request.urlopen(sys.argv[1]).read().decode())',
                                      site['console'] + '_emulator/ledger?tokenName=awx'],
                                     check=True, capture_output=True, text=True).stdout)


def _registered(site, host):
    path = str(site['work'] / 'hosts' / host / 'data' / 'agent.json')
    if not os.path.exists(path):
        return False
    with open(path) as handle:
        return bool(json.load(handle).get('serverUrl'))


def _envvars(site):
    return inject_env(load_credential_type(), {'registration_url': site['url'], 'settings_passphrase': 'sliced passphrase 123'})


def test_slices_of_one_inventory():
    assert slices(['h3', 'h1', 'h2', 'h5', 'h4'], 2) == [['h1', 'h3', 'h5'], ['h2', 'h4']]
    assert slices(['h1', 'h2'], 3) == [['h1'], ['h2'], []]


def test_sliced_rollout_registers_every_host_once(site):
    hosts = ['agent%02d' % number for number in range(1, 10)]
    runners = _sliced_job(site, hosts, 3, _envvars(site))
    for number, (runner, members) in enumerate(zip(runners, slices(hosts, 3)), 1):
        assert runner.status == 'successful', (number, runner.stdout.read()[-4000:])
        assert sorted(runner.stats['ok']) == members
        assert sorted(runner.stats['changed']) == members
        assert not runner.stats['failures'] and not runner.stats['dark']
        # the rollout's batches [1, 10 %, 30 %, 100 %] of a slice of 3 hosts: one host each, the slice's
        # first host (by name) its canary
        assert _batches(runner) == [{members[0]}, {members[1]}, {members[2]}]
    ledger = _ledger(site)
    assert ledger['count'] == len(hosts) and ledger['machines'] == len(hosts)
    assert ledger['duplicates'] == {}
    assert all(_registered(site, host) for host in hosts)


def test_a_failed_canary_stops_its_slice_only(site):
    hosts = ['agent%02d' % number for number in range(1, 7)]
    # the canary of slice 1 (agent01) holds a link the console does not know
    bad = {'agent01': {'duplicati_agent_registration_url': site['console'] + 'remotecontrol/register?token=unknown-link'}}
    first, second = _sliced_job(site, hosts, 2, _envvars(site), bad)
    assert first.status == 'failed'
    assert list(first.stats['failures']) == ['agent01']
    # max_fail_percentage counts within the slice: its canary batch failed, so its other hosts never ran
    assert _batches(first) == [{'agent01'}]
    assert not any(_registered(site, host) for host in ('agent01', 'agent03', 'agent05'))
    # the other slice, with its own canary, rolled out in full
    assert second.status == 'successful', second.stdout.read()[-4000:]
    assert _batches(second) == [{'agent02'}, {'agent04'}, {'agent06'}]
    assert all(_registered(site, host) for host in ('agent02', 'agent04', 'agent06'))
    ledger = _ledger(site)
    assert ledger['count'] == 3 and ledger['machines'] == 3 and ledger['duplicates'] == {}
