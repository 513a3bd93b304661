# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``enc-v1:`` settings fields: ``Duplicati.Library.Encryption.EncryptedFieldHelper``.

``Encrypt`` writes ``enc-v1:`` + SHA-256 hex of the encrypted text + ``KeyInstance.Hash``
(SHA-256 hex of the key) + the encrypted text, which is ``AESStringEncryption.EncryptToHex``:
an AES Crypt file (``AESEncryption(key, minimalheader: true)``: version 2, no extensions) as
uppercase hex (``Utility.ByteArrayAsHexString``). ``Decrypt`` returns a value without the
prefix unchanged, returns the text after the prefix when the content hash does not match, and
raises when the key is missing or its hash differs.
"""

import hashlib

from . import aescrypt

HEADER_PREFIX = 'enc-v1:'
_HASH_HEX = 64  # HashSize / 8 * 2


class KeyMissingError(Exception):
    """``SettingsEncryptionKeyMissingException``."""


class KeyMismatchError(Exception):
    """``SettingsEncryptionKeyMismatchException``."""


def _sha256_hex(text):
    """``string.ComputeHashToHex(SHA256)``: UTF-8, uppercase hex."""
    return hashlib.sha256(text.encode('utf-8')).hexdigest().upper()


# DeviceIDHelper.EMPTY_DEVICE_ID_HASHES: the hashes of the known empty device id and of ''
EMPTY_DEVICE_ID_HASHES = frozenset(_sha256_hex(v) for v in ('WERC8GMRZGE196QVYK49JVXS4GKTWGF4CJDS6K54JPCHPY2JQ1AG', ''))


class KeyInstance(object):
    """``EncryptedFieldHelper.KeyInstance.CreateKey``: ArgumentException (ValueError here) for
    an empty or short key. ``IsKeyBlacklisted`` compares the key itself with the hashes."""

    def __init__(self, key):
        if key is None or not key.strip():
            raise ValueError('Key must not be empty')
        if len(key) < 8:
            raise ValueError('Key must be at least 8 characters long')
        self.key = key
        self.hash = _sha256_hex(key)
        self.is_blacklisted = key in EMPTY_DEVICE_ID_HASHES


def is_encrypted_string(value):
    """``EncryptedFieldHelper.IsEncryptedString``."""
    return bool(value and value.strip()) and value.startswith(HEADER_PREFIX)


def decrypt(value, key):
    """``EncryptedFieldHelper.Decrypt`` with a KeyInstance or None."""
    if not value or not value.startswith(HEADER_PREFIX):
        return value
    if key is None:
        raise KeyMissingError('Settings encryption key is missing')
    value = value[len(HEADER_PREFIX):]
    content_hash, key_hash, content = value[:_HASH_HEX], value[_HASH_HEX:2 * _HASH_HEX], value[2 * _HASH_HEX:]
    if content_hash != _sha256_hex(content):
        return value
    if key_hash != key.hash:
        raise KeyMismatchError('The settings encryption key does not match the key used to encrypt the settings')
    # AESStringEncryption.DecryptFromHex
    dummy, plain = aescrypt.decrypt(key.key, bytes.fromhex(content))
    return plain.decode('utf-8')


def encrypt(value, key):
    """``EncryptedFieldHelper.Encrypt`` with a KeyInstance or None."""
    if key is None:
        raise KeyMissingError('Settings encryption key is missing')
    if key.is_blacklisted:
        raise ValueError('The settings encryption key is blacklisted')  # InvalidOperationException
    encrypted = aescrypt.encrypt(key.key, value.encode('utf-8'), minimal_header=True).hex().upper()
    return HEADER_PREFIX + _sha256_hex(encrypted) + key.hash + encrypted
