# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import backup_definition as bd, secrets
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError


def _definition(**changes):
    base = dict(description='', tags=[], target_url='file:///srv/b', sources=['/home/'], passphrase='p4ss',
                schedule=dict(repeat='1D', time='02:00', allowed_days=None), settings={}, filters=[])
    base.update(changes)
    return bd.from_params(base)


@pytest.mark.parametrize('text, seconds', [('02:00', 7200), ('2:00:30', 7230), ('02:00Z', 7200), ('03:00+01:00', 7200),
                                           ('01:00-01:30', 9000), ('00:30+01:00', 23 * 3600 + 1800)])
def test_parse_time_in_utc(text, seconds):
    assert bd.parse_time(text) == seconds


@pytest.mark.parametrize('text', ['24:00', '2', 'noon', '02:60'])
def test_parse_time_refuses(text):
    with pytest.raises(DuplicatiError, match='Invalid schedule time'):
        bd.parse_time(text)


@pytest.mark.parametrize('first, second, same', [
    (('1D', '02:00', ['mon']), ('1D', '02:00', ['mon']), True),
    (('1W', '02:00', None), ('7D', '02:00', None), True),
    (('1D', '02:00', None), ('24h', '02:00', None), False),  # 24h does not keep the time of day across DST
    (('1D', '02:00', None), ('1D', '03:00', None), False),
    (('1h', '02:15', None), ('1h', '17:15', None), True),  # the server moves Time to the next run: only the phase is stable
    (('1h', '02:15', None), ('1h', '17:45', None), False),
    (('7h', '02:15', None), ('7h', '17:45', None), True),  # a period that does not divide a day has no stable time of day
    (('1D', None, None), ('1D', '05:00', None), True),  # time not declared
    (('1D', '02:00', ['mon']), ('1D', '02:00', None), False),
])
def test_same_schedule(first, second, same):
    a = bd._schedule(first[0], first[1], first[2], 'a')
    b = bd._schedule(second[0], second[1], second[2], 'b')
    assert bd._same_schedule(a, b) is same


def test_days_every_day_is_none_and_order_is_the_week():
    assert bd._days(['Sunday', 'mon', '3'], 'x') == ['mon', 'wed', 'sun']
    assert bd._days(list(bd.DAYS), 'x') is None and bd._days([], 'x') is None


@pytest.mark.parametrize('first, second, same', [('50mb', '50MB', True), ('50mb', '51200kb', True), ('1W', '7D', True),
                                                 ('5', '05', False), ('50mb', '50', False), ('zip', 'zip', True)])
def test_same_setting(first, second, same):
    assert bd._same_setting(first, second) is same


def test_options_with_and_without_dashes_are_one_option():
    current = dict(_definition(), settings={'keep-versions': '3', '--keep-versions': '5'})  # as a server may have it
    assert bd.differences(_definition(settings={'keep-versions': '5'}), current) == []
    assert bd.differences(_definition(settings={'--keep-versions': '3'}), current) == ['settings.keep-versions']
    with pytest.raises(DuplicatiError, match='set the same option'):
        _definition(settings={'keep-versions': '3', '--keep-versions': '5'})


@pytest.mark.parametrize('name, secret', [('passphrase', True), ('--auth-password', True), ('aws-secret-access-key', True),
                                          ('--ssh-key', True), ('sas-token', True), ('authid', True), ('keep-versions', False),
                                          ('dblock-size', False), ('--ftp-passive', False), ('encryption-module', False)])
def test_is_secret_setting(name, secret):
    assert secrets.is_secret_name(name) is secret


def test_masked_url_user_info_and_secret_query_values():
    definition = _definition(target_url='ftp://bob:pa%20ss@host/p?auth-username=bob&auth-password=pw1&x=1',
                             settings={'--auth-password': 'pw2', 'zone': 'eu'})
    shown = bd.masked(definition)
    assert shown['target_url'] == 'ftp://bob:********@host/p?auth-username=********&auth-password=********&x=1'
    assert shown['settings'] == {'--auth-password': '********', 'zone': 'eu'} and shown['passphrase'] == '********'
    assert set(secrets.secret_values(dict(target_url=definition['target_url'], passphrase='p4ss', settings={'--auth-password': 'pw2'}))) \
        >= {'pa%20ss', 'pa ss', 'pw1', 'pw2', 'p4ss'}


def test_keep_masked_takes_the_server_values_as_written():
    current = _definition(target_url='s3://b/p?auth-password=a%2Bb&user=x', settings={'--auth-password': 'pw2'})
    given = _definition(target_url='s3://b/p?auth-password=********&user=x', settings={'--auth-password': '********'},
                        passphrase='********')
    kept = bd.keep_masked(given, current)
    assert kept['target_url'] == current['target_url'] and kept['settings'] == current['settings']
    assert kept['passphrase'] == 'p4ss' and bd.differences(kept, current) == []
    with pytest.raises(DuplicatiError, match='masked value'):
        bd.keep_masked(_definition(settings={'new-token': '********'}), current)


def test_diff_marks_changed_secrets_only():
    current = _definition(target_url='s3://b/p?auth-password=old', settings={'--auth-password': 'same'})
    desired = _definition(target_url='s3://b/p?auth-password=new', settings={'--auth-password': 'same'}, passphrase='other')
    before, after = bd.diff_views(desired, current)
    assert before['target_url'] == 's3://b/p?auth-password=********'
    assert after['target_url'] == 's3://b/p?auth-password=******** (changed)'
    assert after['settings']['--auth-password'] == '********' and after['passphrase'] == '******** (changed)'


def test_next_run_is_the_next_utc_occurrence():
    now = datetime.datetime(2026, 12, 1, 3, 0, 0)
    assert bd.next_run('02:00', now) == '2026-12-02T02:00:00Z'
    assert bd.next_run('04:00+01:00', now) == '2026-12-02T03:00:00Z'
    assert bd.next_run('04:00', now) == '2026-12-01T04:00:00Z'


def test_bodies():
    definition = _definition(settings={'--dblock-size': '50mb'}, filters=['-*.tmp', '+/home/a/'],
                             schedule=dict(repeat='1D', time='02:00', allowed_days=['tue', 'mon']))
    body = bd.create_body('job', definition)
    assert body['Backup']['Settings'] == [dict(Name='passphrase', Value='p4ss', Filter=''), dict(Name='--dblock-size', Value='50mb', Filter='')]
    assert body['Backup']['Filters'] == [dict(Order=0, Include=False, Expression='*.tmp'), dict(Order=1, Include=True, Expression='/home/a/')]
    assert body['Backup']['Metadata'] == {} and body['Schedule']['AllowedDays'] == ['mon', 'tue'] and body['Schedule']['Repeat'] == '1D'
    entry = {'Backup': {'ID': '3', 'ConnectionStringID': -1, 'OperationType': 'Backup', 'AdditionalTargetURLs': [],
                        'Settings': [{'Name': '--dblock-size', 'Value': '10mb', 'Filter': 'x'}]},
             'Schedule': {'Time': '2030-01-01T02:00:00Z', 'Repeat': '2D'}}
    current = bd.from_server(entry)
    update = bd.update_body('job', definition, current, entry)
    assert 'Metadata' not in update['Backup'] and update['Backup']['OperationType'] == 'Backup'
    assert update['Backup']['Settings'][1] == dict(Name='--dblock-size', Value='50mb', Filter='x')
    assert update['Schedule']['Time'] == '2030-01-01T02:00:00Z'  # same time of day: the next planned run stays
    assert bd.update_body('job', bd.from_params(dict(target_url='f', sources=['/'], schedule=None)), current, entry)['Schedule'] is None


def test_sources_in_any_order_filters_in_order():
    current = _definition(sources=['/a/', '/b/'], filters=['-*.tmp', '+/a/x'])
    assert bd.differences(_definition(sources=['/b/', '/a/'], filters=['-*.tmp', '+/a/x']), current) == []
    assert bd.differences(_definition(sources=['/a/'], filters=['+/a/x', '-*.tmp']), current) == ['sources', 'filters']


def test_masked_hides_credentials_in_url_valued_settings():
    shown = bd.masked(_definition(settings={'send-http-url': 'https://user:s3cret@hook.test/x',
                                            'notify': 'https://h.test/x?apikey=k3y', 'zone': 'eu'}))
    assert shown['settings'] == {'send-http-url': 'https://********@hook.test/x', 'notify': 'https://h.test/x?apikey=********',
                                 'zone': 'eu'}


def test_url_password_with_a_hash_is_masked():
    # RelaxedUri.URL_PARSER: the password is [^@:?/]*, a '#' is part of it (no fragment)
    definition = _definition(target_url='ftp://user:Pa#Wd42@host/p?auth-password=q#1&x=1')
    assert bd.masked(definition)['target_url'] == 'ftp://user:********@host/p?auth-password=********&x=1'
    assert {'Pa#Wd42', 'q#1'} <= secrets.secret_values(dict(target_url=definition['target_url']))
    assert 'Wd42' not in secrets.mask_urls('see ' + definition['target_url'])
    kept = bd.keep_masked(_definition(target_url='ftp://user:********@host/p?auth-password=********&x=1'), definition)
    assert kept['target_url'] == definition['target_url']


@pytest.mark.parametrize('changes, operation, message', [
    (dict(sources=[]), None, 'Invalid source list'),
    (dict(sources=['/a', ' ']), None, 'Invalid source list'),
    (dict(target_url=' '), None, 'Missing a target'),
    (dict(passphrase=None), None, 'Missing passphrase'),
    (dict(passphrase=' '), None, 'Missing passphrase'),
    (dict(passphrase=None, settings={'no-encryption': 'true'}), None, 'Missing passphrase'),  # only --no-encryption is read
    (dict(schedule=dict(repeat='5m')), None, 'more than 5 minutes'),
    (dict(schedule=dict(repeat='1d')), None, 'valid timespan'),
    (dict(), 'Sync', 'Encryption not allowed for sync operations'),
])
def test_check_refuses_what_validate_backup_refuses(changes, operation, message):
    with pytest.raises(DuplicatiError, match=message):
        bd.check('job', _definition(**changes), operation)


@pytest.mark.parametrize('name, changes, operation', [
    ('job', dict(), None),
    ('job', dict(passphrase=None, settings={'--no-encryption': 'true'}), 'Backup'),
    ('job', dict(passphrase=None, settings={'--No-Encryption': ''}), None),
    ('job', dict(passphrase=None, settings={'--gpg-encryption-command': '--encrypt'}), None),
    ('job', dict(passphrase=None, settings={'--no-encryption': 'yes'}), 'Sync'),
    ('job', dict(schedule=dict(repeat='301')), None),
])
def test_check_takes_what_validate_backup_takes(name, changes, operation):
    bd.check(name, _definition(**changes), operation)


def test_check_refuses_a_blank_name():
    with pytest.raises(DuplicatiError, match='Missing a name'):
        bd.check(' ', _definition())


def test_tags_as_the_server_keeps_them():
    # Connection.AddOrUpdateBackup stores string.Join(",", Tags); GetBackup splits them with RemoveEmptyEntries
    declared = _definition(tags=['a,b', '', 'c'])
    assert declared['tags'] == ['a', 'b', 'c']
    assert bd.differences(declared, _definition(tags=['a', 'b', 'c'])) == []


@pytest.mark.parametrize('value', [{'a': 'b'}, ['x', 'y']])
def test_a_setting_that_is_not_text_is_refused(value):
    with pytest.raises(DuplicatiError, match='takes a text value'):
        _definition(settings={'exclude-files-attributes': value})


def test_special_sources_are_masked_and_kept():
    # SourceMasking: a source "@/path|url" reads from a remote URL, whose credentials the server masks
    current = _definition(sources=['/home/', '@/mnt/remote|s3://b/p?auth-username=AK&auth-password=OLDSECRET'])
    shown = bd.masked(current)
    assert shown['sources'] == ['/home/', '@/mnt/remote|s3://b/p?auth-username=********&auth-password=********']
    assert 'OLDSECRET' not in str(bd.diff_views(_definition(sources=['/home/']), current))
    kept = bd.keep_masked(_definition(sources=shown['sources']), current)
    assert kept['sources'] == current['sources'] and bd.differences(kept, current) == []
    with pytest.raises(DuplicatiError, match='a credential in the source @/mnt/other'):
        bd.keep_masked(_definition(sources=['@/mnt/other|s3://b/p?auth-password=**********']), current)
