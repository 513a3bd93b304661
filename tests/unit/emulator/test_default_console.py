# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An emulated console in place of Duplicati's default address records every request, and an unregistered
agent stand-in that is given no URL reaches it (``Agent.Program.RegisterAsync`` with the default of
``--agent-registration-url``, ``RegisterForRemote.DefaultRegisterationUrl``), while one given a link does not."""

import os

import pytest

from ansible_collections.duplicati.fleet.tests.emulator.agent.__main__ import main
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import call, call_json, running_console
from ansible_collections.duplicati.fleet.tests.emulator.console.tokens import TokenStore

TOKEN = 'fleet-token-0123456789'


@pytest.fixture
def env(tmp_path):
    home = tmp_path / 'home'
    home.mkdir()
    return {'HOME': str(home), 'DUPLICATI_EMULATOR_RETRY_SECONDS': '0', 'PATH': os.environ.get('PATH', ''),
            'DUPLICATI_EMULATOR_INSTALL_DIR': str(tmp_path / 'install')}


def requests_of(base):
    status, doc = call_json(base + '_emulator/requests')
    assert status == 200 and doc['count'] == len(doc['requests'])
    return doc['requests']


def test_every_request_is_recorded_but_the_control_surface(tmp_path):
    with running_console() as (app, base):
        assert requests_of(base) == []
        call(base + 'remotecontrol/nothing-here')
        call(base + 'remotecontrol/register', raw=b'not json', method='POST')
        seen = requests_of(base)
    assert [(r['method'], r['path'], r['status'], r['remoteAddress']) for r in seen] == [
        ('GET', '/remotecontrol/nothing-here', 404, '127.0.0.1'), ('POST', '/remotecontrol/register', 400, '127.0.0.1')]


def test_an_unregistered_agent_without_a_link_goes_to_the_default_address(env):
    with running_console(claim_lifetime=1, claim_retry_seconds=1) as (default, default_base):
        env['DUPLICATI_EMULATOR_DEFAULT_REGISTRATION_URL'] = default_base + 'remotecontrol/register'
        # the claim is never made: the agent gives up after the claim lifetime
        assert main(['run', '--agent-register-only'], env) != 0
        paths = [r['path'] for r in requests_of(default_base)]
    assert paths[0] == '/remotecontrol/register' and all(p.startswith('/remotecontrol/') for p in paths)


def test_an_agent_given_a_link_or_another_address_never_reaches_the_default(env):
    store = TokenStore()
    store.add('fleet', TOKEN)
    with running_console() as (default, default_base), running_console(tokens=store) as (fleet, fleet_base):
        env['DUPLICATI_EMULATOR_DEFAULT_REGISTRATION_URL'] = default_base + 'remotecontrol/register'
        assert main(['register', fleet_base + 'remotecontrol/register?token=' + TOKEN], env) == 0
        os.unlink(os.path.join(env['HOME'], '.config', 'Duplicati', 'agent.json'))
        # DUPLICATI_REMOTE_CONTROL_URL names the fleet's console: a link holding only the token is enough
        env['DUPLICATI_REMOTE_CONTROL_URL'] = fleet_base + 'remotecontrol/register?token=' + TOKEN
        assert main(['run', '--agent-register-only'], env) == 0
        assert requests_of(default_base) == []
        assert len(fleet.ledger.summary()['registrations']) == 2
