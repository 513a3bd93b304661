# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``agent.json``, the record ``Settings`` of ``Duplicati/Agent/Settings.cs`` (``Settings.Load`` / ``Settings.Save``).

Written as System.Text.Json does it: camelCase keys in record order (``jwt``, ``serverUrl``,
``certificateUrl``, ``settingsEncryptionKey``, ``serverCertificates``), two-space indentation,
null values omitted, DateTimeOffset as ISO 8601 with a numeric offset, non-ASCII and
HTML-sensitive characters escaped. Read case-insensitively.

With a passphrase the values of ``jwt`` and ``settingsEncryptionKey`` are stored as
``enc-v1:`` strings (``EncryptedFieldHelper``: ``codecs/encrypted_field.py``). Plain values are read as
they are and encrypted on the next save. The file is replaced atomically with mode 0600.
"""

import datetime
import json
import os
import re
import tempfile

from ..codecs import encrypted_field
from .errors import UserInformationError

FIELDS = ('jwt', 'serverUrl', 'certificateUrl', 'settingsEncryptionKey', 'serverCertificates')
CERTIFICATE_FIELDS = ('publicKeyHash', 'publicKey', 'obtained', 'expiry')


class SettingsFileError(Exception):
    """agent.json cannot be read (a JsonException or IOException in the real agent: exit code 1)."""


def decrypt(value, key):
    """``EncryptedFieldHelper.Decrypt`` as ``Settings.Load`` calls it: its key exceptions become
    the UserInformationExceptions ``Settings.Load`` throws."""
    try:
        return encrypted_field.decrypt(value, key)
    except encrypted_field.KeyMissingError:
        raise UserInformationError('Settings file is encrypted but key is missing', 'AgentSettingsKeyMissing')
    except encrypted_field.KeyMismatchError:
        raise UserInformationError('Invalid settings key provided', 'InvalidAgentSettingsKey')


def encrypt_if_possible(value, key):
    """``Settings.EncryptFieldIfPossible``."""
    if key is None or key.is_blacklisted or value is None:
        return value
    if not value.strip():
        return ''
    return encrypted_field.encrypt(value, key)


_DTO_RE = re.compile(r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?$')


def normalise_timestamp(value):
    """A DateTimeOffset read from JSON and written back the way System.Text.Json writes it."""
    if not isinstance(value, str):
        raise ValueError('not a DateTimeOffset: %r' % (value,))
    match = _DTO_RE.match(value)
    if not match:
        raise ValueError('not a DateTimeOffset: %r' % (value,))
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    datetime.datetime(year, month, day, hour, minute, second)  # validates the fields
    fraction = (match.group(7) or '').ljust(7, '0').rstrip('0')
    zone = match.group(8)
    if zone is None:
        offset = datetime.datetime(year, month, day, hour, minute, second).astimezone().utcoffset()
        minutes = int(offset.total_seconds() // 60)
        zone = '%s%02d:%02d' % ('-' if minutes < 0 else '+', abs(minutes) // 60, abs(minutes) % 60)
    elif zone == 'Z':
        zone = '+00:00'
    return '%04d-%02d-%02dT%02d:%02d:%02d%s%s' % (year, month, day, hour, minute, second, '.' + fraction if fraction else '', zone)


def normalise_certificates(value, case_insensitive=False):
    """``IEnumerable<MiniServerCertificate>`` as read (case-sensitive camelCase, from the console) and re-written."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError('serverCertificates is not an array')
    result = []
    for item in value:
        if item is None:
            result.append(None)
            continue
        if not isinstance(item, dict):
            raise ValueError('a server certificate is not an object')
        cert = {}
        for name in ('publicKeyHash', 'publicKey'):
            field = _lookup(item, name, case_insensitive)
            if field is not None and not isinstance(field, str):
                raise ValueError('%s is not a string' % name)
            cert[name] = field
        for name in ('obtained', 'expiry'):
            field = _lookup(item, name, case_insensitive)
            cert[name] = '0001-01-01T00:00:00+00:00' if field is None else normalise_timestamp(field)
        result.append(cert)
    return result


def _lookup(obj, name, case_insensitive=False):
    if name in obj:
        return obj[name]
    if case_insensitive:
        for key, value in obj.items():
            if key.lower() == name.lower():
                return value
    return None


_ESCAPES = {'"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f'}
_HTML_SENSITIVE = set('<>&\'+`')


def _json_string(text):
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or code > 0x7e or char in _HTML_SENSITIVE:
            for unit in (char.encode('utf-16-be')[i:i + 2] for i in range(0, len(char.encode('utf-16-be')), 2)):
                out.append('\\u%04X' % int.from_bytes(unit, 'big'))
        else:
            out.append(char)
    out.append('"')
    return ''.join(out)


def dumps(value, indent=0):
    """System.Text.Json with WriteIndented and WhenWritingNull (nulls in objects are skipped)."""
    pad = '  ' * indent
    if isinstance(value, dict):
        items = [(k, v) for k, v in value.items() if v is not None]
        if not items:
            return '{}'
        inner = ',\n'.join('%s  %s: %s' % (pad, _json_string(k), dumps(v, indent + 1)) for k, v in items)
        return '{\n%s\n%s}' % (inner, pad)
    if isinstance(value, list):
        if not value:
            return '[]'
        inner = ',\n'.join('%s  %s' % (pad, dumps(v, indent + 1)) for v in value)
        return '[\n%s\n%s]' % (inner, pad)
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return _json_string(value)


class AgentSettings(object):
    """The agent's settings record, loaded from and saved to one file."""

    def __init__(self, filename, key=None, jwt='', server_url='', certificate_url='', settings_encryption_key='',
                 server_certificates=None):
        self.filename = filename
        self.key = key
        self.jwt = jwt
        self.server_url = server_url
        self.certificate_url = certificate_url
        self.settings_encryption_key = settings_encryption_key
        self.server_certificates = [] if server_certificates is None else server_certificates

    @property
    def registered(self):
        return bool(self.jwt and self.jwt.strip())

    @classmethod
    def load(cls, path, passphrase):
        """``Settings.Load``. A short passphrase raises ValueError (an ArgumentException: exit code 1)."""
        key = None if passphrase is None or not passphrase.strip() else encrypted_field.KeyInstance(passphrase)
        if not os.path.exists(path):
            return cls(path, key, '', '', '', '', [])
        try:
            with open(path, 'r', encoding='utf-8-sig') as handle:
                raw = json.load(handle)
        except ValueError as exc:
            raise SettingsFileError('The settings file %s is not valid JSON: %s' % (path, exc))
        except (IOError, OSError) as exc:
            raise SettingsFileError('Could not read the settings file %s: %s' % (path, exc))
        if raw is None:
            return cls(path, key, '', '', '', '', [])
        if not isinstance(raw, dict):
            raise SettingsFileError('The settings file %s does not hold a JSON object' % path)
        values = {}
        for name in ('jwt', 'serverUrl', 'certificateUrl', 'settingsEncryptionKey'):
            value = _lookup(raw, name, case_insensitive=True)
            if value is not None and not isinstance(value, str):
                raise SettingsFileError('The value of %s in %s is not a string' % (name, path))
            values[name] = value
        try:
            certificates = normalise_certificates(_lookup(raw, 'serverCertificates', case_insensitive=True), True)
        except ValueError as exc:
            raise SettingsFileError('The serverCertificates in %s cannot be read: %s' % (path, exc))
        return cls(path, key,
                   jwt=decrypt(values['jwt'], key),
                   server_url=values['serverUrl'],
                   certificate_url=values['certificateUrl'],
                   settings_encryption_key=decrypt(values['settingsEncryptionKey'], key),
                   server_certificates=certificates)

    def to_json(self):
        plain = self.key is None or self.key.is_blacklisted
        return dumps({
            'jwt': self.jwt if plain else encrypt_if_possible(self.jwt, self.key),
            'serverUrl': self.server_url,
            'certificateUrl': self.certificate_url,
            'settingsEncryptionKey': self.settings_encryption_key if plain else encrypt_if_possible(self.settings_encryption_key, self.key),
            'serverCertificates': self.server_certificates,
        })

    def save(self):
        """Replace the file atomically (temp file in the same folder, fsync, rename) with mode 0600."""
        text = self.to_json()
        directory = os.path.dirname(os.path.abspath(self.filename))
        fd, tmp = tempfile.mkstemp(prefix='.agent-settings.', dir=directory)
        try:
            with os.fdopen(fd, 'w', encoding='utf-8', newline='') as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.filename)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        try:
            dirfd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dirfd)
            finally:
                os.close(dirfd)
        except OSError:
            pass
