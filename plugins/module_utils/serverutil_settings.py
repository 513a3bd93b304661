# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ServerUtil's ``settings.json``: stored refresh tokens per server URL.

Mirrors ``Duplicati/CommandLine/ServerUtil/Settings.cs``: a JSON array written by
System.Text.Json with default options (PascalCase names, compact, nulls written,
names read case-sensitively) of ``{RefreshToken, RefreshNonce, HostUrl,
ServerDatafolder}``.  Entries are matched by .NET ``Uri`` equality of ``HostUrl``.
Only ``RefreshToken`` is encrypted (``enc-v1:``) with ``--settings-encryption-key``.

Entries are dicts with those four keys; ``RefreshToken`` in a loaded entry is decrypted.
"""


import os
import re

from ansible_collections.duplicati.fleet.plugins.module_utils import dotnet_json
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import write_atomic
from ansible_collections.duplicati.fleet.plugins.module_utils.data_folder import (
    SERVERUTIL_SETTINGS_FILENAME,
    default_file_path,
    normalize_os,
)
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import (
    DuplicatiError,
    EncryptedFieldKeyMismatchError,
    EncryptedFieldKeyMissingError,
)

ENTRY_KEYS = ('RefreshToken', 'RefreshNonce', 'HostUrl', 'ServerDatafolder')
DEFAULT_HOST_URL = 'http://127.0.0.1:8200'
MIN_KEY_LENGTH = 8

WARNING_NO_KEY = 'Warning: The encryption key is missing, saving login token without encryption'
WARNING_BLACKLISTED_KEY = 'Warning: The current encryption key is blacklisted and cannot be used, saving login token without encryption'

_DEFAULT_PORTS = {'http': 80, 'https': 443, 'ws': 80, 'wss': 443, 'ftp': 21}
_UNRESERVED = re.compile(r'[A-Za-z0-9\-._~]')
_URL_RE = re.compile(r'^([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$')


def _encrypted_field():
    from ansible_collections.duplicati.fleet.plugins.module_utils import encrypted_field
    return encrypted_field


def check_key(key):
    """``KeyInstance.CreateKeyIfValid``: None for blank, an error if shorter than 8 characters."""
    if key is None or str(key).strip() == '':
        return None
    if len(key.encode('utf-16-le', 'surrogatepass')) // 2 < MIN_KEY_LENGTH:
        raise DuplicatiError('The settings encryption key is not usable: Key must be at least 8 characters long',
                             hint='Use a key of at least 8 characters (SETTINGS_ENCRYPTION_KEY).')
    return key


def default_settings_path(os_name, args=None, env=None, home=None, install_dir=None, exists=None, cwd='/'):
    """Where ServerUtil keeps settings.json by default (same folder logic as agent.json; nothing is created)."""
    return default_file_path(SERVERUTIL_SETTINGS_FILENAME, normalize_os(os_name), args, env, home, install_dir, exists, cwd)


def _normalize_path(path):
    # Percent-escapes of unreserved characters are decoded, others get upper-case hex;
    # backslashes are slashes and dot segments are removed, as System.Uri does for these schemes.
    path = path.replace('\\', '/')

    def fix(match):
        char = chr(int(match.group(1), 16))
        return char if _UNRESERVED.match(char) else '%' + match.group(1).upper()
    path = re.sub(r'%([0-9A-Fa-f]{2})', fix, path)
    segments = []
    for segment in path.split('/')[1:] if path.startswith('/') else path.split('/'):
        if segment == '.':
            continue
        if segment == '..':
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    if path.endswith(('/.', '/..')):
        segments.append('')
    return '/' + '/'.join(segments)


def uri_key(url):
    """A comparison key with .NET ``Uri.Equals`` semantics for absolute URLs.

    Scheme and host are case-insensitive, a default port equals no port, an empty path is
    ``/``, user info and fragment are ignored; path and query stay case-sensitive
    (so ``http://h/a`` and ``http://h/a/`` differ, as in .NET).
    Strings that are not absolute URLs compare as they are.
    """
    if url is None:
        return None
    text = url.strip()
    m = _URL_RE.match(text)
    if not m:
        return ('raw', url)
    scheme, authority, path, query, dummy = m.groups()
    scheme = scheme.lower()
    hostport = authority.rsplit('@', 1)[-1]
    port = None
    if hostport.startswith('['):
        end = hostport.find(']')
        host = hostport[:end + 1]
        rest = hostport[end + 1:]
        if rest.startswith(':') and rest[1:]:
            port = rest[1:]
    elif ':' in hostport:
        host, port = hostport.rsplit(':', 1)
    else:
        host = hostport
    host = host.lower().rstrip('.') if not host.startswith('[') else host.lower()
    if port is not None:
        if not port.isdigit():
            return ('raw', url)
        port = int(port)
    if port == _DEFAULT_PORTS.get(scheme):
        port = None
    return (scheme, host, port, _normalize_path(path or '/'), query or '')


def same_host_url(a, b):
    """True if two HostUrl values are equal as .NET ``Uri`` objects."""
    if a is None or b is None:
        return False
    return uri_key(a) == uri_key(b)


def _decrypt_token(value, key, source, host):
    if value is None or not value.startswith('enc-v1:'):
        return value
    try:
        return _encrypted_field().decrypt_field(value, key)
    except EncryptedFieldKeyMissingError:
        raise DuplicatiError('%s: the stored login token for %s is encrypted, but no settings encryption key was given' % (source, host),
                             url=source, hint='Give the key ServerUtil used (--settings-encryption-key or SETTINGS_ENCRYPTION_KEY).')
    except EncryptedFieldKeyMismatchError:
        raise DuplicatiError('%s: the stored login token for %s was encrypted with a different settings encryption key' % (source, host),
                             url=source, hint='Give the key ServerUtil used (--settings-encryption-key or SETTINGS_ENCRYPTION_KEY).')


def parse_serverutil_settings(text, key=None, source='settings.json'):
    """Parse settings.json text like ``Settings.LoadSettings``; returns a list of entry dicts (tokens decrypted)."""
    key = check_key(key)
    doc = dotnet_json.loads(text, source)
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise DuplicatiError('%s is not a valid ServerUtil settings file: the top level must be a JSON array' % source, url=source)
    entries = []
    for index, item in enumerate(doc):
        if item is None:
            raise DuplicatiError('%s is not a valid ServerUtil settings file: entry %d is null' % (source, index), url=source)
        if not isinstance(item, dict):
            raise DuplicatiError('%s is not a valid ServerUtil settings file: entry %d must be an object' % (source, index), url=source)
        entry = {}
        for name in ENTRY_KEYS:
            value = item.get(name)  # names are case-sensitive, as ServerUtil reads them
            if value is not None and not isinstance(value, str):
                raise DuplicatiError('%s is not a valid ServerUtil settings file: entry %d: %s must be a string' % (source, index, name),
                                     url=source)
            entry[name] = value
        entry['RefreshToken'] = _decrypt_token(entry['RefreshToken'], key, source, entry['HostUrl'])
        entries.append(entry)
    return entries


def load_serverutil_settings(path, key=None):
    """All entries of ``path`` ([] when the file does not exist)."""
    if not os.path.exists(path):
        check_key(key)
        return []
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as e:
        raise DuplicatiError('Cannot read %s: %s' % (path, e.strerror or e), url=path)
    return parse_serverutil_settings(data, key, source=path)


def find_entry(entries, host_url):
    """The first entry whose HostUrl equals ``host_url`` as a Uri, or None."""
    for entry in entries:
        if same_host_url(entry.get('HostUrl'), host_url):
            return entry
    return None


def upsert_entry(entries, host_url, refresh_token, refresh_nonce, server_datafolder):
    """``Settings.Save``'s list: other hosts unchanged and in order, this host's entry (re)placed last."""
    result = [dict(e) for e in entries if not same_host_url(e.get('HostUrl'), host_url)]
    result.append({'RefreshToken': refresh_token, 'RefreshNonce': refresh_nonce, 'HostUrl': host_url,
                   'ServerDatafolder': server_datafolder})
    return result


def remove_entry(entries, host_url):
    return [dict(e) for e in entries if not same_host_url(e.get('HostUrl'), host_url)]


def effective_key(key, tokens_present=True):
    """The key a save really uses, and the warning ServerUtil prints (or None)."""
    key = check_key(key)
    if key is None:
        return None, (WARNING_NO_KEY if tokens_present else None)
    if _encrypted_field().is_blacklisted_key(key):
        return None, (WARNING_BLACKLISTED_KEY if tokens_present else None)
    return key, None


def render_serverutil_settings(entries, key=None):
    """The exact text ServerUtil writes for ``entries`` (non-blank tokens encrypted when a usable key is given)."""
    key = check_key(key)
    if key is not None and _encrypted_field().is_blacklisted_key(key):
        key = None
    doc = []
    for index, entry in enumerate(entries):
        item = {}
        for name in ENTRY_KEYS:
            value = entry.get(name)
            if value is not None and not isinstance(value, str):
                raise DuplicatiError('ServerUtil settings entry %d: %s must be a string' % (index, name))
            item[name] = value
        token = item['RefreshToken']
        if key is not None and token is not None and token.strip() != '':
            item['RefreshToken'] = _encrypted_field().encrypt_field(token, key)
        doc.append(item)
    return dotnet_json.dumps(doc)


def save_serverutil_settings(path, entries, key=None, owner=None, group=None, mode=0o600):
    """Write settings.json atomically (0600).  Returns the warning ServerUtil would print, or None."""
    tokens = any(e.get('RefreshToken') and e.get('RefreshToken').strip() for e in entries)
    dummy, warning = effective_key(key, tokens)
    write_atomic(path, render_serverutil_settings(entries, key).encode('utf-8'), mode=mode, owner=owner, group=group)
    return warning
