# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Duplicati's ``enc-v1:`` encrypted settings fields.

Duplicati encrypts secrets in its server database (``Duplicati-server.sqlite``), in the
Agent's ``agent.json`` and in ServerUtil's ``settings.json`` with the settings encryption
key (``--settings-encryption-key`` / ``SETTINGS_ENCRYPTION_KEY``)::

    "enc-v1:" + SHA256HEX(C) + SHA256HEX(key) + C
    C = UPPER-HEX(AES Crypt v2 with a minimal header, password = key, plaintext = UTF-8(value))

Both hashes are uppercase hex SHA-256 digests of UTF-8 text: of the hex string C and of
the key string. This mirrors ``Duplicati/Library/Encryption/EncryptedFieldHelper.cs``:

* values without the ``enc-v1:`` prefix (and None or empty values) are returned as they are;
* if the content hash does not match, the value is taken as not encrypted after all and
  returned with the ``enc-v1:`` prefix stripped (a quirk of Duplicati's reader);
* a key hash that does not match raises ``EncryptedFieldKeyMismatchError``;
* an encrypted value and no key raises ``EncryptedFieldKeyMissingError``;
* keys shorter than 8 characters raise ``EncryptedFieldKeyError``; a blank key counts as no key;
* the blacklisted keys (the SHA-256 hex of an empty device id) never encrypt: like the
  Agent and ServerUtil, ``encrypt_field`` then returns the value unencrypted.
"""


import binascii
import hashlib
import struct

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import (
    EncryptedFieldError,
    EncryptedFieldKeyError,
    EncryptedFieldKeyMismatchError,
    EncryptedFieldKeyMissingError,
)

PREFIX = 'enc-v1:'
#: The environment variable Duplicati reads the settings encryption key from.
ENVIRONMENT_VARIABLE = 'SETTINGS_ENCRYPTION_KEY'
#: Shortest accepted key, in .NET characters (UTF-16 code units).
MIN_KEY_LENGTH = 8
_HASH_LENGTH = 64

# DeviceIDHelper.EMPTY_DEVICE_IDS: the id an empty DeviceIdBuilder produces, and "".
_EMPTY_DEVICE_IDS = ('WERC8GMRZGE196QVYK49JVXS4GKTWGF4CJDS6K54JPCHPY2JQ1AG', '')


def _aescrypt():
    # Imported on use: checking a key or a length needs no AES (nor the cryptography package).
    from ansible_collections.duplicati.fleet.plugins.module_utils import aescrypt
    return aescrypt


def _sha256_hex(text):
    """SHA-256 of the UTF-8 text as uppercase hex (Duplicati's ``ComputeHashToHex``)."""
    return hashlib.sha256(text.encode('utf-8')).hexdigest().upper()


#: Keys that are never used to encrypt: the uppercase SHA-256 hex of the empty device ids.
BLACKLISTED_KEYS = frozenset(_sha256_hex(device_id) for device_id in _EMPTY_DEVICE_IDS)


def is_blacklisted_key(key):
    """True if ``key`` is one of the keys Duplicati refuses to encrypt with."""
    return key in BLACKLISTED_KEYS


def is_encrypted_field(value):
    """True if ``value`` is a non-blank string starting with ``enc-v1:``."""
    return isinstance(value, str) and bool(value.strip()) and value.startswith(PREFIX)


def _utf16_length(text):
    return len(text.encode('utf-16-le', 'surrogatepass')) // 2


def _key(key):
    """Validate ``key``; return None for no key (None or blank), else ``(key, key hash)``."""
    if key is None:
        return None
    if not isinstance(key, str):
        raise TypeError('the settings encryption key must be a text string, not %s' % type(key).__name__)
    if not key.strip():
        return None
    if _utf16_length(key) < MIN_KEY_LENGTH:
        raise EncryptedFieldKeyError(
            'The settings encryption key is too short (%d characters)' % _utf16_length(key),
            hint='Use a key of at least %d characters.' % MIN_KEY_LENGTH)
    return key, _sha256_hex(key)


def _check_value(value):
    if value is not None and not isinstance(value, str):
        raise TypeError('an encrypted field value must be a text string, not %s' % type(value).__name__)


def encrypt_field(value, key):
    """Encrypt ``value`` (text) with the settings encryption ``key`` into an ``enc-v1:`` string.

    None stays None; an empty string is encrypted, as the server does for every non-null
    sensitive field. With a blacklisted key the value is returned unencrypted (what the
    Agent and ServerUtil do; the library call itself would refuse). A value that is
    already encrypted is encrypted again, as Duplicati would. Every call gives a different
    string (fresh random IVs and session key).
    """
    _check_value(value)
    instance = _key(key)
    if instance is None:
        raise EncryptedFieldKeyMissingError(
            'Cannot encrypt a settings field without a settings encryption key',
            hint='Give the settings encryption key (SETTINGS_ENCRYPTION_KEY).')
    if value is None or is_blacklisted_key(instance[0]):
        return value
    blob = _aescrypt().encrypt_bytes(value.encode('utf-8'), instance[0], version=2, minimal_header=True)
    content = binascii.hexlify(blob).decode('ascii').upper()
    return PREFIX + _sha256_hex(content) + instance[1] + content


def _open(value, key):
    """The checks of ``decrypt_field`` before any AES: ``(None, value)`` for a value it returns as it is (none,
    empty, no prefix, or a content hash that does not match: then the value without its prefix), else
    ``(key, content)`` with the hex content. Raises the errors ``decrypt_field`` raises for a missing or wrong key."""
    _check_value(value)
    instance = _key(key)
    if not value or not value.startswith(PREFIX):
        return None, value
    if instance is None:
        raise EncryptedFieldKeyMissingError(
            'The settings field is encrypted but no settings encryption key was given',
            hint='Give the settings encryption key (SETTINGS_ENCRYPTION_KEY) the value was encrypted with.')
    rest = value[len(PREFIX):]
    if len(rest) < 2 * _HASH_LENGTH:
        raise EncryptedFieldError(
            'The enc-v1 value is malformed: %d characters after the prefix, fewer than the %d of the two hashes'
            % (len(rest), 2 * _HASH_LENGTH))
    content_hash, key_hash, content = rest[:_HASH_LENGTH], rest[_HASH_LENGTH:2 * _HASH_LENGTH], rest[2 * _HASH_LENGTH:]
    if content_hash != _sha256_hex(content):
        return None, rest
    if key_hash != instance[1]:
        raise EncryptedFieldKeyMismatchError(
            'The settings field was encrypted with a different settings encryption key',
            hint='Give the settings encryption key the server or agent was started with.')
    return instance[0], content


def decrypt_field(value, key):
    """Decrypt an ``enc-v1:`` string with the settings encryption ``key``.

    Values that are None, empty or lack the prefix are returned unchanged; a value whose
    content hash does not match is returned with the prefix stripped (as Duplicati does).
    """
    password, content = _open(value, key)
    if password is None:
        return content
    try:
        blob = binascii.unhexlify(content)
    except (binascii.Error, ValueError):
        raise EncryptedFieldError('The enc-v1 value is malformed: its content is not hexadecimal')
    return _aescrypt().decrypt_bytes(blob, password).decode('utf-8', 'replace')


# AES Crypt v2 after the extensions: header IV, encrypted session IV and key, header HMAC; after the
# ciphertext: the plaintext length mod 16 and the payload HMAC (aescrypt.py has the whole layout).
_V2_BEFORE_PAYLOAD = 16 + 48 + 32
_V2_AFTER_PAYLOAD = 1 + 32


def plaintext_length(value, key):
    """How many bytes ``decrypt_field(value, key)`` would give as UTF-8, read from the AES Crypt v2 framing
    without decrypting, after the same key checks (and errors) as ``decrypt_field``.

    Version 2 keeps the plaintext length mod 16 in the clear and adds no block to a whole number of blocks,
    so the length is exact. None when the content is not a well-formed version 2 stream: only
    ``decrypt_field`` can tell then (and say what is wrong). None too for a prefixed value whose content hash
    does not match: ``decrypt_field`` returns it without its prefix and without AES, and its length says
    nothing of what it holds (blanks). The length proves the key's hash, not the payload's HMAC: a payload
    changed after its content hash was computed is only found by decrypting.
    """
    password, content = _open(value, key)
    if password is None:
        return len(value.encode('utf-8')) if value is not None and content is value else None
    try:
        blob = binascii.unhexlify(content)
    except (binascii.Error, ValueError):
        return None
    if blob[:5] != b'AES\x02\x00':
        return None
    offset = 5
    while True:
        if offset + 2 > len(blob):
            return None
        size = struct.unpack('>H', blob[offset:offset + 2])[0]
        offset += 2 + size
        if size == 0:
            break
    payload = len(blob) - offset - _V2_BEFORE_PAYLOAD - _V2_AFTER_PAYLOAD
    if payload < 0 or payload % 16:
        return None
    remainder = blob[-_V2_AFTER_PAYLOAD]
    if remainder >= 16 or (payload == 0 and remainder):
        return None
    return payload - 16 + remainder if remainder else payload
