# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AES Crypt v2/v3: published vectors, pyAesCrypt interoperability, SharpAESCrypt byte layout, errors, memory."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import hashlib
import hmac
import io
import os
import re
import struct
import tracemalloc

import pyAesCrypt
import pytest

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ansible_collections.duplicati.fleet.plugins.module_utils import aescrypt
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import (
    AESCryptError,
    AESCryptFormatError,
    AESCryptIntegrityError,
    AESCryptTruncatedError,
    AESCryptUnsupportedVersionError,
    AESCryptWrongPasswordError,
    DuplicatiError,
)
from ansible_collections.duplicati.fleet.tests.unit import vectors

MIB = 1024 * 1024


# --- an independent reading of the v2/v3 layout, used to check what we write ---------

def _reference_v2_key(password, iv):
    key = iv + bytes(16)
    for dummy in range(8192):
        key = hashlib.sha256(key + password.encode('utf-16-le')).digest()
    return key


def _parse(blob):
    """Split an AES Crypt v2/v3 stream into its parts (no decryption of the payload)."""
    assert blob[:3] == b'AES'
    version, reserved = blob[3], blob[4]
    pos = 5
    extensions = []
    while True:
        (size,) = struct.unpack('>H', blob[pos:pos + 2])
        pos += 2
        if size == 0:
            break
        extensions.append(blob[pos:pos + size])
        pos += size
    iterations = None
    if version == 3:
        (iterations,) = struct.unpack('>I', blob[pos:pos + 4])
        pos += 4
    parts = dict(version=version, reserved=reserved, extensions=extensions, header_len=pos, iterations=iterations,
                 iv=blob[pos:pos + 16], keys=blob[pos + 16:pos + 64], header_mac=blob[pos + 64:pos + 96])
    body = blob[pos + 96:]
    if version == 2:
        parts.update(ciphertext=body[:-33], mod=body[-33], mac=body[-32:])
    else:
        parts.update(ciphertext=body[:-32], mod=None, mac=body[-32:])
    return parts


def _open_session(parts, password):
    if parts['version'] == 2:
        key = _reference_v2_key(password, parts['iv'])
        assert hmac.new(key, parts['keys'], hashlib.sha256).digest() == parts['header_mac']
    else:
        key = hashlib.pbkdf2_hmac('sha512', password.encode('utf-8'), parts['iv'], parts['iterations'], 32)
        assert hmac.new(key, parts['keys'] + b'\x03', hashlib.sha256).digest() == parts['header_mac']
    dec = Cipher(algorithms.AES(key), modes.CBC(parts['iv'])).decryptor()
    session = dec.update(parts['keys']) + dec.finalize()
    return session[:16], session[16:]


def _raw_decrypt(parts, password):
    iv, key = _open_session(parts, password)
    assert hmac.new(key, parts['ciphertext'], hashlib.sha256).digest() == parts['mac']
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return dec.update(parts['ciphertext']) + dec.finalize()


# --- published vectors -----------------------------------------------------------------

@pytest.mark.parametrize('password, plaintext, blob', vectors.aescrypt_cases('aescrypt_v2_terrapane.json'))
def test_decrypts_published_v2_vectors(password, plaintext, blob):
    out = io.BytesIO()
    assert aescrypt.decrypt(io.BytesIO(blob), out, password) == 2
    assert out.getvalue() == plaintext


@pytest.mark.parametrize('password, plaintext, blob', vectors.aescrypt_cases('aescrypt_v3_terrapane.json'))
def test_decrypts_published_v3_vectors(password, plaintext, blob):
    out = io.BytesIO()
    assert aescrypt.decrypt(io.BytesIO(blob), out, password) == 3
    assert out.getvalue() == plaintext


def test_vector_files_cover_the_expected_cases():
    for name, version in (('aescrypt_v2_terrapane.json', 2), ('aescrypt_v3_terrapane.json', 3)):
        data = vectors.load(name)
        assert data['format_version'] == version
        assert len(data['cases']) >= 20


def test_v2_reader_accepts_random_padding_of_official_aescrypt():
    """The official aescrypt fills the last block with random bytes; SharpAESCrypt's strict check would reject them."""
    data = vectors.load('aescrypt_v2_terrapane.json')
    nonstandard = 0
    for case in data['cases']:
        n = len(case['plaintext'])
        if n % 16 == 0:
            continue
        blob = bytes.fromhex(case['ciphertext_hex'])
        padded = _raw_decrypt(_parse(blob), data['password'])
        fill = padded[n:]
        if fill != bytes([16 - n % 16]) * (16 - n % 16):
            nonstandard += 1
            assert aescrypt.decrypt_bytes(blob, data['password']) == case['plaintext'].encode()
    assert nonstandard > 0


# --- interoperability with pyAesCrypt ----------------------------------------------------

SIZES = [0, 1, 15, 16, 17, 31, 32, 33, 4096, MIB - 1, MIB, MIB + 1, MIB + 16, 2 * MIB + 7, 3 * MIB + 48]
# pyAesCrypt 6.1.1 drops the padding removal when a partial-block ciphertext ends exactly on
# its read buffer (it decrypts its own 65535-byte files to 65536 bytes). A buffer size that
# divides none of the ciphertext lengths above keeps the comparison about our bytes.
PYAES_BUFFER = 16 * 4099


@pytest.mark.parametrize('size', SIZES)
def test_our_v2_output_decrypts_with_pyaescrypt(size):
    plain = os.urandom(size)
    blob = aescrypt.encrypt_bytes(plain, 'pässwörd')
    out = io.BytesIO()
    pyAesCrypt.decryptStream(io.BytesIO(blob), out, 'pässwörd', PYAES_BUFFER)
    assert out.getvalue() == plain


@pytest.mark.parametrize('size', SIZES)
def test_pyaescrypt_output_decrypts_with_ours(size):
    plain = os.urandom(size)
    enc = io.BytesIO()
    pyAesCrypt.encryptStream(io.BytesIO(plain), enc, 'pässwörd', PYAES_BUFFER)
    out = io.BytesIO()
    assert aescrypt.decrypt(io.BytesIO(enc.getvalue()), out, 'pässwörd') == 2
    assert out.getvalue() == plain


@pytest.mark.parametrize('size', [0, 1, 15, 16, 17, 64, MIB, MIB + 3])
def test_v3_round_trip(size):
    plain = os.urandom(size)
    blob = aescrypt.encrypt_bytes(plain, 'secret', version=3, iterations=7)
    assert aescrypt.decrypt_bytes(blob, 'secret') == plain


def test_multi_megabyte_stream_through_files(tmp_path):
    src = tmp_path / 'plain'
    plain = os.urandom(5 * MIB + 11)
    src.write_bytes(plain)
    with open(str(src), 'rb') as fin, open(str(tmp_path / 'enc'), 'wb') as fout:
        assert aescrypt.encrypt(fin, fout, 'pw') == len(plain)
    with open(str(tmp_path / 'enc'), 'rb') as fin, open(str(tmp_path / 'dec'), 'wb') as fout:
        assert aescrypt.decrypt(fin, fout, 'pw') == 2
    assert (tmp_path / 'dec').read_bytes() == plain
    assert (tmp_path / 'enc').stat().st_size == len(_full_header()) + 96 + (len(plain) + 15) // 16 * 16 + 33


@pytest.mark.parametrize('chunk', [64, 80])
def test_every_length_across_chunk_boundaries(monkeypatch, chunk):
    """With tiny chunks, every way the trailer can straddle a chunk boundary is exercised."""
    monkeypatch.setattr(aescrypt, 'CHUNK_SIZE', chunk)
    for version in (2, 3):
        for size in range(0, 2 * chunk + 50):
            plain = os.urandom(size)
            blob = aescrypt.encrypt_bytes(plain, 'pw', version=version, minimal_header=True, iterations=1)
            assert len(blob) == 7 + (4 if version == 3 else 0) + 96 + (size + 16 if version == 3 else size + 15) // 16 * 16 \
                + (33 if version == 2 else 32)
            assert aescrypt.decrypt_bytes(blob, 'pw') == plain, (version, size)


def test_source_without_readinto():
    class ReadOnly(object):
        def __init__(self, data):
            self._f = io.BytesIO(data)

        def read(self, n=-1):
            return self._f.read(min(n, 1000))

    plain = os.urandom(2 * MIB + 5)
    out = io.BytesIO()
    aescrypt.encrypt(ReadOnly(plain), out, 'pw')
    dec = io.BytesIO()
    aescrypt.decrypt(ReadOnly(out.getvalue()), dec, 'pw')
    assert dec.getvalue() == plain


# --- exact v2 layout, as SharpAESCrypt 2.0.3 writes it ---------------------------------

def _full_header():
    return aescrypt.encrypt_bytes(b'', 'x')[:-(96 + 33)]


def test_v2_full_header_layout():
    before = datetime.datetime.now(datetime.timezone.utc)
    blob = aescrypt.encrypt_bytes(b'hello', 'pw')
    after = datetime.datetime.now(datetime.timezone.utc)
    assert blob[:5] == b'AES\x02\x00'
    created_by = b'CREATED_BY\x00SharpAESCrypt v2.0.3.0'
    assert blob[5:7] == struct.pack('>H', len(created_by)) == b'\x00\x21'  # 10 + 1 + 22
    assert blob[7:7 + len(created_by)] == created_by
    pos = 7 + len(created_by)
    assert blob[pos:pos + 2] == b'\x00\x17'  # CREATED_DATE + 00 + yyyy-MM-dd = 12 + 1 + 10
    date = blob[pos + 2:pos + 2 + 0x17]
    assert date[:13] == b'CREATED_DATE\x00'
    assert date[13:].decode() in (before.strftime('%Y-%m-%d'), after.strftime('%Y-%m-%d'))
    pos += 2 + 0x17
    assert blob[pos:pos + 2] == b'\x00\x15'  # CREATED_TIME + 00 + hh-mm-ss
    time_ext = blob[pos + 2:pos + 2 + 0x15]
    assert time_ext[:13] == b'CREATED_TIME\x00'
    match = re.match(br'^(\d\d)-(\d\d)-(\d\d)$', time_ext[13:])
    assert match
    assert 1 <= int(match.group(1)) <= 12  # .NET "hh": 12-hour clock
    hours = {before.strftime('%I'), after.strftime('%I')}
    assert match.group(1).decode() in hours
    pos += 2 + 0x15
    assert blob[pos:pos + 130] == b'\x00\x80' + b'\x00' * 128  # container extension: empty name, 127 zero bytes
    pos += 130
    assert blob[pos:pos + 2] == b'\x00\x00'
    parts = _parse(blob)
    assert parts['header_len'] == pos + 2
    assert [e.split(b'\x00', 1)[0] for e in parts['extensions']] == [b'CREATED_BY', b'CREATED_DATE', b'CREATED_TIME', b'']


def test_v2_created_by_can_be_chosen():
    parts = _parse(aescrypt.encrypt_bytes(b'x', 'pw', created_by='Duplicati test'))
    assert parts['extensions'][0] == b'CREATED_BY\x00Duplicati test'


def test_v2_minimal_header_is_only_the_terminator():
    blob = aescrypt.encrypt_bytes(b'x', 'pw', minimal_header=True)
    assert blob[:7] == b'AES\x02\x00\x00\x00'
    assert _parse(blob)['header_len'] == 7


@pytest.mark.parametrize('size', [0, 1, 15, 16, 17, 31, 32, 33, 100])
def test_v2_payload_layout(size):
    plain = os.urandom(size)
    blob = aescrypt.encrypt_bytes(plain, 'pw', minimal_header=True)
    parts = _parse(blob)
    # no extra block for a multiple of 16, nothing at all for an empty plaintext
    assert len(parts['ciphertext']) == (size + 15) // 16 * 16
    assert len(blob) == 7 + 16 + 48 + 32 + (size + 15) // 16 * 16 + 1 + 32
    assert parts['mod'] == size % 16
    padded = _raw_decrypt(parts, 'pw')  # also checks both HMACs (the payload one without the mod byte)
    assert padded[:size] == plain
    fill = (16 - size % 16) % 16
    assert padded[size:] == bytes([fill]) * fill


def test_v2_empty_plaintext_sizes():
    assert len(aescrypt.encrypt_bytes(b'', 'pw', minimal_header=True)) == 136
    assert len(aescrypt.encrypt_bytes(b'', 'pw')) == len(_full_header()) + 129
    assert len(_full_header()) == 5 + 35 + 25 + 23 + 130 + 2


def test_v2_header_key_uses_utf16_password_and_8192_rounds():
    parts = _parse(aescrypt.encrypt_bytes(b'data', 'Grüße €'))
    key = _reference_v2_key('Grüße €', parts['iv'])
    assert hmac.new(key, parts['keys'], hashlib.sha256).digest() == parts['header_mac']


def test_every_encryption_uses_fresh_ivs_and_keys():
    a = _parse(aescrypt.encrypt_bytes(b'same', 'pw'))
    b = _parse(aescrypt.encrypt_bytes(b'same', 'pw'))
    assert a['iv'] != b['iv'] and a['keys'] != b['keys'] and a['ciphertext'] != b['ciphertext']


# --- exact v3 layout -----------------------------------------------------------------------

@pytest.mark.parametrize('size', [0, 1, 15, 16, 17])
def test_v3_layout(size):
    plain = os.urandom(size)
    blob = aescrypt.encrypt_bytes(plain, 'pw', version=3, iterations=3, minimal_header=True)
    assert blob[:7] == b'AES\x03\x00\x00\x00'
    assert blob[7:11] == b'\x00\x00\x00\x03'
    parts = _parse(blob)
    assert parts['iterations'] == 3
    assert len(parts['ciphertext']) == (size // 16 + 1) * 16  # PKCS#7: always 1-16 bytes
    padded = _raw_decrypt(parts, 'pw')
    fill = 16 - size % 16
    assert padded == plain + bytes([fill]) * fill


def test_v3_default_iterations_and_header():
    blob = aescrypt.encrypt_bytes(b'', 'pw', version=3)
    parts = _parse(blob)
    assert parts['iterations'] == 300000
    assert parts['extensions'][0] == b'CREATED_BY\x00' + aescrypt.V3_CREATED_BY.encode()


@pytest.mark.parametrize('iterations', [0, -1, 5000001, 1.5, True, '10'])
def test_v3_rejects_bad_iteration_counts(iterations):
    with pytest.raises(AESCryptError, match='iteration'):
        aescrypt.encrypt_bytes(b'x', 'pw', version=3, iterations=iterations)


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize('version', [2, 3])
def test_wrong_password(version):
    blob = aescrypt.encrypt_bytes(b'secret data', 'right', version=version, iterations=2)
    out = io.BytesIO()
    with pytest.raises(AESCryptWrongPasswordError) as err:
        aescrypt.decrypt(io.BytesIO(blob), out, 'wrong')
    assert out.getvalue() == b''
    assert isinstance(err.value, DuplicatiError)
    assert 'password' in str(err.value)


def _truncation_offsets(blob, header_len):
    return sorted({0, 1, 2, 3, 4, 5, 6, 8, 40, header_len - 1, header_len, header_len + 8, header_len + 16,
                   header_len + 40, header_len + 64, header_len + 95, header_len + 96, header_len + 100,
                   len(blob) - 40, len(blob) - 33, len(blob) - 20, len(blob) - 1})


@pytest.mark.parametrize('version', [2, 3])
def test_truncated_input(version):
    blob = aescrypt.encrypt_bytes(os.urandom(100), 'pw', version=version, iterations=2)
    header_len = _parse(blob)['header_len']
    for offset in _truncation_offsets(blob, header_len):
        with pytest.raises(AESCryptTruncatedError):
            aescrypt.decrypt_bytes(blob[:offset], 'pw')


@pytest.mark.parametrize('version', [2, 3])
def test_cut_at_a_block_boundary_fails_the_integrity_check(version):
    # The format has no length field: dropping whole blocks still leaves a well-formed
    # stream, which only the payload HMAC can catch.
    blob = aescrypt.encrypt_bytes(os.urandom(100), 'pw', version=version, iterations=2)
    with pytest.raises(AESCryptIntegrityError):
        aescrypt.decrypt_bytes(blob[:-16], 'pw')


@pytest.mark.parametrize('version', [2, 3])
@pytest.mark.parametrize('position', ['first', 'middle', 'last', 'mac'])
def test_flipped_payload_byte(version, position):
    plain = os.urandom(3 * MIB + 5)
    blob = bytearray(aescrypt.encrypt_bytes(plain, 'pw', version=version, iterations=2, minimal_header=True))
    start = 7 + (4 if version == 3 else 0) + 96
    index = {'first': start, 'middle': start + len(plain) // 2, 'last': len(blob) - 40, 'mac': len(blob) - 1}[position]
    blob[index] ^= 0x01
    with pytest.raises(AESCryptIntegrityError, match='corrupted or was tampered'):
        aescrypt.decrypt_bytes(bytes(blob), 'pw')


def test_v2_invalid_length_byte_is_rejected():
    blob = bytearray(aescrypt.encrypt_bytes(b'0123456789', 'pw'))
    blob[-33] = 16
    with pytest.raises(AESCryptIntegrityError, match='length byte'):
        aescrypt.decrypt_bytes(bytes(blob), 'pw')
    empty = bytearray(aescrypt.encrypt_bytes(b'', 'pw'))
    empty[-33] = 5
    with pytest.raises(AESCryptIntegrityError):
        aescrypt.decrypt_bytes(bytes(empty), 'pw')


@pytest.mark.parametrize('version', [0, 1, 4, 255])
def test_unsupported_versions(version):
    blob = bytearray(aescrypt.encrypt_bytes(b'data', 'pw'))
    blob[3] = version
    with pytest.raises(AESCryptUnsupportedVersionError, match='version %d' % version):
        aescrypt.decrypt_bytes(bytes(blob), 'pw')


def test_v1_vector_style_file_is_unsupported():
    with pytest.raises(AESCryptUnsupportedVersionError):
        aescrypt.decrypt_bytes(b'AES\x01\x00' + os.urandom(200), 'pw')


@pytest.mark.parametrize('data', [b'PK\x03\x04 a zip file', b'aes\x02\x00', b'XYZ', b'AEZ', b'\x00' * 200])
def test_not_aescrypt(data):
    with pytest.raises(AESCryptFormatError, match='not an AES Crypt'):
        aescrypt.decrypt_bytes(data, 'pw')


def test_reserved_byte_must_be_zero():
    blob = bytearray(aescrypt.encrypt_bytes(b'data', 'pw'))
    blob[4] = 1
    with pytest.raises(AESCryptFormatError, match='reserved'):
        aescrypt.decrypt_bytes(bytes(blob), 'pw')


def test_extension_without_separator_is_rejected():
    blob = b'AES\x02\x00' + b'\x00\x03abc' + b'\x00\x00' + os.urandom(129)
    with pytest.raises(AESCryptFormatError, match='separator'):
        aescrypt.decrypt_bytes(blob, 'pw')


@pytest.mark.parametrize('iterations', [0, 5000001, 0xFFFFFFFF])
def test_v3_header_with_absurd_iteration_count_is_rejected(iterations):
    blob = bytearray(aescrypt.encrypt_bytes(b'data', 'pw', version=3, iterations=1, minimal_header=True))
    blob[7:11] = struct.pack('>I', iterations)
    with pytest.raises(AESCryptFormatError, match='iteration'):
        aescrypt.decrypt_bytes(bytes(blob), 'pw')


def test_v3_bad_padding_with_valid_mac_is_a_format_error():
    # Build a v3 stream by hand whose authenticated plaintext ends in an invalid PKCS#7 byte.
    iv, session_iv, session_key = os.urandom(16), os.urandom(16), os.urandom(32)
    key = hashlib.pbkdf2_hmac('sha512', b'pw', iv, 1, 32)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    keys = enc.update(session_iv + session_key) + enc.finalize()
    enc = Cipher(algorithms.AES(session_key), modes.CBC(session_iv)).encryptor()
    ciphertext = enc.update(b'A' * 15 + b'\x00') + enc.finalize()
    blob = (b'AES\x03\x00\x00\x00' + struct.pack('>I', 1) + iv + keys + hmac.new(key, keys + b'\x03', hashlib.sha256).digest()
            + ciphertext + hmac.new(session_key, ciphertext, hashlib.sha256).digest())
    with pytest.raises(AESCryptFormatError, match='padding'):
        aescrypt.decrypt_bytes(blob, 'pw')


def test_encrypt_rejects_bad_arguments():
    with pytest.raises(AESCryptError, match='empty'):
        aescrypt.encrypt_bytes(b'x', '   ')
    with pytest.raises(TypeError):
        aescrypt.encrypt_bytes(b'x', b'bytes-password')
    with pytest.raises(AESCryptUnsupportedVersionError):
        aescrypt.encrypt_bytes(b'x', 'pw', version=1)
    out = io.BytesIO()
    with pytest.raises(AESCryptUnsupportedVersionError):
        aescrypt.encrypt(io.BytesIO(b'x'), out, 'pw', version=4)
    assert out.getvalue() == b''


def test_missing_cryptography_gives_a_clear_error(monkeypatch):
    monkeypatch.setattr(aescrypt, 'HAS_CRYPTOGRAPHY', False)
    for call in (lambda: aescrypt.encrypt_bytes(b'x', 'pw'), lambda: aescrypt.decrypt_bytes(b'AES', 'pw')):
        with pytest.raises(AESCryptError) as err:
            call()
        assert 'cryptography' in str(err.value)
        assert err.value.hint


def test_is_aescrypt():
    assert aescrypt.is_aescrypt(aescrypt.encrypt_bytes(b'x', 'pw')[:3])
    assert aescrypt.is_aescrypt(bytearray(b'AES\x02'))
    assert not aescrypt.is_aescrypt(b'AE')
    assert not aescrypt.is_aescrypt(b'PK\x03\x04')
    assert not aescrypt.is_aescrypt(b'')


# --- failures inside the worker threads reach the caller ------------------------------------

class _FailingWriter(object):
    def __init__(self, limit):
        self.limit = limit
        self.written = 0

    def write(self, data):
        if self.written + len(data) > self.limit:
            raise OSError(28, 'No space left on device')
        self.written += len(data)
        return len(data)


@pytest.mark.parametrize('direction', ['encrypt', 'decrypt'])
def test_write_errors_propagate(direction):
    plain = os.urandom(6 * MIB)
    blob = aescrypt.encrypt_bytes(plain, 'pw')
    dst = _FailingWriter(2 * MIB)
    with pytest.raises(OSError, match='No space left'):
        if direction == 'encrypt':
            aescrypt.encrypt(io.BytesIO(plain), dst, 'pw')
        else:
            aescrypt.decrypt(io.BytesIO(blob), dst, 'pw')
    assert dst.written <= 2 * MIB


def test_read_errors_propagate():
    class Broken(object):
        def __init__(self):
            self.calls = 0

        def readinto(self, view):
            self.calls += 1
            if self.calls > 3:
                raise OSError(5, 'Input/output error')
            view[:] = b'\x00' * len(view)
            return len(view)

    with pytest.raises(OSError, match='Input/output'):
        aescrypt.encrypt(Broken(), io.BytesIO(), 'pw')


# --- memory does not grow with the size of the data -------------------------------------------

def _write_file(path, size):
    block = os.urandom(MIB)
    with open(str(path), 'wb') as f:
        for dummy in range(size // MIB):
            f.write(block)


def _peak_while(func):
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_constant_for_64_mib(tmp_path):
    results = {}
    for size in (8 * MIB, 64 * MIB):
        plain = tmp_path / ('plain%d' % size)
        enc = tmp_path / ('enc%d' % size)
        dec = tmp_path / ('dec%d' % size)
        _write_file(plain, size)

        def encrypt():
            with open(str(plain), 'rb') as fin, open(str(enc), 'wb') as fout:
                aescrypt.encrypt(fin, fout, 'pw')

        def decrypt():
            with open(str(enc), 'rb') as fin, open(str(dec), 'wb') as fout:
                aescrypt.decrypt(fin, fout, 'pw')

        results[size] = (_peak_while(encrypt), _peak_while(decrypt))
        assert dec.stat().st_size == size
    for peak in results[64 * MIB]:
        assert peak < 12 * MIB
    # flat: eight times the data, (almost) the same peak
    assert results[64 * MIB][0] < results[8 * MIB][0] + MIB
    assert results[64 * MIB][1] < results[8 * MIB][1] + MIB
