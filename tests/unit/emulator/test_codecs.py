# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's own codecs against the published vectors and an independent implementation
(pyAesCrypt), never against the collection's code."""

import io
import struct

import pyAesCrypt
import pytest

from ansible_collections.duplicati.fleet.tests.emulator.codecs import aescrypt, encrypted_field, jsonsignature, timeparser
from ansible_collections.duplicati.fleet.tests.unit import vectors

V2 = vectors.aescrypt_cases('aescrypt_v2_terrapane.json')
V3 = vectors.aescrypt_cases('aescrypt_v3_terrapane.json')


# ---- AES Crypt (SharpAESCrypt) ------------------------------------------------------------

@pytest.mark.parametrize('password, plaintext, blob', V2)
def test_aescrypt_v2_vectors_with_ignore_padding_bytes(password, plaintext, blob):
    assert aescrypt.decrypt(password, blob, ignore_padding_bytes=True) == (2, plaintext)


def test_aescrypt_v2_strict_padding_refuses_the_random_fill_of_official_aescrypt():
    """DecryptingStream checks the padding bytes unless IgnorePaddingBytes: the official client's
    random fill is refused, PKCS#7-style fill and whole blocks pass."""
    refused = passed = 0
    for password, plaintext, blob in V2:
        try:
            assert aescrypt.decrypt(password, blob) == (2, plaintext)
            passed += 1
        except aescrypt.HashMismatchError as exc:
            assert 'invalid padding bytes' in str(exc) and len(plaintext) % 16
            refused += 1
    assert refused and passed


@pytest.mark.parametrize('password, plaintext, blob', V3)
def test_aescrypt_v3_vectors(password, plaintext, blob):
    assert aescrypt.decrypt(password, blob) == (3, plaintext)


@pytest.mark.parametrize('size', [0, 1, 15, 16, 17, 100000])
def test_aescrypt_v2_written_is_read_by_pyaescrypt_and_back(size):
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    blob = aescrypt.encrypt('pass word', data)
    out = io.BytesIO()
    pyAesCrypt.decryptStream(io.BytesIO(blob), out, 'pass word', 64 * 1024 + 16 * 7)
    assert out.getvalue() == data
    theirs = io.BytesIO()
    pyAesCrypt.encryptStream(io.BytesIO(data), theirs, 'pass word')
    assert aescrypt.decrypt('pass word', theirs.getvalue()) == (2, data)


def test_aescrypt_default_and_minimal_headers():
    full = aescrypt.encrypt('pw', b'x')
    assert full[:5] == b'AES\x02\x00'
    names = []
    pos = 5
    while True:
        (size,) = struct.unpack('>H', full[pos:pos + 2])
        pos += 2
        if not size:
            break
        names.append(full[pos:pos + size].split(b'\0', 1)[0])
        pos += size
    assert names == [b'CREATED_BY', b'CREATED_DATE', b'CREATED_TIME', b'']
    minimal = aescrypt.encrypt('pw', b'x', minimal_header=True)
    assert minimal[:7] == b'AES\x02\x00\x00\x00' and len(minimal) == 7 + 16 + 48 + 32 + 16 + 1 + 32


def test_aescrypt_v3_round_trip_and_errors():
    blob = aescrypt.encrypt('pw', b'sixteen bytes!!!', version=3, iterations=5)
    assert aescrypt.decrypt('pw', blob) == (3, b'sixteen bytes!!!')
    with pytest.raises(aescrypt.WrongPasswordError, match='Invalid password or corrupted data'):
        aescrypt.decrypt('other', blob)
    tampered = bytearray(blob)
    tampered[-40] ^= 1
    with pytest.raises(aescrypt.HashMismatchError):
        aescrypt.decrypt('pw', bytes(tampered))
    for bad, message in ((b'AE', 'Failed to read 5 bytes'), (b'PK\x03\x04\x00', 'Invalid header value: 50-4B-03-04-00'),
                         (b'AES\x04\x00', 'max supported version is 3'), (b'AES\x02\x01', 'Invalid reserved value')):
        with pytest.raises(aescrypt.InvalidDataError, match=message):
            aescrypt.decrypt('pw', bad)


# ---- enc-v1 (EncryptedFieldHelper) --------------------------------------------------------

def test_enc_v1_duplicati_vector():
    vector = vectors.load('enc_v1_duplicati.json')
    key = encrypted_field.KeyInstance(vector['key'])
    assert encrypted_field.decrypt(vector['encrypted'], key) == vector['plaintext']
    with pytest.raises(encrypted_field.KeyMismatchError):
        encrypted_field.decrypt(vector['encrypted'], encrypted_field.KeyInstance('another long key'))
    with pytest.raises(encrypted_field.KeyMissingError):
        encrypted_field.decrypt(vector['encrypted'], None)
    body = vector['encrypted'][len('enc-v1:'):]
    changed = 'enc-v1:' + ('0' if body[0] != '0' else '1') + body[1:]
    assert encrypted_field.decrypt(changed, key) == changed[len('enc-v1:'):]  # content hash mismatch: prefix dropped
    assert encrypted_field.decrypt(vector['plaintext'], None) == vector['plaintext']


def test_enc_v1_written_is_read_back_and_by_pyaescrypt():
    key = encrypted_field.KeyInstance('long and good password')
    value = encrypted_field.encrypt('s3://bucket/?auth-password=Ü', key)
    assert value.startswith('enc-v1:') and value[7 + 64:7 + 128] == key.hash and value == value.upper().replace('ENC-V1:', 'enc-v1:')
    assert encrypted_field.decrypt(value, key) == 's3://bucket/?auth-password=Ü'
    out = io.BytesIO()
    pyAesCrypt.decryptStream(io.BytesIO(bytes.fromhex(value[7 + 128:])), out, key.key)
    assert out.getvalue().decode('utf-8') == 's3://bucket/?auth-password=Ü'


def test_enc_v1_keys():
    for bad in ('', '   ', 'short'):
        with pytest.raises(ValueError):
            encrypted_field.KeyInstance(bad)
    blacklisted = encrypted_field.KeyInstance(sorted(encrypted_field.EMPTY_DEVICE_ID_HASHES)[0])
    assert blacklisted.is_blacklisted
    with pytest.raises(ValueError):
        encrypted_field.encrypt('x', blacklisted)


# ---- Timeparser.ParseTimeSpan -------------------------------------------------------------

@pytest.mark.parametrize('text, seconds', [
    # TimeSpanParserTests.cs (TestParseTimeSpan_EnglishLocale and the empty string)
    ('0s', 0), ('10s', 10), ('1m', 60), ('2h', 7200), ('1D', 86400), ('1W', 604800), ('', 0), (None, 0),
    ('90', 90), (' -5 ', -5), ('1h30m', 5400), ('1D-1s', 86399), ('1M', 30 * 86400), ('1Y', 365 * 86400),
    (' 2 h 3 m ', 7380), ('1s1s', 2),
    ('143165577M', 14 * 86400),  # factor * 30 is int arithmetic: 4294967310 wraps to 14 days
])
def test_parse_timespan(text, seconds):
    assert timeparser.parse_timespan(text) == seconds


@pytest.mark.parametrize('text', ['xyz', '1d', '1H', '30min', '5m foo', '1.5h', 's', '3000000000s', '9999999999999999999', '100000000M'])
def test_parse_timespan_errors(text):
    with pytest.raises(timeparser.TimeparserError):
        timeparser.parse_timespan(text)


# ---- JSONSignature (autoupdate.manifest) ---------------------------------------------------

def _manifest_keys(data):
    import base64
    import json
    keys = []
    for line in data.split(b'\n'):
        if not line.startswith(jsonsignature.PREFIX):
            break
        header = json.loads(base64.b64decode(line[len(jsonsignature.PREFIX):].split(b'.')[0]))
        keys.append(dict((item['Key'], item['Value']) for item in header)['key'])
    return keys


def test_jsonsignature_verifies_duplicatis_own_signed_manifest():
    """Duplicati/Library/AutoUpdater/autoupdate.manifest, signed by Duplicati's two release keys."""
    data = vectors.load_bytes('autoupdate_duplicati.manifest')
    keys = _manifest_keys(data)
    assert len(keys) == 2
    valid, content = jsonsignature.verify(data, keys)
    assert valid == 2 and content.startswith(b'{"MinimumCompatibleVersion":2,')
    assert jsonsignature.verify(data, keys[1:])[0] == 1 and jsonsignature.verify(data, [])[0] == 0
    assert jsonsignature.verify(data.replace(b'2.0.8.108', b'2.0.8.109'), keys)[0] == 0
    # the header is written byte for byte as System.Text.Json wrote Duplicati's
    assert all(jsonsignature.public_key_xml(jsonsignature.public_key_from_xml(k)) == k for k in keys)


def test_jsonsignature_sign_and_verify():
    from cryptography.hazmat.primitives.asymmetric import rsa
    key, other = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for dummy in range(2))
    signed = jsonsignature.sign(b'{"Version":"1"}', [key, other])
    assert signed.count(b'\n') == 2 and signed.endswith(b'\n{"Version":"1"}')
    assert jsonsignature.verify(signed, [jsonsignature.public_key_xml(key)]) == (1, b'{"Version":"1"}')
    with pytest.raises(ValueError):
        jsonsignature.sign(signed, [key])
