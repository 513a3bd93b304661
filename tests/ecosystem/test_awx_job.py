# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/rollout.yml as an AWX / Automation Controller job runs it: through ansible-runner,
with the registration link and the settings passphrase given only as the environment a
credential of extensions/awx/credential_type.yml injects, against the emulated console and
the agent stand-in. Run by ``scripts/test.sh ecosystem`` (needs ansible-runner, ansible-core
and the collection on ANSIBLE_COLLECTIONS_PATH)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import secrets
import subprocess
import sys

import ansible_runner
import pytest

from ansible_collections.duplicati.fleet.tests.ecosystem.awx_credential import (
    COLLECTION_ROOT, inject_env, load_credential_type)

PLAYBOOK = os.path.join(COLLECTION_ROOT, 'playbooks', 'rollout.yml')
HOSTS = ('agent1', 'agent2')


def _emulator(*args):
    path = [os.environ.get('ANSIBLE_COLLECTIONS_PATH'), os.environ.get('PYTHONPATH')]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in path if p))
    return subprocess.run([sys.executable, '-m', 'ansible_collections.duplicati.fleet.tests.emulator'] + list(args),
                          env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def site(tmp_path):
    """A private work folder, the emulated console with one link, and the agent stand-in."""
    os.chmod(str(tmp_path), 0o700)
    token = secrets.token_urlsafe(24)
    token_file = tmp_path / 'tokens.json'
    token_file.write_text(json.dumps({'awx': token}))
    os.chmod(str(token_file), 0o600)
    state = str(tmp_path / 'console')
    console = json.loads(_emulator('start', 'console', '--state-dir', state, '--token-file', str(token_file),
                                   '--max-lifetime', '600'))
    install = tmp_path / 'install'
    install.mkdir()
    (install / 'package_type_id.txt').write_text('linux-x64-agent.deb\n')
    (install / 'autoupdate.manifest').write_text('{"Version": "2.3.0.4"}')
    agent = tmp_path / 'duplicati-agent'
    agent.write_text('#!/bin/sh\nPYTHONPATH=%s DUPLICATI_EMULATOR_INSTALL_DIR=%s DUPLICATI_EMULATOR_RETRY_SECONDS=0 '
                     'exec %s -m ansible_collections.duplicati.fleet.tests.emulator.agent "$@"\n'
                     % (os.environ.get('ANSIBLE_COLLECTIONS_PATH', ''), install, sys.executable))
    os.chmod(str(agent), 0o755)
    try:
        yield dict(work=tmp_path, console=console['url'], token=token, agent=str(agent),
                   url=console['url'] + 'remotecontrol/register?token=' + token)
    finally:
        _emulator('stop', '--state-dir', state, 'console')


def _job(site, envvars, ident):
    """One job: private data dir laid out like the controller's, inputs only in ``envvars``."""
    private = site['work'] / 'job'
    private.mkdir(mode=0o700, exist_ok=True)
    for host in HOSTS:
        # a host's preload.json lives in a folder only its owner can write, as the agent demands
        (site['work'] / 'hosts' / host).mkdir(mode=0o700, parents=True, exist_ok=True)
    inventory = {'duplicati_agents': {'hosts': dict(
        (host, {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable, 'ansible_become': False,
                'duplicati_agent_data_folder': str(site['work'] / 'hosts' / host / 'data'),
                'duplicati_agent_preload_path': str(site['work'] / 'hosts' / host / 'preload.json')})
        for host in HOSTS)}}
    extravars = {
        # no package and no service on the test machine: the role configures and registers
        'duplicati_agent_package_source': 'none',
        'duplicati_agent_manage_service': False,
        'duplicati_agent_path': site['agent'],
    }
    return ansible_runner.run(private_data_dir=str(private), ident=ident, playbook=PLAYBOOK, inventory=inventory,
                              extravars=extravars, envvars=envvars, quiet=True,
                              settings={'suppress_ansible_output': True})


def _secrets_in(texts, values):
    return [value for value in values for text in texts if value in text]


def test_rollout_as_an_awx_job(site):
    credential_type = load_credential_type()
    passphrase = 'pass-' + secrets.token_urlsafe(12)
    envvars = inject_env(credential_type, {'registration_url': site['url'], 'settings_passphrase': passphrase})
    secret_values = [site['url'], site['token'], passphrase]

    first = _job(site, envvars, 'first')
    events = list(first.events)
    stdout = first.stdout.read()
    assert first.status == 'successful', stdout[-4000:]
    assert first.rc == 0
    stats = first.stats
    assert sorted(stats['ok']) == sorted(HOSTS)
    assert not stats['failures'] and not stats['dark']
    assert sorted(stats['changed']) == sorted(HOSTS)

    # every host registered once, with the link from the environment
    ledger = json.loads(subprocess.run([sys.executable, '-c', 'import sys, urllib.request; '
                                        'print(urllib.request.urlopen(sys.argv[1]).read().decode())',
                                        site['console'] + '_emulator/ledger?tokenName=awx'],
                                       check=True, capture_output=True, text=True).stdout)
    assert ledger['count'] == len(HOSTS) and ledger['machines'] == len(HOSTS)
    for host in HOSTS:
        with open(str(site['work'] / 'hosts' / host / 'data' / 'agent.json')) as handle:
            settings = json.load(handle)
        assert settings.get('serverUrl')
        # the passphrase from the environment encrypted the secrets of agent.json
        assert settings['jwt'].startswith('enc-v1:')

    # no secret in the job's events or its output
    texts = [stdout] + [json.dumps(event) for event in events]
    assert len(events) > 10
    assert not _secrets_in(texts, secret_values)

    # ansible-runner keeps the job's environment in env/envvars and artifacts/<ident>/command (as the
    # controller's private data dir does, removed after the job): readable by the owner only
    job = site['work'] / 'job'
    for path in (job / 'env' / 'envvars', job / 'artifacts' / 'first' / 'command'):
        assert os.stat(str(path)).st_mode & 0o077 == 0, path
    assert os.stat(str(job)).st_mode & 0o077 == 0

    # a second job changes nothing and registers nobody again
    second = _job(site, envvars, 'second')
    assert second.status == 'successful', second.stdout.read()[-4000:]
    assert not second.stats['changed']
    assert not _secrets_in([second.stdout.read()] + [json.dumps(e) for e in second.events], secret_values)
