# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-authorised links (``RegisterForRemote.CreateMachineData`` copies the query; the token parameter name is
not in Duplicati's source: modelled on the console's observed answers):
the console is seeded with tokens by its command line (``--token NAME=VALUE``,
``--token-file``, ``--revoked-token``) and runs from the emulator CLI
(``serve|start|stop console``), reporting itself in the ready file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import subprocess
import sys

import pytest

from ansible_collections.duplicati.fleet.tests.emulator import console
from ansible_collections.duplicati.fleet.tests.emulator.console.agent_protocol import machine_data, read_register_answer
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import call, call_json, subprocess_env
from ansible_collections.duplicati.fleet.tests.emulator.console.ledger import LedgerError
from ansible_collections.duplicati.fleet.tests.emulator.console.tokens import TokenError
from ansible_collections.duplicati.fleet.tests.emulator.httpbase import Faults, serve_in_thread


def _parse(argv):
    parser = argparse.ArgumentParser()
    console.add_arguments(parser)
    return parser.parse_args(argv)


def test_tokens_from_options_and_file(tmp_path):
    token_file = tmp_path / 'tokens.json'
    token_file.write_text(json.dumps({'from-file': 'file-token-value-1'}))
    args = _parse(['--token', 'cli=cli-token-value-1', '--token-file', str(token_file),
                   '--revoked-token', 'gone-token-value-1'])
    app = console.create_app(args, Faults())
    httpd, base = serve_in_thread(app)
    try:
        assert app.describe()['tokens'] == ['cli', 'from-file', 'revoked-1']
        for value, kind in (('cli-token-value-1', 'claimed'), ('file-token-value-1', 'claimed')):
            link = base + 'remotecontrol/register?token=' + value
            status, _h, raw = call(link, machine_data(link, 'm'))
            assert read_register_answer(status, raw)[0] == kind
        _s, tokens = call_json(base + '_emulator/tokens')
        assert {t['name']: t['state'] for t in tokens} == {'cli': 'active', 'from-file': 'active', 'revoked-1': 'revoked'}
        assert tokens[0]['link'] == base + 'remotecontrol/register?token=cli-token-value-1'
    finally:
        httpd.shutdown()
        httpd.server_close()
        app.close()


@pytest.mark.parametrize('argv', [['--token', 'novalue'], ['--token', 'bad name=abcdefgh1'],
                                  ['--token', 'short=abc'], ['--revoked-token', 'has space 1234'],
                                  ['--claim-lifetime', '0']])
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as err:
        _parse(argv)
    assert err.value.code == 2
    assert 'error' in capsys.readouterr().err


def test_duplicate_token_names_are_refused():
    args = _parse(['--token', 'a=first-value-1', '--token', 'a=second-value-2'])
    with pytest.raises(TokenError):
        console.create_app(args, Faults())


def test_control_surface_refuses_bad_tokens():
    app = console.create_app(_parse([]), Faults())
    httpd, base = serve_in_thread(app)
    try:
        assert call_json(base + '_emulator/tokens', {'name': 'x y'})[0] == 400
        assert call_json(base + '_emulator/tokens', {'value': 'short'})[0] == 400
        assert call_json(base + '_emulator/tokens', {'settings': {'a': 1}})[0] == 400
        assert call_json(base + '_emulator/tokens/nothere/revoke', {})[0] == 404
        assert call_json(base + '_emulator/tokens')[1] == []
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_cli_start_and_stop(tmp_path):
    env = subprocess_env()
    module = 'ansible_collections.duplicati.fleet.tests.emulator'
    started = subprocess.run([sys.executable, '-m', module, 'start', 'console', '--state-dir', str(tmp_path),
                              '--token', 'cli=cli-token-value-2', '--ledger-file', str(tmp_path / 'ledger.json')],
                             capture_output=True, text=True, timeout=60, env=env, check=False)
    assert started.returncode == 0, started.stderr + started.stdout
    info = json.loads(started.stdout)
    try:
        assert info['component'] == 'console' and info['register_path'] == '/remotecontrol/register'
        link = info['url'] + 'remotecontrol/register?token=cli-token-value-2'
        status, _h, raw = call(link, machine_data(link, 'cli-machine'))
        assert read_register_answer(status, raw)[0] == 'claimed'
    finally:
        stopped = subprocess.run([sys.executable, '-m', module, 'stop', '--state-dir', str(tmp_path), 'console'],
                                 capture_output=True, text=True, timeout=60, env=env, check=False)
    assert stopped.returncode == 0
    with open(str(tmp_path / 'ledger.json')) as handle:
        assert [e['machineId'] for e in json.load(handle)['registrations']] == ['cli-machine']


def test_claim_settings_file_is_sent_with_claims(tmp_path):
    settings = tmp_path / 'settings.json'
    settings.write_text(json.dumps({'reportingurl': 'https://reports.example/r'}))
    app = console.create_app(_parse(['--claim-settings', str(settings)]), Faults())
    httpd, base = serve_in_thread(app)
    try:
        url = base + 'remotecontrol/register'
        body = machine_data(url, 'settings-machine')
        _status, _h, raw = call(url, body)
        status_link = read_register_answer(200, raw)[1]['statusLink']
        assert call_json(base + '_emulator/registrations/%s/claim' % status_link.rsplit('/', 1)[1], {})[0] == 200
        status, _h, raw = call(status_link, body)
        assert json.loads(raw)['settings'] == {'reportingurl': 'https://reports.example/r'}
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_bad_claim_settings_or_ledger_folder_are_refused(tmp_path):
    settings = tmp_path / 'settings.json'
    settings.write_text(json.dumps({'reportingurl': 5}))
    with pytest.raises(TokenError):
        console.create_app(_parse(['--claim-settings', str(settings)]), Faults())
    with pytest.raises(LedgerError):
        console.create_app(_parse(['--ledger-file', str(tmp_path / 'missing' / 'ledger.json')]), Faults())
