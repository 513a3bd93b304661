# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``RegisterForRemote.RegisterClientAsync`` (needs a user claim) and ``CheckClientClaimedAsync`` (polling): without a token the
answer has ``claimLink``, ``statusLink``, ``retrySeconds``, ``maxRetries``,
``maxLifetimeSeconds``; ``POST <statusLink>`` with the same body answers
``{success, statusMessage, jwt, serverUrl, certificateUrl, serverCertificates,
localEncryptionKey, settings}``, ``success:false`` until the machine is claimed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

from ansible_collections.duplicati.fleet.tests.emulator.console.agent_protocol import (
    RegistrationFailed, machine_data, read_register_answer, read_status_answer)
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import call, call_json, running_console
from ansible_collections.duplicati.fleet.tests.emulator.console.service import MESSAGE_EXPIRED, MESSAGE_WAITING

ENVELOPE_KEYS = {'success', 'statusMessage', 'jwt', 'serverUrl', 'certificateUrl', 'serverCertificates',
                 'localEncryptionKey', 'settings'}


def _register(base, machine='machine-c'):
    url = base + 'remotecontrol/register'
    body = machine_data(url, machine)
    status, _h, raw = call(url, body)
    kind, data = read_register_answer(status, raw)
    assert kind == 'register'
    return body, data


def _poll(data, body):
    status, _h, raw = call(data['statusLink'], body)
    return status, raw


def test_no_token_gives_claim_links_with_limits():
    with running_console(claim_retry_seconds=7, claim_max_retries=12, claim_lifetime=600) as (app, base):
        _body, data = _register(base)
        assert set(data) == {'claimLink', 'statusLink', 'retrySeconds', 'maxRetries', 'maxLifetimeSeconds'}
        assert (data['retrySeconds'], data['maxRetries'], data['maxLifetimeSeconds']) == (7, 12, 600)
        assert data['statusLink'].startswith(base + 'remotecontrol/status/')
        status, headers, page = call(data['claimLink'])
        assert status == 200 and headers['Content-Type'].startswith('text/html')


def test_status_is_unsuccessful_until_claimed_then_delivers_credentials():
    with running_console() as (app, base):
        body, data = _register(base, 'machine-claim')
        status, raw = _poll(data, body)
        with pytest.raises(RegistrationFailed) as err:
            read_status_answer(status, raw)
        assert MESSAGE_WAITING in str(err.value)
        _s, ledger = call_json(base + '_emulator/ledger')
        assert ledger['count'] == 0

        registration_id = data['statusLink'].rsplit('/', 1)[1]
        status, view = call_json(base + '_emulator/registrations/%s/claim' % registration_id,
                                 {'settings': {'dashboardurl': 'https://dash.example/'}})
        assert status == 200 and view['state'] == 'claimed'

        claimed = read_status_answer(*_poll(data, body))
        assert set(claimed) == ENVELOPE_KEYS
        assert claimed['serverUrl'].startswith('wss://')
        assert claimed['settings'] == {'dashboardurl': 'https://dash.example/'}
        assert app.issuer.verify(claimed['jwt'])['mid'] == 'machine-claim'
        # a repeated poll returns the same credentials and is not a second registration
        again = read_status_answer(*_poll(data, body))
        assert again['jwt'] == claimed['jwt']
        _s, ledger = call_json(base + '_emulator/ledger')
    assert ledger['count'] == 1
    assert ledger['registrations'][0]['flow'] == 'claim'
    assert ledger['registrations'][0]['registrationId'] == registration_id


def test_claim_of_unknown_or_already_claimed_registration_is_refused():
    with running_console() as (app, base):
        status, _doc = call_json(base + '_emulator/registrations/%s/claim' % ('0' * 32), {})
        assert status == 404
        body, data = _register(base)
        registration_id = data['statusLink'].rsplit('/', 1)[1]
        assert call_json(base + '_emulator/registrations/%s/claim' % registration_id, {})[0] == 200
        assert call_json(base + '_emulator/registrations/%s/claim' % registration_id, {})[0] == 409


def test_unknown_status_link_is_404():
    with running_console() as (app, base):
        body = machine_data(base, 'm')
        status, _h, _raw = call(base + 'remotecontrol/status/' + 'a' * 32, body)
    assert status == 404


def test_registration_expires_after_max_lifetime():
    with running_console(claim_lifetime=1) as (app, base):
        body, data = _register(base)
        time.sleep(1.2)
        with pytest.raises(RegistrationFailed) as err:
            read_status_answer(*_poll(data, body))
        assert MESSAGE_EXPIRED in str(err.value)
        registration_id = data['statusLink'].rsplit('/', 1)[1]
        status, _doc = call_json(base + '_emulator/registrations/%s/claim' % registration_id, {})
        assert status == 409
        _s, items = call_json(base + '_emulator/registrations')
    assert [i['state'] for i in items] == ['expired']
