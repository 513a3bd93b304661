# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import os
import stat

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings as ags
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.tests.unit import vectors

PEM = u'-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA+x/y\n-----END PUBLIC KEY-----'

# agent.json exactly as the agent writes it (System.Text.Json, camelCase, WriteIndented, nulls omitted,
# default JavaScriptEncoder: '+' becomes \u002B, newlines \n).
REAL_AGENT_JSON = (
    u'{\n'
    u'  "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWNoaW5lIn0.c2ln",\n'
    u'  "serverUrl": "wss://agent.duplicati.com/agent",\n'
    u'  "certificateUrl": "https://app.duplicati.com/api/v1/agent/certificates",\n'
    u'  "settingsEncryptionKey": "0123456789abcdef0123456789abcdef",\n'
    u'  "serverCertificates": [\n'
    u'    {\n'
    u'      "publicKeyHash": "9F86D081884C7D659A2FEAA0C55AD015",\n'
    u'      "publicKey": "-----BEGIN PUBLIC KEY-----\\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\\u002Bx/y\\n-----END PUBLIC KEY-----",\n'
    u'      "obtained": "2026-01-10T08:15:30.1234567+00:00",\n'
    u'      "expiry": "2026-07-10T08:15:30+00:00"\n'
    u'    },\n'
    u'    {\n'
    u'      "publicKeyHash": "AB",\n'
    u'      "publicKey": "k",\n'
    u'      "obtained": "2026-02-01T00:00:00+01:00",\n'
    u'      "expiry": "2027-02-01T00:00:00+01:00"\n'
    u'    }\n'
    u'  ]\n'
    u'}')


def _vector():
    return vectors.load('enc_v1_duplicati.json')


def test_load_real_format(tmp_path):
    path = tmp_path / 'agent.json'
    path.write_text(REAL_AGENT_JSON)
    settings = ags.load_agent_settings(str(path))
    assert settings['jwt'].startswith('eyJhbGci')
    assert settings['serverUrl'] == 'wss://agent.duplicati.com/agent'
    assert settings['serverCertificates'][0]['publicKey'] == PEM
    assert settings['serverCertificates'][0]['obtained'] == '2026-01-10T08:15:30.1234567+00:00'
    assert ags.is_registered(settings)


def test_round_trip_is_byte_exact(tmp_path):
    settings = ags.parse_agent_settings(REAL_AGENT_JSON)
    assert ags.render_agent_settings(settings) == REAL_AGENT_JSON
    path = tmp_path / 'agent.json'
    ags.save_agent_settings(str(path), settings)
    assert path.read_bytes() == REAL_AGENT_JSON.encode('utf-8')
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    windows = ags.render_agent_settings(settings, newline='\r\n')
    assert windows == REAL_AGENT_JSON.replace('\n', '\r\n')


def test_case_insensitive_read_and_canonical_write():
    text = u'{"JWT": "a", "ServerURL": "s", "SERVERCERTIFICATES": [{"PUBLICKEYHASH": "h", "Expiry": "2026-01-01T00:00:00Z"}],' \
           u' "jwt": "b", "unknown": 1, "filename": "x"}'
    settings = ags.parse_agent_settings(text)
    assert settings['jwt'] == 'b'  # the later duplicate wins, as in System.Text.Json
    assert settings['serverUrl'] == 's'
    assert settings['certificateUrl'] is None and settings['settingsEncryptionKey'] is None
    cert = settings['serverCertificates'][0]
    assert cert == {'publicKeyHash': 'h', 'publicKey': None, 'obtained': '0001-01-01T00:00:00+00:00',
                    'expiry': '2026-01-01T00:00:00+00:00'}
    assert ags.render_agent_settings(settings) == (
        u'{\n  "jwt": "b",\n  "serverUrl": "s",\n  "serverCertificates": [\n    {\n      "publicKeyHash": "h",\n'
        u'      "obtained": "0001-01-01T00:00:00+00:00",\n      "expiry": "2026-01-01T00:00:00+00:00"\n    }\n  ]\n}')


def test_missing_file_gives_defaults_and_their_text(tmp_path):
    settings = ags.load_agent_settings(str(tmp_path / 'agent.json'))
    assert settings == ags.default_agent_settings()
    assert not ags.is_registered(settings)
    assert ags.render_agent_settings(settings) == (
        u'{\n  "jwt": "",\n  "serverUrl": "",\n  "certificateUrl": "",\n  "settingsEncryptionKey": "",\n  "serverCertificates": []\n}')
    assert ags.parse_agent_settings(u'null') == ags.default_agent_settings()


@pytest.mark.parametrize('jwt, registered', [('x', True), ('', False), ('   \t', False), (None, False)])
def test_is_registered(jwt, registered):
    assert ags.is_registered({'jwt': jwt}) is registered


@pytest.mark.parametrize('text, words', [
    (u'{"jwt": "a",}', 'not valid JSON'),
    (u'[]', 'top level must be a JSON object'),
    (u'{"jwt": 5}', 'jwt must be a string, not a number'),
    (u'{"serverCertificates": {}}', 'serverCertificates must be an array'),
    (u'{"serverCertificates": [1]}', 'must be an object'),
    (u'{"serverCertificates": [{"expiry": "tomorrow"}]}', 'Invalid date'),
])
def test_invalid_files(text, words):
    with pytest.raises(DuplicatiError) as err:
        ags.parse_agent_settings(text, source='/x/agent.json')
    assert words in str(err.value)


def test_bad_file_is_not_touched_on_error(tmp_path):
    path = tmp_path / 'agent.json'
    path.write_text(u'{broken')
    with pytest.raises(DuplicatiError):
        ags.load_agent_settings(str(path))
    assert path.read_text() == u'{broken'


def test_short_passphrase_rejected():
    with pytest.raises(DuplicatiError) as err:
        ags.parse_agent_settings(REAL_AGENT_JSON, passphrase='short')
    assert 'Key must be at least 8 characters long' in str(err.value)
    # blank counts as no passphrase, like CreateKeyIfValid
    assert ags.parse_agent_settings(REAL_AGENT_JSON, passphrase='  ')['jwt'].startswith('eyJ')


def test_certificate_expiry():
    settings = ags.parse_agent_settings(REAL_AGENT_JSON)
    expiry = ags.certificate_expiry(settings)
    assert expiry == datetime.datetime(2027, 1, 31, 23, 0, tzinfo=datetime.timezone.utc)
    assert ags.certificate_expiry({'serverCertificates': []}) is None
    assert ags.certificate_expiry({}) is None


def test_datetimeoffset_format():
    assert ags.format_datetimeoffset('2026-01-02T03:04:05.5000000Z') == '2026-01-02T03:04:05.5+00:00'
    assert ags.format_datetimeoffset('2026-01-02T03:04:05-05:30') == '2026-01-02T03:04:05-05:30'
    assert ags.format_datetimeoffset('2026-01-02') == '2026-01-02T00:00:00+00:00'


# --- enc-v1 ---------------------------------------------------------------------------------------

def _encrypted_doc(jwt_value, key_value='localkey'):
    return u'{\n  "jwt": %s,\n  "serverUrl": "wss://s",\n  "certificateUrl": "https://c",\n  "settingsEncryptionKey": %s,\n' \
           u'  "serverCertificates": []\n}' % (json.dumps(jwt_value), json.dumps(key_value))


def test_load_real_enc_v1_vector():
    vector = _vector()
    settings = ags.parse_agent_settings(_encrypted_doc(vector['encrypted']), passphrase=vector['key'])
    assert settings['jwt'] == vector['plaintext']
    assert settings['settingsEncryptionKey'] == 'localkey'  # plain values are read as they are


def test_encrypted_without_key_gives_real_error():
    vector = _vector()
    with pytest.raises(DuplicatiError) as err:
        ags.parse_agent_settings(_encrypted_doc(vector['encrypted']))
    assert 'Settings file is encrypted but key is missing' in str(err.value)


def test_encrypted_with_wrong_key_gives_real_error():
    vector = _vector()
    with pytest.raises(DuplicatiError) as err:
        ags.parse_agent_settings(_encrypted_doc(vector['encrypted']), passphrase='another long passphrase')
    assert 'Invalid settings key provided' in str(err.value)


def test_save_encrypted_round_trip(tmp_path):
    settings = ags.parse_agent_settings(REAL_AGENT_JSON)
    path = tmp_path / 'agent.json'
    ags.save_agent_settings(str(path), settings, passphrase='long and good password')
    raw = json.loads(path.read_text())
    assert raw['jwt'].startswith('enc-v1:') and raw['settingsEncryptionKey'].startswith('enc-v1:')
    assert raw['serverUrl'] == settings['serverUrl']  # other fields stay plain
    assert settings['jwt'] not in path.read_text()
    assert ags.load_agent_settings(str(path), passphrase='long and good password') == settings
    with pytest.raises(DuplicatiError):
        ags.load_agent_settings(str(path))


def test_save_with_blacklisted_passphrase_writes_plaintext():
    from ansible_collections.duplicati.fleet.plugins.module_utils import encrypted_field
    import hashlib
    blacklisted = hashlib.sha256(b'').hexdigest().upper()
    assert encrypted_field.is_blacklisted_key(blacklisted)
    settings = ags.parse_agent_settings(REAL_AGENT_JSON)
    assert ags.render_agent_settings(settings, passphrase=blacklisted) == REAL_AGENT_JSON


def test_save_encrypts_only_non_blank_values():
    text = ags.render_agent_settings({'jwt': ' ', 'settingsEncryptionKey': None, 'serverUrl': 'u'}, passphrase='long and good password')
    assert json.loads(text) == {'jwt': '', 'serverUrl': 'u'}


def _no_aes(monkeypatch):
    from ansible_collections.duplicati.fleet.plugins.module_utils import encrypted_field

    def refuse():
        raise AssertionError('AES was used')
    monkeypatch.setattr(encrypted_field, '_aescrypt', refuse)


def test_settings_facts_of_a_registered_agent_need_no_aes(tmp_path, monkeypatch):
    """agent_info reads every host of a fleet on every run: the passphrase is checked by its hash and the token
    measured, not decrypted (no key stretching, no cryptography import)."""
    path = tmp_path / 'agent.json'
    token = 'eyJhbGciOiJSUzI1NiJ9.' + 'e' * 200
    ags.save_agent_settings(str(path), dict(ags.default_agent_settings(), jwt=token, serverUrl='wss://s'), passphrase='a long passphrase')
    _no_aes(monkeypatch)
    facts = ags.settings_facts(str(path), 'a long passphrase')
    assert facts['registered'] and facts['settings_encrypted'] and 'settings_error' not in facts
    assert facts['server_url'] == 'wss://s'
    wrong = ags.settings_facts(str(path), 'another long passphrase')
    assert 'Invalid settings key provided' in wrong['settings_error'] and wrong['registered']


@pytest.mark.parametrize('jwt, registered', [('', False), ('   ', False), ('short', True), ('t' * 32, True), ('t' * 33, True)])
def test_holds_token_is_is_registered_of_the_decrypted_value(jwt, registered):
    from ansible_collections.duplicati.fleet.plugins.module_utils.encrypted_field import encrypt_field
    value = encrypt_field(jwt, 'a long passphrase')
    assert ags.holds_token(value, 'a long passphrase') is registered
    assert ags.holds_token(jwt, None) is registered


def test_holds_token_measures_only_the_lengths_that_decide(monkeypatch):
    from ansible_collections.duplicati.fleet.plugins.module_utils.encrypted_field import encrypt_field
    empty, long_token = encrypt_field('', 'a long passphrase'), encrypt_field('t' * 33, 'a long passphrase')
    _no_aes(monkeypatch)
    assert ags.holds_token(empty, 'a long passphrase') is False
    assert ags.holds_token(long_token, 'a long passphrase') is True


@pytest.mark.parametrize('blanks', [' ' * 200, '\t \r\n' * 40])
def test_holds_token_of_blanks_whose_content_hash_does_not_match(blanks):
    """A prefixed value whose content hash does not match is returned without its prefix by
    ``EncryptedFieldHelper.Decrypt``: blanks then are no token (``string.IsNullOrWhiteSpace`` in
    ``Agent/Program.cs``), however long they are."""
    assert ags.holds_token('enc-v1:' + blanks, 'a long passphrase') is False
    assert ags.holds_token('enc-v1:' + 'x' * 200, 'a long passphrase') is True
