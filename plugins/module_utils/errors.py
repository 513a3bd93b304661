# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type of the collection's library layer.

Everything in ``module_utils`` raises ``DuplicatiError`` (or a subclass) for failures a
user can act on. A module catches it once and hands ``str(err)`` to ``fail_json``: the
message says what failed, the hint says what to do about it.
"""


class DuplicatiError(Exception):
    """A failure of the library layer, described for the person running the playbook.

    :param message: what failed, as one sentence.
    :param status: the HTTP status of the server answer, or None.
    :param code: the ``Code`` field of the server's error body, or None.
    :param server_error: the ``Error`` text of the server's error body, or None.
    :param url: the URL or file the failure concerns, or None.
    :param hint: what the user should do about it, or None.
    """

    def __init__(self, message, status=None, code=None, server_error=None, url=None, hint=None):
        super(DuplicatiError, self).__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.server_error = server_error
        self.url = url
        self.hint = hint

    def __str__(self):
        text = self.message.rstrip()
        if self.hint:
            if not text.endswith(('.', '!', '?', ':')):
                text += '.'
            text += ' ' + self.hint.strip()
        return text

    def to_dict(self):
        """The error's fields as a dict, for ``fail_json(**err.to_dict())``-style reporting."""
        result = {'msg': str(self)}
        for name in ('status', 'code', 'server_error', 'url'):
            value = getattr(self, name)
            if value is not None:
                result[name] = value
        return result


# AES Crypt files (aescrypt.py)

class AESCryptError(DuplicatiError):
    """An AES Crypt stream could not be encrypted or decrypted."""


class AESCryptWrongPasswordError(AESCryptError):
    """The header HMAC did not verify: the password is wrong (or the header is damaged)."""


class AESCryptTruncatedError(AESCryptError):
    """The stream ended before the AES Crypt structure was complete."""


class AESCryptIntegrityError(AESCryptError):
    """The payload HMAC or the length trailer did not verify: the data is corrupted or was tampered with."""


class AESCryptUnsupportedVersionError(AESCryptError):
    """The AES Crypt file format version is not 2 or 3."""


class AESCryptFormatError(AESCryptError):
    """The input is not an AES Crypt stream, or its header is malformed."""


# enc-v1 encrypted settings fields (encrypted_field.py)

class EncryptedFieldError(DuplicatiError):
    """An ``enc-v1:`` settings field could not be encrypted or decrypted."""


class EncryptedFieldKeyMissingError(EncryptedFieldError):
    """The value is encrypted but no settings encryption key was given."""


class EncryptedFieldKeyMismatchError(EncryptedFieldError):
    """The value was encrypted with a different settings encryption key."""


class EncryptedFieldKeyError(EncryptedFieldError):
    """The settings encryption key is not usable (too short)."""


# Codecs

class TimespanError(DuplicatiError, ValueError):
    """A Duplicati timespan string could not be parsed or formatted."""


class JWTError(DuplicatiError):
    """A JSON Web Token could not be minted, parsed or verified."""
