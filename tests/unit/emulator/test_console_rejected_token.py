# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``RegisterForRemote.RegisterClientAsync``: if ``jwt`` or ``serverUrl`` is empty the call fails with the
``statusMessage``. ``RegisterClientAsync`` calls ``EnsureSuccessStatusCode`` first, so a
revoked or unknown token must get a 2xx with both keys present and empty for the agent
to print why; it is noted in the ledger's rejections, never as a registration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.duplicati.fleet.tests.emulator.console.agent_protocol import (
    RegistrationFailed, machine_data, read_register_answer)
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import call, call_json, running_console
from ansible_collections.duplicati.fleet.tests.emulator.console.service import MESSAGE_REVOKED, MESSAGE_UNKNOWN
from ansible_collections.duplicati.fleet.tests.emulator.console.tokens import TokenStore


def _register(link):
    status, _headers, raw = call(link, machine_data(link, 'machine-r'))
    return status, raw


def test_revoked_token_reports_revocation():
    store = TokenStore()
    store.add_revoked('revoked-value-123')
    with running_console(tokens=store) as (app, base):
        status, raw = _register(base + 'remotecontrol/register?token=revoked-value-123')
        assert status == 200
        doc = json.loads(raw)
        assert doc['jwt'] == '' and doc['serverUrl'] == ''
        with pytest.raises(RegistrationFailed) as err:
            read_register_answer(status, raw)
        assert str(err.value) == 'Failed to obtain registration data, status message: %s' % MESSAGE_REVOKED
        _s, ledger = call_json(base + '_emulator/ledger')
    assert ledger['count'] == 0
    assert [r['reason'] for r in ledger['rejections']] == ['revoked']
    assert ledger['rejections'][0]['tokenName'] == 'revoked-1'


def test_unknown_token_reports_invalid_link():
    with running_console() as (app, base):
        status, raw = _register(base + 'remotecontrol/register?token=never-issued-999')
        with pytest.raises(RegistrationFailed) as err:
            read_register_answer(status, raw)
        assert MESSAGE_UNKNOWN in str(err.value)
        _s, ledger = call_json(base + '_emulator/ledger')
    assert ledger['count'] == 0 and ledger['rejections'][0]['reason'] == 'unknown'


def test_token_revoked_through_control_surface_stops_new_registrations():
    with running_console() as (app, base):
        status, token = call_json(base + '_emulator/tokens', {'name': 'wave1'})
        assert status == 201 and token['state'] == 'active'
        link = token['link']
        assert read_register_answer(*_register(link))[0] == 'claimed'
        status, revoked = call_json(base + '_emulator/tokens/wave1/revoke', {})
        assert status == 200 and revoked['state'] == 'revoked'
        with pytest.raises(RegistrationFailed) as err:
            read_register_answer(*_register(link))
        assert MESSAGE_REVOKED in str(err.value)
        _s, ledger = call_json(base + '_emulator/ledger')
    assert ledger['count'] == 1 and len(ledger['rejections']) == 1
