# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Duplicati Agent's ``agent.json``: load, registration state, save, certificate expiry.

The file is the record ``Settings`` of ``Duplicati/Agent/Settings.cs`` written by
System.Text.Json with camelCase names, ``WriteIndented``, nulls omitted, and read
with case-insensitive names.  With ``--agent-settings-file-passphrase`` only the
values of ``jwt`` and ``settingsEncryptionKey`` are ``enc-v1:`` strings.

Settings are handled as a dict with the JSON names as keys: ``jwt``, ``serverUrl``,
``certificateUrl``, ``settingsEncryptionKey`` (str or None) and ``serverCertificates``
(None or a list of dicts with ``publicKeyHash``, ``publicKey``, ``obtained``, ``expiry``).
Values in the dict are always decrypted.
"""


import datetime
import json
import os
import re

from ansible_collections.duplicati.fleet.plugins.module_utils import dotnet_json
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import write_atomic
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import (
    DuplicatiError,
    EncryptedFieldKeyMismatchError,
    EncryptedFieldKeyMissingError,
)

# Property order of the record (Filename and Key are always null and never written).
SETTINGS_KEYS = ('jwt', 'serverUrl', 'certificateUrl', 'settingsEncryptionKey', 'serverCertificates')
STRING_KEYS = ('jwt', 'serverUrl', 'certificateUrl', 'settingsEncryptionKey')
ENCRYPTED_KEYS = ('jwt', 'settingsEncryptionKey')
CERTIFICATE_KEYS = ('publicKeyHash', 'publicKey', 'obtained', 'expiry')

MIN_PASSPHRASE_LENGTH = 8
DEFAULT_DATETIMEOFFSET = '0001-01-01T00:00:00+00:00'

# Real Duplicati texts (Agent/Settings.cs Load, Encryption/Strings.cs).
KEY_MISSING_MESSAGE = 'Settings file is encrypted but key is missing'
KEY_INVALID_MESSAGE = 'Invalid settings key provided'
KEY_TOO_SHORT_MESSAGE = 'Key must be at least 8 characters long'


def _encrypted_field():
    # Imported on use: only files with an enc-v1 value or a passphrase need AES.
    from ansible_collections.duplicati.fleet.plugins.module_utils import encrypted_field
    return encrypted_field


def default_agent_settings():
    """What the agent uses when agent.json does not exist (``Settings.Load``)."""
    return {'jwt': '', 'serverUrl': '', 'certificateUrl': '', 'settingsEncryptionKey': '', 'serverCertificates': []}


def check_passphrase(passphrase):
    """``KeyInstance.CreateKeyIfValid``: None for an empty/blank passphrase, an error if shorter than 8."""
    if passphrase is None or str(passphrase).strip() == '':
        return None
    if len(passphrase.encode('utf-16-le', 'surrogatepass')) // 2 < MIN_PASSPHRASE_LENGTH:
        raise DuplicatiError('The agent settings passphrase is not usable: ' + KEY_TOO_SHORT_MESSAGE,
                             hint='Use a passphrase of at least 8 characters, as Duplicati requires.')
    return passphrase


# --- DateTimeOffset ------------------------------------------------------------------------------

_DTO_RE = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7})\d*)?)?)?'
    r'(Z|[+-]\d{2}:\d{2})?$')


def parse_datetimeoffset(text):
    """Parse an ISO 8601 DateTimeOffset as System.Text.Json reads it; returns an aware datetime.

    A value without an offset is taken as UTC here (.NET would use the local offset of the host).
    The 7th fractional digit (100 ns) is kept in ``datetime`` only to the microsecond.
    """
    if not isinstance(text, str):
        raise DuplicatiError('Invalid date %r: expected an ISO 8601 string' % (text,))
    m = _DTO_RE.match(text.strip())
    if not m:
        raise DuplicatiError('Invalid date %r: expected an ISO 8601 date such as 2026-01-31T12:00:00+00:00' % (text,))
    year, month, day, hour, minute, second, frac, offset = m.groups()
    ticks = int((frac or '0').ljust(7, '0'))
    if offset in (None, 'Z'):
        tz = datetime.timezone.utc
    else:
        sign = -1 if offset[0] == '-' else 1
        tz = datetime.timezone(sign * datetime.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    try:
        return datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                                 ticks // 10, tzinfo=tz), ticks
    except ValueError as e:
        raise DuplicatiError('Invalid date %r: %s' % (text, e))


def format_datetimeoffset(text):
    """Rewrite an ISO 8601 DateTimeOffset as System.Text.Json writes it (``2026-01-31T12:00:00.5+01:00``)."""
    value, ticks = parse_datetimeoffset(text)
    result = '%04d-%02d-%02dT%02d:%02d:%02d' % (value.year, value.month, value.day, value.hour, value.minute, value.second)
    if ticks:
        result += '.' + ('%07d' % ticks).rstrip('0')
    offset = value.utcoffset()
    minutes = int(offset.total_seconds() // 60)
    sign = '-' if minutes < 0 else '+'
    minutes = abs(minutes)
    return result + '%s%02d:%02d' % (sign, minutes // 60, minutes % 60)


# --- Reading -------------------------------------------------------------------------------------

class _Pairs(list):
    """A JSON object as its (name, value) pairs in file order (keeps duplicates, unlike dict)."""


def _pairs_hook(pairs):
    return _Pairs(pairs)


def _json_type(value):
    return 'an object' if isinstance(value, _Pairs) else dotnet_json.json_type_name(value)


def _fold(pairs, allowed):
    """Map case-insensitive names to their canonical spelling; later duplicates win like System.Text.Json."""
    canonical = dict((name.lower(), name) for name in allowed)
    result = {}
    for name, value in pairs:
        key = canonical.get(name.lower())
        if key is not None:
            result[key] = value
    return result


def _expect_string(value, name, source):
    if value is None or isinstance(value, str):
        return value
    raise DuplicatiError('%s is not a valid agent settings file: %s must be a string, not %s' % (source, name, _json_type(value)))


def _certificate(pairs, index, source):
    if not isinstance(pairs, _Pairs):
        raise DuplicatiError('%s is not a valid agent settings file: serverCertificates[%d] must be an object, not %s'
                             % (source, index, _json_type(pairs)))
    raw = _fold(pairs, CERTIFICATE_KEYS)
    cert = {}
    for name in CERTIFICATE_KEYS:
        value = _expect_string(raw.get(name), 'serverCertificates[%d].%s' % (index, name), source)
        if name in ('obtained', 'expiry'):
            if value is None:
                if name in raw:
                    raise DuplicatiError('%s is not a valid agent settings file: serverCertificates[%d].%s must be a date, not null'
                                         % (source, index, name))
                value = DEFAULT_DATETIMEOFFSET
            try:
                value = format_datetimeoffset(value)
            except DuplicatiError as e:
                raise DuplicatiError('%s is not a valid agent settings file: serverCertificates[%d].%s: %s' % (source, index, name, e))
        cert[name] = value
    return cert


def _decrypt(value, passphrase, name, source, decrypt=True):
    """The value decrypted; with ``decrypt=False`` the value as it is, once the passphrase is known to be the
    one it was encrypted with (the key checks of ``decrypt_field``, without AES)."""
    if value is None or not value.startswith('enc-v1:'):
        return value
    try:
        if not decrypt:
            _encrypted_field().plaintext_length(value, passphrase)
            return value
        return _encrypted_field().decrypt_field(value, passphrase)
    except EncryptedFieldKeyMissingError:
        raise DuplicatiError('%s: %s' % (source, KEY_MISSING_MESSAGE), url=source,
                             hint='Give the passphrase the agent uses (--agent-settings-file-passphrase).')
    except EncryptedFieldKeyMismatchError:
        raise DuplicatiError('%s: %s' % (source, KEY_INVALID_MESSAGE), url=source,
                             hint='The passphrase does not match the one %s was encrypted with.' % name)


def parse_agent_settings(text, passphrase=None, source='agent.json', decrypt=True):
    """Parse agent.json text like ``Settings.Load``; returns the settings dict with decrypted values
    (``decrypt=False``: with the encrypted values as they are, the passphrase checked against them)."""
    passphrase = check_passphrase(passphrase)
    doc = dotnet_json.loads(text, source, object_pairs_hook=_pairs_hook)
    if doc is None:
        return default_agent_settings()
    if not isinstance(doc, _Pairs):
        raise DuplicatiError('%s is not a valid agent settings file: the top level must be a JSON object' % source, url=source)
    raw = _fold(doc, SETTINGS_KEYS)
    settings = {}
    for name in STRING_KEYS:
        settings[name] = _expect_string(raw.get(name), name, source)
    certs = raw.get('serverCertificates')
    if certs is not None:
        if not isinstance(certs, list) or isinstance(certs, _Pairs):
            raise DuplicatiError('%s is not a valid agent settings file: serverCertificates must be an array, not %s'
                                 % (source, _json_type(certs)), url=source)
        certs = [_certificate(c, i, source) for i, c in enumerate(certs)]
    settings['serverCertificates'] = certs
    for name in ENCRYPTED_KEYS:
        settings[name] = _decrypt(settings[name], passphrase, name, source, decrypt)
    return settings


def load_agent_settings(path, passphrase=None, decrypt=True):
    """Load ``path``; a missing file gives the defaults (like the agent).  Raises DuplicatiError.
    ``decrypt=False``: see ``parse_agent_settings``."""
    if not os.path.exists(path):
        check_passphrase(passphrase)
        return default_agent_settings()
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as e:
        raise DuplicatiError('Cannot read %s: %s' % (path, e.strerror or e), url=path)
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        raise DuplicatiError('%s is not valid UTF-8 text' % path, url=path)
    return parse_agent_settings(text, passphrase, source=path, decrypt=decrypt)


def is_registered(settings):
    """True if the agent is registered: ``jwt`` is not null, empty or whitespace (after decryption)."""
    jwt = (settings or {}).get('jwt')
    return isinstance(jwt, str) and jwt.strip() != ''


# A token the console issues is a JWT of a few hundred bytes; the agent writes it, or an empty value.
_SHORTEST_TOKEN = 32


def holds_token(jwt, passphrase):
    """``is_registered`` of the ``jwt`` value as agent.json holds it (maybe ``enc-v1:``, its passphrase already
    checked), without decrypting it when its length decides: an empty plaintext is no token, and one of more
    than 32 bytes is one (Duplicati writes a token or an empty value, never blanks). A value of another length
    is decrypted, so that blanks count as no token, as ``string.IsNullOrWhiteSpace(settings.JWT)`` in
    ``Agent/Program.cs`` has it."""
    if not (isinstance(jwt, str) and jwt.startswith('enc-v1:')):
        return is_registered({'jwt': jwt})
    field = _encrypted_field()
    length = field.plaintext_length(jwt, passphrase)
    if length == 0:
        return False
    if length is not None and length > _SHORTEST_TOKEN:
        return True
    return is_registered({'jwt': field.decrypt_field(jwt, passphrase)})


def read_folded(path):
    """The top-level values of agent.json as read without decrypting, keyed by lower-cased name (the agent reads
    names case-insensitively); None when the file cannot be read or is not a JSON object."""
    try:
        with open(path, 'rb') as handle:
            doc = json.loads(handle.read().decode('utf-8-sig'))
    except (IOError, OSError, ValueError):
        return None
    return dict((str(k).lower(), v) for k, v in doc.items()) if isinstance(doc, dict) else None


def settings_facts(path, passphrase=None):
    """What the file at ``path`` says: ``settings_exists``, ``settings_encrypted``, ``registered``, ``server_url``,
    ``certificate_expiry``, and ``settings_error`` when it could not be read. A file that cannot be decrypted is
    still registered when it holds a token: the agent would ask for the passphrase, not register again."""
    facts = {'settings_exists': os.path.isfile(path), 'settings_encrypted': False, 'registered': False,
             'server_url': None, 'certificate_expiry': None}
    if not facts['settings_exists']:
        return facts
    raw = read_folded(path) or {}
    facts['settings_encrypted'] = any(isinstance(raw.get(k.lower()), str) and raw[k.lower()].startswith('enc-v1:')
                                      for k in ENCRYPTED_KEYS)
    try:
        # The passphrase is checked against both encrypted values, without AES: reading the facts of a fleet's
        # hosts then needs neither the key stretching nor the cryptography package (holds_token).
        settings = load_agent_settings(path, passphrase, decrypt=False)
        facts['registered'] = holds_token(settings['jwt'], passphrase)
    except DuplicatiError as err:
        facts['settings_error'] = str(err)
        facts['registered'] = is_registered({'jwt': raw.get('jwt')})
    else:
        expiry = certificate_expiry(settings)
        facts['certificate_expiry'] = expiry.isoformat() if expiry is not None else None
    url = raw.get('serverurl')
    if facts['registered'] and isinstance(url, str) and url:
        facts['server_url'] = url
    return facts


# --- Writing -------------------------------------------------------------------------------------

def normalize_agent_settings(settings):
    """Validated copy in the record's shape (unknown keys dropped), for comparison and rendering."""
    result = {}
    for name in STRING_KEYS:
        value = settings.get(name)
        if value is not None and not isinstance(value, str):
            raise DuplicatiError('Agent setting %s must be a string, not %s' % (name, type(value).__name__))
        result[name] = value
    certs = settings.get('serverCertificates')
    if certs is not None:
        if not isinstance(certs, (list, tuple)):
            raise DuplicatiError('Agent setting serverCertificates must be a list of certificates')
        normalized = []
        for index, cert in enumerate(certs):
            if not isinstance(cert, dict):
                raise DuplicatiError('Agent setting serverCertificates[%d] must be a dict' % index)
            item = {}
            for name in CERTIFICATE_KEYS:
                value = cert.get(name)
                if value is not None and not isinstance(value, str):
                    raise DuplicatiError('Agent setting serverCertificates[%d].%s must be a string' % (index, name))
                if name in ('obtained', 'expiry'):
                    value = format_datetimeoffset(value if value is not None else DEFAULT_DATETIMEOFFSET)
                item[name] = value
            normalized.append(item)
        certs = normalized
    result['serverCertificates'] = certs
    return result


def _encrypt_if_possible(value, passphrase):
    # Settings.EncryptFieldIfPossible
    if passphrase is None:
        return value
    if value is None:
        return None
    if value.strip() == '':
        return ''
    return _encrypted_field().encrypt_field(value, passphrase)


def render_agent_settings(settings, passphrase=None, newline='\n'):
    """The exact text ``Settings.Save`` writes (``newline`` is '\\r\\n' for an agent on Windows).

    With a passphrase of 8+ characters ``jwt`` and ``settingsEncryptionKey`` become enc-v1
    values (each save draws a new IV, so the text differs between calls); a blacklisted
    passphrase writes them in plain text, like Duplicati.
    """
    passphrase = check_passphrase(passphrase)
    if passphrase is not None and _encrypted_field().is_blacklisted_key(passphrase):
        passphrase = None
    values = normalize_agent_settings(settings)
    for name in ENCRYPTED_KEYS:
        values[name] = _encrypt_if_possible(values[name], passphrase)
    doc = {}
    for name in SETTINGS_KEYS:
        value = values[name]
        if value is None:
            continue
        if name == 'serverCertificates':
            value = [dict((k, dotnet_json.RawString(c[k]) if k in ('obtained', 'expiry') else c[k])
                          for k in CERTIFICATE_KEYS if c[k] is not None) for c in value]
        doc[name] = value
    return dotnet_json.dumps(doc, indent=True, newline=newline)


def save_agent_settings(path, settings, passphrase=None, owner=None, group=None, mode=0o600, newline='\n'):
    """Write agent.json atomically with mode 0600 (and owner/group when given)."""
    text = render_agent_settings(settings, passphrase, newline)
    write_atomic(path, text.encode('utf-8'), mode=mode, owner=owner, group=group)


# --- Certificates --------------------------------------------------------------------------------

def certificate_expiry(settings):
    """The latest ``expiry`` of ``serverCertificates`` as an aware datetime, or None without certificates."""
    latest = None
    for cert in (settings or {}).get('serverCertificates') or []:
        expiry = cert.get('expiry') if isinstance(cert, dict) else None
        if not expiry:
            continue
        value = parse_datetimeoffset(expiry)[0]
        if latest is None or value > latest:
            latest = value
    return latest
