# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""POST backups and PUT backup/{id} of the emulated server (BackupListService.Add, BackupPutDelete.ExecutePut)."""

from ansible_collections.duplicati.fleet.tests.emulator.server.testing import running_server

PW = 'pw-for-backup-crud'


def _body(name='Nightly', **backup):
    body = {'Backup': dict({
        'Name': name, 'Description': 'Home', 'TargetURL': 'file:///srv/backups/home?auth-password=s3cret',
        'Sources': ['/home/'], 'Settings': [{'Name': 'passphrase', 'Value': 'pass one'}, {'Name': 'dblock-size', 'Value': '50mb'}],
        'Filters': [{'Order': 0, 'Include': False, 'Expression': '*.tmp'}],
    }, **backup)}
    body['Schedule'] = {'Repeat': '1D', 'Time': '2030-01-02T02:00:00Z', 'AllowedDays': ['mon', 'Tuesday']}
    return body


def _error(reply):
    return reply.status, reply.json()


def test_post_creates_and_get_shows_it_masked():
    with running_server('--webservice-password', PW, '--seed-backups', '1') as srv:
        auth = srv.bearer(PW)
        created = srv.request('POST', '/api/v1/backups', headers=auth, json_body=_body())
        assert created.status == 200 and created.json() == {'ID': '2', 'Temporary': False}
        got = srv.request('GET', '/api/v1/backup/2', headers=auth).json()
    backup, schedule = got['Backup'], got['Schedule']
    assert backup['Name'] == 'Nightly' and backup['Sources'] == ['/home/']
    assert backup['TargetURL'] == 'file:///srv/backups/home?auth-password=***************'
    assert [(s['Name'], s['Value']) for s in backup['Settings']] == [('passphrase', '***************'), ('dblock-size', '50mb')]
    assert backup['Filters'] == [{'Order': 0, 'Include': False, 'Expression': '*.tmp'}] and backup['Metadata'] == {}
    assert schedule['Time'] == '2030-01-02T02:00:00Z' and schedule['AllowedDays'] == ['mon', 'tue']
    assert schedule['Rule'] == 'AllowedWeekDays=Monday,Tuesday' and schedule['Tags'] == ['ID=2']


def test_post_refusals_carry_the_server_messages():
    with running_server('--webservice-password', PW, '--seed-backups', '1') as srv:
        auth = srv.bearer(PW)
        conflict = srv.request('POST', '/api/v1/backups', headers=auth, json_body=_body('documents'))
        no_target = srv.request('POST', '/api/v1/backups', headers=auth, json_body=_body(TargetURL=''))
        no_pass = srv.request('POST', '/api/v1/backups', headers=auth, json_body=_body(Settings=[]))
        small = srv.request('POST', '/api/v1/backups', headers=auth, json_body=_body(Settings=[
            {'Name': 'passphrase', 'Value': 'x'}, {'Name': 'dblock-size', 'Value': '100kb'}]))
        bad_repeat = _body()
        bad_repeat['Schedule']['Repeat'] = '2m'
        short = srv.request('POST', '/api/v1/backups', headers=auth, json_body=bad_repeat)
        bad_day = _body()
        bad_day['Schedule']['AllowedDays'] = ['someday']
        unbound = srv.request('POST', '/api/v1/backups', headers=auth, json_body=bad_day)
        no_backup = srv.request('POST', '/api/v1/backups', headers=auth, json_body={'Schedule': None})
        null_backup = srv.request('POST', '/api/v1/backups', headers=auth, json_body={'Backup': None})
        count = len(srv.request('GET', '/api/v1/backups', headers=auth).json())
    assert _error(conflict) == (409, {'Error': 'There already exists a backup with the name: documents', 'Code': 409})
    assert _error(no_target) == (400, {'Error': 'Missing a target', 'Code': 400})
    assert _error(no_pass) == (400, {'Error': 'Missing passphrase', 'Code': 400})
    assert _error(small) == (400, {'Error': 'DBlock size must be at least 1MB', 'Code': 400})
    assert _error(short) == (400, {'Error': 'Schedule repetition time must be more than 5 minutes', 'Code': 400})
    assert unbound.status == 400 and unbound.body == b'' and no_backup.status == 400 and no_backup.body == b''
    assert _error(null_backup) == (400, {'Error': 'Data object had no backup entry', 'Code': 400})
    assert count == 1


def test_put_updates_in_place_and_keeps_secrets_db_metadata_and_last_run():
    with running_server('--webservice-password', PW, '--seed-backups', '1') as srv:
        auth = srv.bearer(PW)
        before = srv.request('GET', '/api/v1/backup/1', headers=auth).json()
        edited = {'Backup': dict(before['Backup'], Description='Edited', Sources=['/srv/'], Metadata=None),
                  'Schedule': dict(before['Schedule'], Repeat='2D', AllowedDays=['sat'])}
        reply = srv.request('PUT', '/api/v1/backup/1', headers=auth, json_body=edited)
        after = srv.request('GET', '/api/v1/backup/1', headers=auth).json()
        token = srv.request('POST', '/api/v1/auth/issuetoken/export', headers=auth).json()['Token']
        export = srv.request('GET', '/api/v1/backup/1/export?export-passwords=true&token=%s' % token).json()
        missing = srv.request('PUT', '/api/v1/backup/9', headers=auth, json_body=edited)
        unbound_missing = srv.request('PUT', '/api/v1/backup/9', headers=auth, json_body={'Schedule': None})
    assert reply.status == 200 and reply.body == b''
    assert after['Backup']['Description'] == 'Edited' and after['Backup']['Sources'] == ['/srv/']
    assert after['Backup']['DBPath'] == before['Backup']['DBPath'] and after['Backup']['Metadata'] == before['Backup']['Metadata']
    assert after['Schedule']['Repeat'] == '2D' and after['Schedule']['AllowedDays'] == ['sat']
    assert after['Schedule']['LastRun'] == before['Schedule']['LastRun'] and after['Schedule']['ID'] == before['Schedule']['ID']
    stored = dict((s['Name'], s['Value']) for s in export['Backup']['Settings'])
    assert stored['passphrase'] and stored['passphrase'] != '***************'
    assert 'auth-password=***' not in export['Backup']['TargetURL']
    assert _error(missing) == (404, {'Error': 'Backup not found', 'Code': 404})
    assert unbound_missing.status == 400 and unbound_missing.body == b''  # binding comes before the handler


def test_put_refusals_change_nothing():
    with running_server('--webservice-password', PW, '--seed-backups', '2') as srv:
        auth = srv.bearer(PW)
        before = srv.request('GET', '/api/v1/backup/1', headers=auth).json()
        rename = srv.request('PUT', '/api/v1/backup/1', headers=auth,
                             json_body={'Backup': dict(before['Backup'], Name='PHOTOS', Description='x'), 'Schedule': None})
        unknown = srv.request('PUT', '/api/v1/backup/1', headers=auth, json_body={'Backup': dict(
            before['Backup'], Settings=before['Backup']['Settings'] + [{'Name': 'new-secret', 'Value': '*****'}])})
        empty_url = srv.request('PUT', '/api/v1/backup/1', headers=auth, json_body={'Backup': dict(before['Backup'], TargetURL='')})
        retention = srv.request('PUT', '/api/v1/backup/1', headers=auth, json_body={'Backup': dict(
            before['Backup'], Settings=before['Backup']['Settings'] + [{'Name': 'keep-versions', 'Value': '0'}])})
        no_backup = srv.request('PUT', '/api/v1/backup/1', headers=auth, json_body={'Backup': None})
        after = srv.request('GET', '/api/v1/backup/1', headers=auth).json()
    assert _error(rename) == (409, {'Error': 'There already exists a backup with the name: PHOTOS', 'Code': 409})
    assert _error(unknown) == (500, {'Error': "Unable to save backup or schedule: Cannot unmask setting 'new-secret' because it did not "
                                              "exist in the previous configuration.", 'Code': 500})
    assert _error(empty_url) == (500, {'Error': 'Unable to save backup or schedule: newUrl is null or empty', 'Code': 500})
    assert _error(retention) == (400, {'Error': 'Retention value must be a positive integer', 'Code': 400})
    assert _error(no_backup) == (400, {'Error': 'No backup data found in request body', 'Code': 400})
    assert after == before
