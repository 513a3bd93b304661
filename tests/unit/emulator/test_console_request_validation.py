# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``RegisterForRemote.CreateMachineData``: the agent sends a JSON object of strings ``instanceId``,
``machineId``, ``machineName``, ``installId``, ``localTime`` (ISO-8601 "o"), ``version``,
``packageTypeId`` and ``operatingSystem``. Anything else is malformed and gets 400;
what the real agent can send (a null ``version``, an empty ``packageTypeId``, extra
query-parameter keys) is accepted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.duplicati.fleet.tests.emulator.console.agent_protocol import machine_data
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import call, call_json, running_console

GOOD = machine_data('https://console.example/remotecontrol/register', 'machine-v',
                    local_time='2026-08-22T10:00:00.1234567+02:00')


def _without(key):
    body = dict(GOOD)
    del body[key]
    return body


def _with(**changes):
    body = dict(GOOD)
    body.update(changes)
    return body


BAD_BODIES = [
    pytest.param(b'', id='empty'),
    pytest.param(b'not json', id='not-json'),
    pytest.param(b'[1, 2]', id='array'),
    pytest.param(json.dumps(_without('machineId')).encode(), id='no-machineId'),
    pytest.param(json.dumps(_without('operatingSystem')).encode(), id='no-operatingSystem'),
    pytest.param(json.dumps(_with(installId='  ')).encode(), id='blank-installId'),
    pytest.param(json.dumps(_with(instanceId=None)).encode(), id='null-instanceId'),
    pytest.param(json.dumps(_with(localTime='yesterday')).encode(), id='bad-localTime'),
    pytest.param(json.dumps(_with(version=2.3)).encode(), id='number-version'),
    pytest.param(json.dumps(_with(token=['x'])).encode(), id='array-token'),
]


@pytest.fixture(scope='module')
def console():
    with running_console() as running:
        yield running


@pytest.mark.parametrize('raw', BAD_BODIES)
@pytest.mark.parametrize('path', ['remotecontrol/register', 'remotecontrol/status/' + 'b' * 32])
def test_malformed_body_is_400_and_changes_nothing(console, raw, path):
    app, base = console
    status, _headers, body = call(base + path, raw=raw, method='POST')
    assert status == 400
    assert json.loads(body)['statusMessage'].startswith('Bad request')
    assert app.pending.list() == []
    assert app.ledger.registrations() == [] and app.ledger.rejections() == []


def test_what_the_real_agent_may_send_is_accepted():
    body = _with(version=None, packageTypeId='', extra='from-query')
    with running_console() as (app, base):
        status, doc = call_json(base + 'remotecontrol/register', body)
    assert status == 200 and 'claimLink' in doc


def test_wrong_method_is_405():
    with running_console() as (app, base):
        status, _h, _b = call(base + 'remotecontrol/register')
    assert status == 405
