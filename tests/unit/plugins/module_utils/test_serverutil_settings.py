# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import stat

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import serverutil_settings as sus
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.tests.unit import vectors

# As ServerUtil writes it: default System.Text.Json (compact, PascalCase, nulls written, '+' escaped).
REAL_SETTINGS_JSON = (
    u'[{"RefreshToken":"tok\\u002Ben","RefreshNonce":"n1","HostUrl":"http://127.0.0.1:8200","ServerDatafolder":"/root/.config/Duplicati/"},'
    u'{"RefreshToken":null,"RefreshNonce":null,"HostUrl":"https://backup.example.com:8443/dup/","ServerDatafolder":"/root/.config/Duplicati/"}]')


def test_load_and_round_trip_byte_exact(tmp_path):
    path = tmp_path / 'settings.json'
    path.write_text(REAL_SETTINGS_JSON)
    entries = sus.load_serverutil_settings(str(path))
    assert entries[0] == {'RefreshToken': 'tok+en', 'RefreshNonce': 'n1', 'HostUrl': 'http://127.0.0.1:8200',
                          'ServerDatafolder': '/root/.config/Duplicati/'}
    assert entries[1]['RefreshToken'] is None
    assert sus.render_serverutil_settings(entries) == REAL_SETTINGS_JSON
    out = tmp_path / 'out.json'
    warning = sus.save_serverutil_settings(str(out), entries)
    assert out.read_text() == REAL_SETTINGS_JSON
    assert stat.S_IMODE(os.stat(str(out)).st_mode) == 0o600
    assert warning == sus.WARNING_NO_KEY


def test_names_are_case_sensitive_and_types_checked():
    entries = sus.parse_serverutil_settings(u'[{"refreshtoken": "x", "HostUrl": "http://h/"}]')
    assert entries[0]['RefreshToken'] is None
    for text, words in ((u'{}', 'must be a JSON array'), (u'[1]', 'must be an object'), (u'[null]', 'is null'),
                        (u'[{"HostUrl": 5}]', 'must be a string'), (u'[', 'not valid JSON')):
        with pytest.raises(DuplicatiError) as err:
            sus.parse_serverutil_settings(text)
        assert words in str(err.value)
    assert sus.parse_serverutil_settings(u'null') == []


@pytest.mark.parametrize('a, b', [
    ('http://127.0.0.1:8200', 'http://127.0.0.1:8200/'),
    ('HTTP://LOCALHOST:8200/', 'http://localhost:8200'),
    ('http://h:80/', 'http://h'),
    ('https://h:443/x', 'https://h/x'),
    ('http://user:pw@h:8200/', 'http://h:8200/'),
    ('http://h:8200/a/./b/../c', 'http://h:8200/a/c'),
    ('http://h/%7euser', 'http://h/~user'),
    ('http://[::1]:8200', 'http://[::1]:8200/'),
    ('http://h/#frag', 'http://h/'),
])
def test_uri_equal(a, b):
    assert sus.same_host_url(a, b)


@pytest.mark.parametrize('a, b', [
    ('http://h:8200', 'https://h:8200'),
    ('http://h:8200', 'http://h:8201'),
    ('http://h/a', 'http://h/a/'),
    ('http://h/A', 'http://h/a'),
    ('http://h/?x=1', 'http://h/?X=1'),
    ('http://h', None),
])
def test_uri_not_equal(a, b):
    assert not sus.same_host_url(a, b)


def test_upsert_moves_entry_last_and_keeps_others():
    entries = sus.parse_serverutil_settings(REAL_SETTINGS_JSON)
    updated = sus.upsert_entry(entries, 'http://127.0.0.1:8200/', 't2', 'n2', '/data/')
    assert [e['HostUrl'] for e in updated] == ['https://backup.example.com:8443/dup/', 'http://127.0.0.1:8200/']
    assert updated[1] == {'RefreshToken': 't2', 'RefreshNonce': 'n2', 'HostUrl': 'http://127.0.0.1:8200/', 'ServerDatafolder': '/data/'}
    assert sus.find_entry(updated, 'HTTP://127.0.0.1:8200')['RefreshToken'] == 't2'
    assert sus.find_entry(updated, 'http://other') is None
    assert [e['HostUrl'] for e in sus.remove_entry(updated, 'http://127.0.0.1:8200')] == ['https://backup.example.com:8443/dup/']


def test_default_location():
    assert sus.default_settings_path('linux', env={}, home='/root', exists=lambda p: False) == '/root/.config/Duplicati/settings.json'
    assert sus.default_settings_path('linux', env={'DUPLICATI_HOME': '/d'}, home='/root') == '/d/settings.json'


def test_short_key_rejected(tmp_path):
    with pytest.raises(DuplicatiError) as err:
        sus.load_serverutil_settings(str(tmp_path / 'none.json'), key='short')
    assert 'at least 8 characters' in str(err.value)


def test_refresh_token_encrypted_round_trip(tmp_path):
    entries = sus.parse_serverutil_settings(REAL_SETTINGS_JSON)
    path = tmp_path / 'settings.json'
    assert sus.save_serverutil_settings(str(path), entries, key='long and good password') is None
    raw = json.loads(path.read_text())
    assert raw[0]['RefreshToken'].startswith('enc-v1:')
    assert raw[1]['RefreshToken'] is None
    assert raw[0]['RefreshNonce'] == 'n1'
    assert sus.load_serverutil_settings(str(path), key='long and good password') == entries
    with pytest.raises(DuplicatiError) as err:
        sus.load_serverutil_settings(str(path))
    assert 'no settings encryption key' in str(err.value)
    with pytest.raises(DuplicatiError) as err:
        sus.load_serverutil_settings(str(path), key='a different key')
    assert 'different settings encryption key' in str(err.value)


def test_real_enc_v1_vector_decrypts():
    vector = vectors.load('enc_v1_duplicati.json')
    text = json.dumps([{'RefreshToken': vector['encrypted'], 'RefreshNonce': None, 'HostUrl': 'http://h/', 'ServerDatafolder': None}])
    assert sus.parse_serverutil_settings(text, key=vector['key'])[0]['RefreshToken'] == vector['plaintext']


def test_blacklisted_key_writes_plaintext_with_warning(tmp_path):
    blacklisted = hashlib.sha256(b'').hexdigest().upper()
    entries = sus.parse_serverutil_settings(REAL_SETTINGS_JSON)
    path = tmp_path / 'settings.json'
    assert sus.save_serverutil_settings(str(path), entries, key=blacklisted) == sus.WARNING_BLACKLISTED_KEY
    assert path.read_text() == REAL_SETTINGS_JSON
