# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""enc-v1 settings fields: Duplicati's own vector, the exact format, and EncryptedFieldHelper's rules."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import io
import re

import pyAesCrypt
import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import aescrypt
from ansible_collections.duplicati.fleet.plugins.module_utils.encrypted_field import (
    BLACKLISTED_KEYS,
    PREFIX,
    decrypt_field,
    encrypt_field,
    is_blacklisted_key,
    is_encrypted_field,
    plaintext_length,
)
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import (
    DuplicatiError,
    EncryptedFieldError,
    EncryptedFieldKeyError,
    EncryptedFieldKeyMismatchError,
    EncryptedFieldKeyMissingError,
)
from ansible_collections.duplicati.fleet.tests.unit import vectors

KEY = 'long and good password'
URL = ('s3://awsid-bucket/folder/?s3-location-constraint=us-east-2&s3-storage-class=&s3-client=aws'
       '&auth-username=AWSID&auth-password=AWSACCESSKEY')


def _sha(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest().upper()


@pytest.fixture(scope='module')
def vector():
    return vectors.load('enc_v1_duplicati.json')


def test_duplicati_vector_decrypts(vector):
    assert vector['key'] == KEY and vector['plaintext'] == URL
    assert decrypt_field(vector['encrypted'], vector['key']) == vector['plaintext']


def test_duplicati_vector_hashes_and_layout(vector):
    value = vector['encrypted']
    assert value.startswith(PREFIX)
    rest = value[len(PREFIX):]
    content = rest[128:]
    assert rest[:64] == _sha(content)          # content hash: over the UTF-8 of the hex text
    assert rest[64:128] == _sha(vector['key'])  # key hash: over the key string
    assert content == content.upper()
    blob = bytes.fromhex(content)
    assert blob[:7] == b'AES\x02\x00\x00\x00'   # v2, minimal header


def test_non_encrypted_values_are_returned_as_they_are():
    assert decrypt_field(URL, KEY) == URL
    assert decrypt_field(URL, None) == URL
    assert decrypt_field(None, KEY) is None
    assert decrypt_field('', KEY) == ''
    assert decrypt_field('ENC-V1:' + 'A' * 200, KEY) == 'ENC-V1:' + 'A' * 200  # the prefix is case-sensitive


@pytest.mark.parametrize('value', [URL, '', 'x', 'pässwörd ✓ 😀', 'a' * 5000, PREFIX + 'looks encrypted'])
def test_round_trip(value):
    encrypted = encrypt_field(value, KEY)
    assert is_encrypted_field(encrypted)
    assert decrypt_field(encrypted, KEY) == value


def test_encrypted_format():
    encrypted = encrypt_field('hello', KEY)
    match = re.match(r'^enc-v1:([0-9A-F]{64})([0-9A-F]{64})([0-9A-F]+)$', encrypted)
    assert match
    content_hash, key_hash, content = match.groups()
    assert content_hash == _sha(content)
    assert key_hash == _sha(KEY)
    blob = bytes.fromhex(content)
    assert blob[:7] == b'AES\x02\x00\x00\x00'
    assert len(blob) == 7 + 16 + 48 + 32 + 16 + 1 + 32
    out = io.BytesIO()
    assert aescrypt.decrypt(io.BytesIO(blob), out, KEY) == 2
    assert out.getvalue() == b'hello'
    assert encrypt_field('hello', KEY) != encrypted  # fresh IVs every time


def test_content_is_decryptable_by_pyaescrypt():
    content = encrypt_field('hello world', KEY)[len(PREFIX) + 128:]
    out = io.BytesIO()
    pyAesCrypt.decryptStream(io.BytesIO(bytes.fromhex(content)), out, KEY)
    assert out.getvalue() == b'hello world'


def test_tampered_content_hash_returns_the_value_without_prefix(vector):
    rest = vector['encrypted'][len(PREFIX):]
    tampered = PREFIX + rest[:64][::-1] + rest[64:]
    assert decrypt_field(tampered, KEY) == tampered[len(PREFIX):]
    # the same for any prefixed text long enough to hold the two hashes
    text = PREFIX + 'x' * 130
    assert decrypt_field(text, KEY) == 'x' * 130


def test_tampered_key_hash_is_a_key_mismatch(vector):
    rest = vector['encrypted'][len(PREFIX):]
    tampered = PREFIX + rest[:64] + rest[64:128][::-1] + rest[128:]
    with pytest.raises(EncryptedFieldKeyMismatchError):
        decrypt_field(tampered, KEY)


def test_other_key_is_a_key_mismatch(vector):
    with pytest.raises(EncryptedFieldKeyMismatchError) as err:
        decrypt_field(vector['encrypted'], 'another good and long password')
    assert isinstance(err.value, DuplicatiError)
    assert err.value.hint


@pytest.mark.parametrize('key', [None, '', '   ', '\t\n'])
def test_missing_key(vector, key):
    with pytest.raises(EncryptedFieldKeyMissingError):
        decrypt_field(vector['encrypted'], key)
    with pytest.raises(EncryptedFieldKeyMissingError):
        encrypt_field('value', key)


@pytest.mark.parametrize('key', ['1234567', 'a', '😀😀😀'])
def test_short_keys_are_rejected(key):
    with pytest.raises(EncryptedFieldKeyError, match='at least 8'):
        encrypt_field('value', key)
    with pytest.raises(EncryptedFieldKeyError):
        decrypt_field(PREFIX + 'A' * 200, key)


@pytest.mark.parametrize('key', ['12345678', '😀😀😀😀'])  # 8 UTF-16 code units each
def test_eight_character_keys_work(key):
    assert decrypt_field(encrypt_field('v', key), key) == 'v'


def test_blacklisted_keys():
    # Duplicati's own test key and the hash of "" are the two blacklisted keys
    assert BLACKLISTED_KEYS == {'ECB47E9D8445E0A3F30A1435BE075C101F202FF5445BA01A9F9A8DBD4506F5F3', _sha('')}
    assert _sha('WERC8GMRZGE196QVYK49JVXS4GKTWGF4CJDS6K54JPCHPY2JQ1AG') in BLACKLISTED_KEYS
    for key in BLACKLISTED_KEYS:
        assert is_blacklisted_key(key)
        assert encrypt_field('secret', key) == 'secret'
    assert not is_blacklisted_key(KEY)
    assert not is_blacklisted_key('')
    assert not is_blacklisted_key(_sha('').lower())


def test_blacklisted_key_still_decrypts():
    key = _sha('')
    content = aescrypt.encrypt_bytes(b'old secret', key, minimal_header=True).hex().upper()
    value = PREFIX + _sha(content) + _sha(key) + content
    assert decrypt_field(value, key) == 'old secret'


def test_is_encrypted_field():
    assert is_encrypted_field(PREFIX + 'abc')
    assert not is_encrypted_field(PREFIX[:-1])
    assert not is_encrypted_field('')
    assert not is_encrypted_field('   ')
    assert not is_encrypted_field(None)
    assert not is_encrypted_field(42)
    assert not is_encrypted_field(' ' + PREFIX + 'abc')


def test_none_stays_none():
    assert encrypt_field(None, KEY) is None


def test_malformed_values():
    with pytest.raises(EncryptedFieldError, match='malformed'):
        decrypt_field(PREFIX + 'ABC', KEY)
    content = 'NOT HEX!'
    with pytest.raises(EncryptedFieldError, match='hexadecimal'):
        decrypt_field(PREFIX + _sha(content) + _sha(KEY) + content, KEY)


def test_corrupted_ciphertext_with_matching_hashes_fails_integrity():
    encrypted = encrypt_field('hello there', KEY)
    rest = encrypted[len(PREFIX):]
    content = bytearray(bytes.fromhex(rest[128:]))
    content[-40] ^= 1
    content = content.hex().upper()
    with pytest.raises(DuplicatiError, match='tampered'):
        decrypt_field(PREFIX + _sha(content) + _sha(KEY) + content, KEY)


def test_type_errors():
    with pytest.raises(TypeError):
        encrypt_field(b'bytes', KEY)
    with pytest.raises(TypeError):
        encrypt_field('value', b'bytes key 12345')
    with pytest.raises(TypeError):
        decrypt_field(123, KEY)


# --- plaintext_length: the length from the AES Crypt v2 framing, without AES ----------------------------------

def test_plaintext_length_of_duplicatis_vector(vector):
    assert plaintext_length(vector['encrypted'], vector['key']) == len(vector['plaintext'].encode('utf-8'))


@pytest.mark.parametrize('text', [u'', u'a', u'x' * 15, u'x' * 16, u'x' * 17, u'x' * 32, u'\u00e9t\u00e9 ' * 9, u' ' * 40,
                                  u'eyJhbGciOiJSUzI1NiJ9.' + u'e' * 300])
def test_plaintext_length_matches_decryption(text):
    value = encrypt_field(text, KEY)
    assert plaintext_length(value, KEY) == len(decrypt_field(value, KEY).encode('utf-8')) == len(text.encode('utf-8'))


def test_plaintext_length_checks_the_key_like_decrypt_field(vector):
    with pytest.raises(EncryptedFieldKeyMissingError):
        plaintext_length(vector['encrypted'], None)
    with pytest.raises(EncryptedFieldKeyMismatchError):
        plaintext_length(vector['encrypted'], 'another long password')
    with pytest.raises(EncryptedFieldError):
        plaintext_length(PREFIX + 'ABC', KEY)


def test_plaintext_length_of_values_decrypt_field_returns_as_they_are(vector):
    assert plaintext_length(u'plain \u00e9', KEY) == len(u'plain \u00e9'.encode('utf-8'))
    assert plaintext_length('', KEY) == 0
    rest = vector['encrypted'][len(PREFIX):]
    tampered = PREFIX + '0' * 64 + rest[64:]  # content hash mismatch: Duplicati returns the value without prefix
    assert plaintext_length(tampered, KEY) is None and decrypt_field(tampered, KEY) == tampered[len(PREFIX):]


def _enc_v1(blob, key=KEY):
    content = blob.hex().upper()
    return PREFIX + _sha(content) + _sha(key) + content


def test_plaintext_length_is_none_when_only_decryption_can_tell():
    v3 = aescrypt.encrypt_bytes(b'a token', KEY, version=3)
    assert plaintext_length(_enc_v1(v3), KEY) is None
    assert decrypt_field(_enc_v1(v3), KEY) == 'a token'
    v2 = aescrypt.encrypt_bytes(b'a token', KEY, version=2, minimal_header=True)
    for broken in (v2[:-40], v2[:5], v2[:-33] + b'\x10' + v2[-32:], b'AES\x01\x00' + v2[5:]):
        assert plaintext_length(_enc_v1(broken), KEY) is None
        with pytest.raises(DuplicatiError):
            decrypt_field(_enc_v1(broken), KEY)
