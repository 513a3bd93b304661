# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``RegisterForRemote.RegisterClientAsync``, claimed immediately (pre-authorised): a valid token in the body
gets ``{jwt, serverUrl, certificateUrl, serverCertificates[], localEncryptionKey?,
statusMessage?, settings?}`` with both ``jwt`` and ``serverUrl`` non-empty; the token
reaches the body because the agent copies every non-empty query parameter of the
registration URL into it (``RegisterForRemote.CreateMachineData``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.duplicati.fleet.tests.emulator.console.agent_protocol import machine_data, read_register_answer
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import call, running_console
from ansible_collections.duplicati.fleet.tests.emulator.console.tokens import TokenStore

TOKEN = 'fleet-token-0123456789'


def _store(settings=None):
    store = TokenStore()
    store.add('fleet', TOKEN, settings)
    return store


def test_token_from_link_gives_claimed_answer():
    with running_console(tokens=_store()) as (app, base):
        link = base + 'remotecontrol/register?token=' + TOKEN
        body = machine_data(link, 'machine-1', install_id='install-1')
        assert body['token'] == TOKEN
        status, headers, raw = call(link, body)
        kind, data = read_register_answer(status, raw)
    assert kind == 'claimed'
    assert headers['Content-Type'].startswith('application/json')
    assert data['serverUrl'].startswith('wss://127.0.0.1:')
    assert data['certificateUrl'] == base + 'remotecontrol/certificates'
    assert [c['publicKeyHash'] for c in data['serverCertificates']] == [app.certificate.public_key_hash]
    assert len(data['localEncryptionKey']) == 64
    assert 'settings' not in data
    claims = app.issuer.verify(data['jwt'])
    assert claims['mid'] == 'machine-1' and claims['sub'] == 'machine-1'
    assert claims['iid'] == 'install-1' and claims['tkn'] == 'fleet'


def test_console_reads_token_from_body_not_query():
    # the agent POSTs to the full link, but the console must take the token from the body
    with running_console(tokens=_store()) as (app, base):
        body = machine_data(base, 'machine-2')
        body['token'] = TOKEN
        kind, _data = read_register_answer(*_status_raw(call(base + 'remotecontrol/register', body)))
        assert kind == 'claimed'
        no_token_body = machine_data(base, 'machine-3')
        kind, _data = read_register_answer(*_status_raw(call(base + 'remotecontrol/register?token=' + TOKEN, no_token_body)))
        assert kind == 'register'


def test_each_registration_gets_fresh_credentials():
    with running_console(tokens=_store()) as (app, base):
        link = base + 'remotecontrol/register?token=' + TOKEN
        first = read_register_answer(*_status_raw(call(link, machine_data(link, 'same'))))[1]
        second = read_register_answer(*_status_raw(call(link, machine_data(link, 'same'))))[1]
    assert first['jwt'] != second['jwt']
    assert first['localEncryptionKey'] != second['localEncryptionKey']
    assert app.issuer.verify(first['jwt'])['rid'] != app.issuer.verify(second['jwt'])['rid']


def test_token_settings_are_sent_as_settings():
    with running_console(tokens=_store({'reportingurl': 'https://report.example/x'})) as (app, base):
        link = base + 'remotecontrol/register?token=' + TOKEN
        kind, data = read_register_answer(*_status_raw(call(link, machine_data(link, 'm'))))
    assert kind == 'claimed'
    assert data['settings'] == {'reportingurl': 'https://report.example/x'}


def test_jwt_of_another_console_does_not_verify():
    with running_console(tokens=_store()) as (app, base):
        link = base + 'remotecontrol/register?token=' + TOKEN
        token = read_register_answer(*_status_raw(call(link, machine_data(link, 'm'))))[1]['jwt']
    with running_console() as (other, other_base):
        status, _h, raw = call(other_base + '_emulator/verify', {'jwt': token})
        assert status == 400 and b'"valid": false' in raw
    with running_console(tokens=_store()) as (app, base):
        link = base + 'remotecontrol/register?token=' + TOKEN
        token = read_register_answer(*_status_raw(call(link, machine_data(link, 'm'))))[1]['jwt']
        status, _h, raw = call(base + '_emulator/verify', {'jwt': token})
        assert status == 200 and b'"valid": true' in raw


def _status_raw(result):
    return result[0], result[2]
