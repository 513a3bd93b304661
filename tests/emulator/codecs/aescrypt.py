# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AES Crypt files as SharpAESCrypt 3.0.0 (the package Duplicati references) writes and reads them.

Written from ``SharpAESCrypt.EncryptingStreamInternal`` / ``DecryptingStreamInternal`` and
``SetupHelper`` (duplicati/sharpaescrypt) and the AES Crypt stream format 3 for version 3:

* ``"AES"``, version, a reserved 0 byte; from version 2 the extensions (``uint16`` big-endian
  length, ``name\\0value``) up to a 0 length; in version 3 the KDF iterations (``uint32`` BE);
* the header IV (16 bytes), then the bulk IV and key (48 bytes, AES-256-CBC under the header
  key) and their HMAC-SHA256 (32 bytes). Header key: version 2 hashes IV+16 zero bytes 8192
  times with the UTF-16LE password (``GenerateHeaderKeyFromPasswordAndIV``); version 3 is
  PBKDF2-HMAC-SHA512 of the UTF-8 password, salt = IV, and its HMAC also covers the version byte;
* the payload, AES-256-CBC under the bulk key. Version 2: the last block padded PKCS#7-style
  but no block for a length that is a multiple of 16, then one byte ``length % 16`` and the
  HMAC of the ciphertext. Version 3: PKCS#7 always, then the HMAC.

``DecryptingStream`` checks the padding bytes strictly unless ``IgnorePaddingBytes`` is set
(option ``aes-ignore-padding-bytes``): the official AES Crypt client fills them at random.
Versions 0 and 1 (no extensions; version 0 without a bulk key) are not modelled.
"""

import datetime
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAGIC = b'AES'
MAX_FILE_VERSION = 3
# EncryptingStreamInternal.Extension_CreatedByIdentifier: "SharpAESCrypt v" + assembly version
CREATED_BY = 'SharpAESCrypt v3.0.0.0'
KEY_HASH_ITERATIONS = 8192
DEFAULT_V3_ITERATIONS = 300000


class AESCryptError(Exception):
    """Base of the errors below."""


class InvalidDataError(AESCryptError):
    """``InvalidDataException``: not an AES Crypt file, or a version this reader refuses."""


class WrongPasswordError(AESCryptError):
    """``WrongPasswordException``: the header HMAC does not match."""

    def __init__(self):
        super(WrongPasswordError, self).__init__('Invalid password or corrupted data')


class HashMismatchError(AESCryptError):
    """``HashMismatchException``: the payload was changed."""


def _cbc(key, iv, data, encrypt):
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def _header_key(version, password, iv, iterations):
    if version == 3:
        return hashlib.pbkdf2_hmac('sha512', password.encode('utf-8'), iv, iterations, 32)
    key, secret = iv + bytes(16), password.encode('utf-16-le')
    for dummy in range(KEY_HASH_ITERATIONS):
        key = hashlib.sha256(key + secret).digest()
    return key


def _extension(name, value):
    data = name.encode('utf-8') + b'\0' + value
    return struct.pack('>H', len(data)) + data


def encrypt(password, data, version=2, minimal_header=False, iterations=DEFAULT_V3_ITERATIONS, now=None):
    """The whole file for ``data``. ``minimal_header`` is Duplicati's ``aes-minimal-header``
    (no CREATED_BY, date, time or placeholder extension), as ``AESStringEncryption`` uses it."""
    if password is None or not password.strip():
        raise ValueError('password')  # EncryptingStreamInternal: ArgumentNullException
    if version not in (2, 3):
        raise ValueError('only versions 2 and 3 are written')
    now = now or datetime.datetime.now(datetime.timezone.utc)
    out = [MAGIC, bytes([version, 0])]
    if not minimal_header:
        out.append(_extension('CREATED_BY', CREATED_BY.encode('utf-8')))
        out.append(_extension('CREATED_DATE', now.strftime('%Y-%m-%d').encode('ascii')))
        out.append(_extension('CREATED_TIME', now.strftime('%I-%M-%S').encode('ascii')))  # .NET "hh": 12-hour clock
        out.append(_extension('', bytes(127)))
    out.append(b'\0\0')
    if version == 3:
        out.append(struct.pack('>I', iterations))
    iv, bulk_iv, bulk_key = os.urandom(16), os.urandom(16), os.urandom(32)
    header_key = _header_key(version, password, iv, iterations)
    sealed = _cbc(header_key, iv, bulk_iv + bulk_key, True)
    out += [iv, sealed, hmac.new(header_key, sealed + (b'\x03' if version == 3 else b''), hashlib.sha256).digest()]
    tail = len(data) % 16
    if version == 3 or tail:
        pad = 16 - tail
        data = data + bytes([pad]) * pad
    body = _cbc(bulk_key, bulk_iv, data, True)
    out.append(body)
    if version == 2:
        out.append(bytes([tail]))
    out.append(hmac.new(bulk_key, body, hashlib.sha256).digest())
    return b''.join(out)


class _Reader(object):
    def __init__(self, blob):
        self.blob, self.pos = blob, 0

    def take(self, count):
        if self.pos + count > len(self.blob):
            raise InvalidDataError('Unable to read beyond the end of the stream.')  # EndOfStreamException
        chunk = self.blob[self.pos:self.pos + count]
        self.pos += count
        return chunk


def decrypt(password, blob, ignore_padding_bytes=False):
    """(version, plaintext) of an AES Crypt file."""
    reader = _Reader(blob)
    if len(blob) < 5:
        raise InvalidDataError('Failed to read 5 bytes, likely not an encrypted archive')
    head = reader.take(5)
    if head[:3] != MAGIC:
        raise InvalidDataError('Invalid header value: %s' % '-'.join('%02X' % b for b in head))
    version, reserved = head[3], head[4]
    if version > MAX_FILE_VERSION:
        raise InvalidDataError('File version was %d but max supported version is %d' % (version, MAX_FILE_VERSION))
    if version < 2:
        raise InvalidDataError('AES Crypt version %d files are not modelled by the emulator' % version)
    if reserved != 0:
        raise InvalidDataError('Invalid reserved value in header: %d' % reserved)
    while True:
        (size,) = struct.unpack('>H', reader.take(2))
        if size == 0:
            break
        if b'\0' not in reader.take(size):
            raise InvalidDataError('Invalid extension data, missing separator')
    iterations = struct.unpack('>I', reader.take(4))[0] if version == 3 else None
    iv = reader.take(16)
    sealed, mac = reader.take(48), reader.take(32)
    header_key = _header_key(version, password, iv, iterations)
    if not hmac.compare_digest(hmac.new(header_key, sealed + (b'\x03' if version == 3 else b''), hashlib.sha256).digest(), mac):
        raise WrongPasswordError()
    bulk = _cbc(header_key, iv, sealed, False)
    bulk_iv, bulk_key = bulk[:16], bulk[16:]
    rest = blob[reader.pos:]
    trailer = 33 if version == 2 else 32
    body, tail, mac = rest[:-trailer], rest[-33] if version == 2 and len(rest) >= 33 else None, rest[-32:]
    if len(rest) < trailer or len(body) % 16:
        raise HashMismatchError('Content has been tampered with, do not trust content: invalid length')
    plain = _cbc(bulk_key, bulk_iv, body, False)
    if version == 2:
        if not body:
            if tail != 0:
                raise HashMismatchError('Content has been tampered with, do not trust content: invalid padding length')
        else:
            if tail >= 16:
                raise HashMismatchError('Content has been tampered with, do not trust content: invalid padding length')
            if tail:
                padding = plain[len(plain) - 16 + tail:]
                if not ignore_padding_bytes and padding != bytes([16 - tail]) * (16 - tail):
                    raise HashMismatchError('Content has been tampered with, do not trust content: invalid padding bytes')
                plain = plain[:len(plain) - 16 + tail]
    else:
        pad = plain[-1] if plain else 0
        if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
            raise HashMismatchError('Content has been tampered with, do not trust content: invalid padding bytes')
        plain = plain[:-pad]
    if not hmac.compare_digest(hmac.new(bulk_key, body, hashlib.sha256).digest(), mac):
        raise HashMismatchError('Content has been tampered with, do not trust content: invalid HMAC')
    return version, plain
