# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""duplicati.fleet.backup with a definition ("backup jobs as code") against the emulated server."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.duplicati.fleet.plugins.modules import backup, backup_info
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import PASSWORD
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import calls, connection, run_module, server, state

PASSPHRASE = 'tr0ub4dor-nightly-passphrase'
S3_SECRET = 'wJalrXUtnFEMI-K7MDENG'


def _definition(**changes):
    definition = dict(
        description='Home folders, nightly',
        target_url='s3://bucket/home?auth-username=AKIA1&auth-password=%s' % S3_SECRET,
        sources=['/home/'],
        passphrase=PASSPHRASE,
        schedule=dict(repeat='1D', time='02:00', allowed_days=['mon', 'tue', 'wed', 'thu', 'fri']),
        settings={'keep-versions': 5, 'dblock-size': '50mb'},
        filters=['-*.tmp'],
    )
    definition.update(changes)
    return definition


def _args(harness, **changes):
    return connection(harness, name='nightly-home', definition=_definition(**changes))


def _edit_on_server(harness, backup_id, backup=None, schedule=None):
    """Change the backup through the API, as another client (the web UI) would."""
    auth = harness.bearer(PASSWORD)
    entry = harness.request('GET', '/api/v1/backup/%s' % backup_id, headers=auth).json()
    body = {'Backup': dict(entry['Backup'], **(backup or {})), 'Schedule': dict(entry['Schedule'], **(schedule or {}))}
    assert harness.request('PUT', '/api/v1/backup/%s' % backup_id, headers=auth, json_body=body).status == 200


def _exported(harness, backup_id):
    """The backup with its secrets, as the server has it (an export with passwords)."""
    auth = harness.bearer(PASSWORD)
    token = harness.request('POST', '/api/v1/auth/issuetoken/export', headers=auth).json()['Token']
    return harness.request('GET', '/api/v1/backup/%s/export?export-passwords=true&token=%s' % (backup_id, token)).json()


def _no_secret(result):
    text = json.dumps(result)
    return PASSPHRASE not in text and S3_SECRET not in text


def test_create_then_idempotent(monkeypatch):
    with server('--seed-backups', '1') as harness:
        check = run_module(monkeypatch, backup, _args(harness), check_mode=True)
        count_after_check = state(harness)['backups']
        created = run_module(monkeypatch, backup, _args(harness))
        again = run_module(monkeypatch, backup, _args(harness))
        info = run_module(monkeypatch, backup_info, connection(harness, backup='nightly-home'))
        posts = calls(harness, 'POST', '/api/v1/backups')
        puts = calls(harness, 'PUT', '/api/v1/backup/2')
    assert check['changed'] is True and check['backup'] is None and count_after_check == 1
    assert check['diff']['before'] == {} and check['diff']['after']['passphrase'] == '********'
    assert created['changed'] is True and created['backup'] == {'id': '2', 'name': 'nightly-home'}
    assert again['changed'] is False and again['changed_fields'] == [] and 'diff' not in again
    assert posts == 1 and puts == 0
    definition = info['backups'][0]['definition']
    assert definition == dict(_definition(), passphrase='********', settings={'keep-versions': '5', 'dblock-size': '50mb'},
                              target_url='s3://bucket/home?auth-username=********&auth-password=********', tags=[])
    assert all(_no_secret(r) for r in (check, created, again, info))


def test_converges_after_a_change_made_on_the_server(monkeypatch):
    with server() as harness:
        run_module(monkeypatch, backup, _args(harness))
        before = _exported(harness, '1')
        _edit_on_server(harness, '1', backup={'Description': 'edited in the UI'}, schedule={'Repeat': '2D', 'AllowedDays': ['sat']})
        check = run_module(monkeypatch, backup, _args(harness), check_mode=True)
        drifted = _exported(harness, '1')
        fixed = run_module(monkeypatch, backup, _args(harness))
        again = run_module(monkeypatch, backup, _args(harness))
        after = _exported(harness, '1')
        backups_count = state(harness)['backups']
    assert drifted['Backup']['Description'] == 'edited in the UI'  # check mode changed nothing
    for result in (check, fixed):
        assert result['changed'] is True and result['changed_fields'] == ['description', 'schedule']
        assert result['diff']['before']['description'] == 'edited in the UI'
        assert result['diff']['after']['description'] == 'Home folders, nightly'
        assert result['diff']['before']['schedule'] == {'repeat': '2D', 'time': '02:00', 'allowed_days': ['sat']}
        assert result['diff']['after']['schedule'] == {'repeat': '1D', 'time': '02:00', 'allowed_days': ['mon', 'tue', 'wed', 'thu', 'fri']}
        assert result['diff']['after']['passphrase'] == '********' and _no_secret(result)
    assert again['changed'] is False
    assert after['Backup']['Description'] == 'Home folders, nightly' and after['Schedule']['Repeat'] == '1D'
    assert after['Schedule']['AllowedDays'] == ['mon', 'tue', 'wed', 'thu', 'fri']
    assert after['Backup']['ID'] == before['Backup']['ID'] and after['Backup']['DBPath'] == before['Backup']['DBPath']
    assert backups_count == 1 and fixed['backup']['id'] == '1'


def test_round_trip_from_backup_info_keeps_id_database_metadata_and_secrets(monkeypatch):
    with server('--seed-backups', '2') as harness:
        before = _exported(harness, '1')
        info = run_module(monkeypatch, backup_info, connection(harness, backup='Documents'))
        definition = info['backups'][0]['definition']
        same = run_module(monkeypatch, backup, connection(harness, name='Documents', definition=definition))
        edited = dict(definition, description='Edited as code', settings=dict(definition['settings'], **{'keep-versions': '3'}))
        changed = run_module(monkeypatch, backup, connection(harness, name='Documents', definition=edited))
        again = run_module(monkeypatch, backup, connection(harness, name='Documents', definition=edited))
        after = _exported(harness, '1')
    assert definition['passphrase'] == '********' and 'auth-password=********' in definition['target_url']
    assert same['changed'] is False
    assert changed['changed'] is True and changed['changed_fields'] == ['description', 'settings.keep-versions']
    assert again['changed'] is False
    old = dict((s['Name'], s['Value']) for s in before['Backup']['Settings'])
    new = dict((s['Name'], s['Value']) for s in after['Backup']['Settings'])
    assert new['passphrase'] == old['passphrase'] and new['keep-versions'] == '3'
    assert after['Backup']['TargetURL'] == before['Backup']['TargetURL']
    assert after['Backup']['Metadata'] == before['Backup']['Metadata'] and after['Backup']['Metadata']
    assert after['Backup']['DBPath'] == before['Backup']['DBPath'] and after['Schedule']['LastRun'] == before['Schedule']['LastRun']


def test_normalised_notation_is_no_change(monkeypatch):
    with server() as harness:
        run_module(monkeypatch, backup, _args(harness))
        _edit_on_server(harness, '1', backup={'Settings': [
            {'Name': 'passphrase', 'Value': '***************'}, {'Name': '--keep-versions', 'Value': '5'},
            {'Name': 'dblock-size', 'Value': '50MB'}]})
        same = run_module(monkeypatch, backup, _args(
            harness, schedule=dict(repeat='1D', time='03:00+01:00', allowed_days=['Friday', 'thu', 'wed', 'tue', 'mon'])))
        week = run_module(monkeypatch, backup, _args(harness, settings={'keep-versions': '5', 'dblock-size': '51200KB'},
                                                     schedule=dict(repeat='1D', time='02:00:00Z', allowed_days=['mon', 'tue', 'wed', 'thu', 'fri'])))
        other = run_module(monkeypatch, backup, _args(harness, schedule=dict(repeat='24h', time='02:00', allowed_days=['mon', 'tue', 'wed', 'thu', 'fri'])),
                           check_mode=True)
    assert same['changed'] is False and week['changed'] is False
    # 24h is not 1D: a day-based repeat keeps the time of day across a DST change (Timeparser.DSTAwareParseTimeInterval)
    assert other['changed'] is True and other['changed_fields'] == ['schedule']


def test_secret_changes_are_shown_masked(monkeypatch):
    with server() as harness:
        run_module(monkeypatch, backup, _args(harness))
        new_url = 's3://bucket/home?auth-username=AKIA1&auth-password=new-%s' % S3_SECRET
        result = run_module(monkeypatch, backup, _args(harness, passphrase='new-' + PASSPHRASE, target_url=new_url,
                                                       settings={'keep-versions': 5, 'dblock-size': '50mb', 'ssh-key': 'sshkey-' + S3_SECRET}))
        stored = _exported(harness, '1')
    assert result['changed'] is True
    assert result['changed_fields'] == ['target_url', 'passphrase', 'settings.ssh-key']
    assert result['diff']['before']['passphrase'] == '********' and result['diff']['after']['passphrase'] == '******** (changed)'
    assert result['diff']['after']['target_url'] == 's3://bucket/home?auth-username=********&auth-password=******** (changed)'
    assert result['diff']['after']['settings']['ssh-key'] == '******** (changed)' and 'ssh-key' not in result['diff']['before']['settings']
    assert result['definition']['settings']['ssh-key'] == '********' and _no_secret(result)
    settings = dict((s['Name'], s['Value']) for s in stored['Backup']['Settings'])
    assert settings['passphrase'] == 'new-' + PASSPHRASE and stored['Backup']['TargetURL'] == new_url


def test_secrets_stay_out_of_the_logged_invocation(monkeypatch):
    from ansible.module_utils import basic
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: logged.append(msg))
    with server() as harness:
        run_module(monkeypatch, backup, _args(harness, settings={'auth-password': 'setting-' + S3_SECRET}), check_mode=True)
        # a '#' is part of a URL password for Duplicati (RelaxedUri), not the start of a fragment
        hashed = run_module(monkeypatch, backup, _args(harness, target_url='ftp://user:pa#%s@host/p' % S3_SECRET), check_mode=True)
    invocation = [m for m in logged if m.startswith('Invoked')]
    assert len(invocation) == 2 and 'nightly-home' in invocation[0]
    assert not any(PASSPHRASE in m or S3_SECRET in m for m in invocation)
    assert hashed['changed'] is True and _no_secret(hashed)


def test_refusals_carry_the_server_message_and_change_nothing(monkeypatch):
    with server() as harness:
        run_module(monkeypatch, backup, _args(harness))
        before = _exported(harness, '1')
        small = run_module(monkeypatch, backup, _args(harness, description='x', settings={'dblock-size': '100kb'}))
        often = run_module(monkeypatch, backup, _args(harness, description='x', schedule=dict(repeat='2m')))
        no_passphrase = run_module(monkeypatch, backup, connection(harness, name='other', definition=_definition(passphrase=None)))
        masked = run_module(monkeypatch, backup, connection(harness, name='other', definition=_definition(passphrase='********')))
        # check mode tells what the server would refuse (Connection.ValidateBackup), not "changed"
        no_sources = run_module(monkeypatch, backup, connection(harness, name='other', definition=_definition(sources=[])), check_mode=True)
        bad_filter = run_module(monkeypatch, backup, _args(harness, filters=['*.tmp']))
        bad_day = run_module(monkeypatch, backup, _args(harness, schedule=dict(repeat='1D', allowed_days=['someday'])))
        twice = run_module(monkeypatch, backup, _args(harness, settings={'keep-versions': '1', '--keep-versions': '2'}))
        both = run_module(monkeypatch, backup, dict(_args(harness), config={'Backup': {}}))
        number = run_module(monkeypatch, backup, dict(_args(harness), definition=0))
        after = _exported(harness, '1')
        posts = calls(harness, 'POST', '/api/v1/backups')
        backups_count = state(harness)['backups']
    assert small['failed'] and 'Server error (400): DBlock size must be at least 1MB' in small['msg']
    assert often['failed'] and 'Schedule repetition time must be more than 5 minutes' in often['msg']
    assert no_passphrase['failed'] and 'would be refused by the server: Missing passphrase' in no_passphrase['msg']
    assert no_sources['failed'] and 'would be refused by the server: Invalid source list' in no_sources['msg']
    assert masked['failed'] and 'masked value' in masked['msg']
    assert bad_filter['failed'] and 'Invalid filter' in bad_filter['msg']
    assert bad_day['failed'] and "Invalid day 'someday'" in bad_day['msg']
    assert twice['failed'] and 'set the same option' in twice['msg']
    assert both['failed'] and 'mutually exclusive' in both['msg']
    assert number['failed'] and 'dict' in number['msg']  # not a traceback from ansible-core's set_fallbacks
    assert after == before and posts == 1 and backups_count == 1  # the refused new backups are refused before a request
    assert all(_no_secret(r) for r in (small, often, no_passphrase, masked, no_sources))
