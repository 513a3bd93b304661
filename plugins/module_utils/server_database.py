# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A read-only reader of the Duplicati Server database ``Duplicati-server.sqlite``.

Duplicati's own tools open this database read-write and run schema upgrades; this
reader never does.  It opens the file with the SQLite URI ``mode=ro`` (so a missing
file is an error, never created), runs only SELECT statements, and closes it again.

Server settings are the rows of the ``Option`` table with ``BackupID = -2``
(``Connection.SERVER_SETTINGS_ID``); any ``enc-v1:`` value is decrypted with the
settings encryption key, as ``Connection.GetSettings`` does.
"""


import contextlib
import json
import os
import sqlite3

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

from ansible_collections.duplicati.fleet.plugins.module_utils.data_folder import SERVER_DATABASE_FILENAME
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import (
    DuplicatiError,
    EncryptedFieldKeyMismatchError,
    EncryptedFieldKeyMissingError,
)

SERVER_SETTINGS_ID = -2
APPLICATION_SETTINGS_ID = -1

JWT_CONFIG = 'jwt-config'
PBKDF_CONFIG = 'pbkdf-config'
SERVER_SSL_CERTIFICATE = 'server-ssl-certificate'
SERVER_SSL_CERTIFICATE_PASSWORD = 'server-ssl-certificate-password'
DISABLE_SIGNIN_TOKENS = 'disable-signin-tokens'
ENCRYPTED_FIELDS = 'encrypted-fields'

KEY_MISSING_MESSAGE = 'the server database is encrypted but no settings encryption key was given (SETTINGS_ENCRYPTION_KEY)'
KEY_MISMATCH_MESSAGE = 'the settings encryption key does not match the one the server database was encrypted with (SETTINGS_ENCRYPTION_KEY)'


def _encrypted_field():
    from ansible_collections.duplicati.fleet.plugins.module_utils import encrypted_field
    return encrypted_field


def database_path(data_folder):
    return os.path.join(data_folder, SERVER_DATABASE_FILENAME)


@contextlib.contextmanager
def open_read_only(path):
    """An sqlite3 connection that cannot write and cannot create the file."""
    if not os.path.isfile(path):
        raise DuplicatiError('The Duplicati server database %s does not exist' % path, url=path,
                             hint='Check the data folder (--server-datafolder, DUPLICATI_HOME) or start the server once to create it.')
    uri = 'file:%s?mode=ro' % quote(os.path.abspath(path))
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as e:
        raise DuplicatiError('Cannot open the Duplicati server database %s: %s' % (path, e), url=path)
    try:
        conn.execute('PRAGMA query_only = ON')
        yield conn
    except sqlite3.DatabaseError as e:
        raise DuplicatiError('Cannot read the Duplicati server database %s: %s' % (path, e), url=path)
    finally:
        conn.close()


def _decrypt(name, value, key, path):
    if value is None or not value.startswith('enc-v1:'):
        return value
    if key is not None and str(key).strip() == '':
        key = None
    try:
        return _encrypted_field().decrypt_field(value, key)
    except EncryptedFieldKeyMissingError:
        raise DuplicatiError('Cannot read the setting %s from %s: %s' % (name, path, KEY_MISSING_MESSAGE), url=path)
    except EncryptedFieldKeyMismatchError:
        raise DuplicatiError('Cannot read the setting %s from %s: %s' % (name, path, KEY_MISMATCH_MESSAGE), url=path)


def read_options(path, backup_id=SERVER_SETTINGS_ID, settings_encryption_key=None):
    """All ``Option`` rows of ``backup_id`` as a dict name -> value (decrypted); later rows win."""
    with open_read_only(path) as conn:
        try:
            rows = conn.execute('SELECT "Name", "Value" FROM "Option" WHERE "BackupID" = ?', (backup_id,)).fetchall()
        except sqlite3.OperationalError as e:
            raise DuplicatiError('%s is not a Duplicati server database: %s' % (path, e), url=path)
    result = {}
    for name, value in rows:
        result[name] = _decrypt(name, value, settings_encryption_key, path)
    return result


def read_server_settings(path, settings_encryption_key=None):
    """The server settings (``Option`` rows with BackupID -2), decrypted."""
    return read_options(path, SERVER_SETTINGS_ID, settings_encryption_key)


def read_schema_version(path):
    """The ``Version`` of the database schema, or None if the table is empty."""
    with open_read_only(path) as conn:
        try:
            row = conn.execute('SELECT "Version" FROM "Version" ORDER BY "ID" DESC LIMIT 1').fetchone()
        except sqlite3.OperationalError as e:
            raise DuplicatiError('%s is not a Duplicati server database: %s' % (path, e), url=path)
    return row[0] if row else None


def _json_setting(settings, name, path):
    value = settings.get(name)
    if value is None or value == '':
        return None
    try:
        return json.loads(value)
    except ValueError as e:
        raise DuplicatiError('The server setting %s in %s is not valid JSON: %s' % (name, path, e), url=path)


def parse_bool(value, default=False):
    """``Utility.ParseBool``: true/on/1/yes are true, false/off/0/no are false, anything else the default."""
    if value is None:
        return default
    text = value.strip().lower()
    if text in ('1', 'on', 'true', 'yes'):
        return True
    if text in ('0', 'off', 'false', 'no'):
        return False
    return default


def certificate_thumbprint(stored, password=None):
    """SHA1 thumbprint (upper-case hex) of the certificate with a private key in a stored ``server-ssl-certificate``.

    The setting holds a base64 PKCS#12 file with its password in ``server-ssl-certificate-password``
    (``ServerSettings.ServerSSLCertificate``); ServerUtil pins the certificate that
    ``HasPrivateKey``, by ``GetCertHashString()``. Raises ``DuplicatiError`` when it cannot be read.
    """
    import base64
    import binascii
    import hashlib
    try:
        from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
    except ImportError:
        raise DuplicatiError('reading the server certificate needs the Python package cryptography')
    try:
        key, cert, dummy = pkcs12.load_key_and_certificates(base64.b64decode(stored), password.encode('utf-8') if password else None)
    except (ValueError, TypeError, binascii.Error) as e:
        raise DuplicatiError('the stored server certificate cannot be read (%s)' % e)
    if key is None or cert is None:
        return None
    return hashlib.sha1(cert.public_bytes(Encoding.DER)).hexdigest().upper()


def read_certificate_thumbprint(path, settings_encryption_key=None):
    """The thumbprint of the server's own certificate stored in the database at ``path``, or None."""
    settings = read_server_settings(path, settings_encryption_key)
    stored = settings.get(SERVER_SSL_CERTIFICATE)
    if not stored:
        return None
    return certificate_thumbprint(stored, settings.get(SERVER_SSL_CERTIFICATE_PASSWORD))


def read_jwt_config(path, settings_encryption_key=None):
    """The parsed ``jwt-config`` (dict with Authority, Audience, SigningKey, ...) or None if unset."""
    return _json_setting(read_server_settings(path, settings_encryption_key), JWT_CONFIG, path)


def read_auth_settings(path, settings_encryption_key=None):
    """The settings a client needs to sign in without a password.

    Returns a dict: ``jwt_config`` and ``pbkdf_config`` (parsed JSON or None),
    ``server_ssl_certificate`` (the stored value or None), ``disable_signin_tokens`` (bool),
    ``encrypted_fields`` (bool).
    """
    settings = read_server_settings(path, settings_encryption_key)
    return {
        'jwt_config': _json_setting(settings, JWT_CONFIG, path),
        'pbkdf_config': _json_setting(settings, PBKDF_CONFIG, path),
        'server_ssl_certificate': settings.get(SERVER_SSL_CERTIFICATE) or None,
        'disable_signin_tokens': parse_bool(settings.get(DISABLE_SIGNIN_TOKENS), False),
        'encrypted_fields': parse_bool(settings.get(ENCRYPTED_FIELDS), False),
    }
