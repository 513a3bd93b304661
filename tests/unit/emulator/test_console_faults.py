# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``RegisterForRemote.RegisterAsync``: on error the request is retried (``RetryHelper.Retry``, 10 times, 30 s apart), and
a failed status poll is retried. The console can be made to fail (503), to throttle (429
with ``Retry-After``) and to be slow, on the register and status endpoints only, so
that clients' retry paths can be tested; the test-control surface is never faulted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.duplicati.fleet.tests.emulator.console.agent_protocol import machine_data
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import call, call_json, running_console
from ansible_collections.duplicati.fleet.tests.emulator.httpbase import Faults


def _register(base):
    url = base + 'remotecontrol/register'
    return call(url, machine_data(url, 'machine-f'))


def test_error_rate_gives_503_on_register_and_status_only():
    with running_console() as (app, base):
        status, doc = call_json(base + 'remotecontrol/register', machine_data(base, 'before'))
        assert status == 200
        status, faults = call_json(base + '_emulator/faults', {'error_rate': 1})
        assert status == 200 and faults['error_rate'] == 1.0
        assert _register(base)[0] == 503
        assert call(doc['statusLink'], machine_data(base, 'before'))[0] == 503
        assert call(base + 'remotecontrol/certificates')[0] == 200
        status, faults = call_json(base + '_emulator/faults')
        assert status == 200 and faults['injected_503'] == 2
        call_json(base + '_emulator/faults', {'error_rate': 0})
        assert _register(base)[0] == 200
        # the failed attempts registered nothing
        assert len(app.pending.list()) == 2


def test_rate_limit_gives_429_with_retry_after():
    with running_console(faults=Faults(rate_limit=1)) as (app, base):
        first = _register(base)
        second = _register(base)
    assert first[0] == 200
    assert second[0] == 429
    assert int(second[1]['Retry-After']) >= 1


def test_latency_slows_registration():
    with running_console() as (app, base):
        call_json(base + '_emulator/faults', {'latency': 0.4})
        started = time.monotonic()
        assert _register(base)[0] == 200
        assert time.monotonic() - started >= 0.4


def test_bad_fault_settings_are_refused():
    with running_console() as (app, base):
        assert call_json(base + '_emulator/faults', {'error_rate': 2})[0] == 400
        assert call_json(base + '_emulator/faults', {'latency': 'slow'})[0] == 400
        assert call_json(base + '_emulator/faults')[1]['error_rate'] == 0.0
