# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup configurations on the wire: masking, password removal, export and import
(``Duplicati/WebserverCore/Endpoints/V1/Backup/BackupGet.cs``, ``Duplicati/Library/RestAPI/BackupImportExportHandler.cs``).

* ``mask_url``: ``QuerystringMasking.Mask`` — protected query values become
  ``***************`` (used by ``GET backup/{id}``).
* ``strip_url``: ``Backup.RemoveSensitiveInformation`` for a URL — protected query
  keys are removed. As in the real code the query is rebuilt from the raw pairs and
  pairs with an empty value are dropped. User info in the URL is left alone.
* ``export_structure`` / ``load_structure``: the ``ImportExportStructure`` document.
"""

import json
import re

from ..codecs import aescrypt, timeparser
from .database import PASSWORD_PLACEHOLDER, is_password_field

_URLPARAM = re.compile(r'(?P<key>[^=&]+)(=(?P<value>[^&]*))?')
_URL_MASK = re.compile(r'(\*|%2A){3,}', re.IGNORECASE)
_DAY_NAMES = ('sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday')


class ImportFailed(Exception):
    pass


def split_query(url):
    if '?' not in url:
        return url, None
    base, query = url.split('?', 1)
    return base, query


def parse_query(query):
    """UrlEncoding.ParseQueryString(query, false): ordered, case-insensitive keys, raw values."""
    from urllib.parse import unquote
    pairs = []
    for match in _URLPARAM.finditer(query):
        pairs.append([unquote(match.group('key')), match.group('value') or ''])
    grouped = []
    index = {}
    for key, value in pairs:
        low = key.lower()
        if low in index:
            grouped[index[low]][1].append(value)
        else:
            index[low] = len(grouped)
            grouped.append([key, [value]])
    return grouped


def build_query(grouped):
    """UrlEncoding.BuildUriQuery: keys with an empty (joined) value are left out."""
    parts = []
    for key, values in grouped:
        joined = ','.join(values)
        if joined:
            parts.append('%s=%s' % (key, joined))
    return '&'.join(parts)


def is_placeholder(value):
    """Connection.IsPasswordPlaceholder: more than 3 characters, all ``*``."""
    return bool(value) and len(value) > 3 and set(value) == {'*'}


_SIZE_SUFFIXES = (('tib', 1024 ** 4), ('tb', 1024 ** 4), ('gib', 1024 ** 3), ('gb', 1024 ** 3), ('mib', 1024 ** 2), ('mb', 1024 ** 2),
                  ('kib', 1024), ('kb', 1024), ('b', 1))


def parse_size(text):
    """Sizeparser.ParseSize: ``<integer>[b|kb|kib|mb|mib|gb|gib|tb|tib]`` (case-insensitive), no suffix = bytes."""
    if not text:
        return 0
    size = text.strip()
    factor = 1
    for suffix, multiple in _SIZE_SUFFIXES:
        if size.lower().endswith(suffix):
            factor, size = multiple, size[:-len(suffix)].strip()
            break
    if not re.match(r'^[+-]?\d+$', size):
        raise ValueError('Invalid size value: %s' % text)
    return factor * int(size)


def mask_url(url):
    if not url:
        return url
    base, query = split_query(url)
    if not query or not query.strip():
        return url
    grouped = parse_query(query)
    modified = False
    for entry in grouped:
        if is_password_field(entry[0]):
            entry[1] = [PASSWORD_PLACEHOLDER]
            modified = True
    if not modified:
        return url
    rebuilt = build_query(grouped)
    return base + ('?' + rebuilt if rebuilt else '')


def strip_url(url):
    if not url:
        return url
    base, query = split_query(url)
    grouped = [entry for entry in parse_query(query or '') if not is_password_field(entry[0])]
    rebuilt = build_query(grouped)
    return base + ('?' + rebuilt if rebuilt else '')


def is_special_source(source):
    return bool(source) and source.startswith('@') and '|' in source


def _map_special_source(source, func):
    if not is_special_source(source):
        return source
    prefix, url = source.split('|', 1)
    return prefix + '|' + func(url)


def mask_backup(backup):
    """Backup.MaskSensitiveInformation (on a copy)."""
    backup = dict(backup)
    backup['TargetURL'] = mask_url(backup['TargetURL'])
    backup['Sources'] = [_map_special_source(s, mask_url) for s in backup.get('Sources') or []]
    backup['Settings'] = [dict(s, Value=PASSWORD_PLACEHOLDER) if is_password_field(s['Name']) else dict(s) for s in backup.get('Settings') or []]
    return backup


def remove_sensitive_information(backup):
    """Backup.RemoveSensitiveInformation (on a copy)."""
    backup = dict(backup)
    backup['TargetURL'] = strip_url(backup['TargetURL'])
    backup['Settings'] = [dict(s) for s in backup.get('Settings') or [] if not is_password_field(s['Name'])]
    backup['Sources'] = [_map_special_source(s, strip_url) for s in backup.get('Sources') or []]
    backup['AdditionalTargetURLs'] = [dict(t, TargetUrl=strip_url(t['TargetUrl'])) for t in backup.get('AdditionalTargetURLs') or []]
    return backup


def short_day_names(days):
    """Schedule.AllowedDays (DayOfWeek names) as the DayOfWeekStringEnumConverter writes them."""
    if days is None:
        return None
    out = []
    for day in days:
        low = day.strip().lower()
        for full in _DAY_NAMES:
            if low == full or low == full[:3] or (low.isdigit() and int(low) == _DAY_NAMES.index(full)):
                out.append(full[:3])
                break
    return out


def schedule_dto(schedule):
    if schedule is None:
        return None
    return {'ID': schedule['ID'], 'Tags': schedule['Tags'], 'Time': schedule['Time'], 'Repeat': schedule['Repeat'],
            'LastRun': schedule['LastRun'], 'Rule': schedule['Rule'], 'AllowedDays': short_day_names(schedule['AllowedDays'])}


def export_structure(backup, schedule, relative_db_path, version):
    """Connection.PrepareBackupForExport as System.Text.Json writes it (declaration order)."""
    return {
        'CreatedByVersion': version,
        'Schedule': schedule_dto(schedule),
        'Backup': {
            'ID': backup['ID'], 'ExternalID': backup.get('ExternalID'), 'Name': backup['Name'], 'Description': backup['Description'],
            'Tags': backup['Tags'], 'TargetURL': backup['TargetURL'], 'DBPath': relative_db_path,
            'ConnectionStringID': backup.get('ConnectionStringID', -1), 'OperationType': backup.get('OperationType') or 'Backup',
            'Sources': backup['Sources'],
            'Settings': [{'Filter': s.get('Filter'), 'Name': s['Name'], 'Value': s['Value'], 'Argument': None} for s in backup['Settings']],
            'Filters': [{'Order': f['Order'], 'Include': f['Include'], 'Expression': f['Expression']} for f in backup['Filters']],
            'Metadata': backup.get('Metadata') or {},
            'AdditionalTargetURLs': backup.get('AdditionalTargetURLs') or [],
            'IsTemporary': False,
        },
        'DisplayNames': {},
    }


def _ci(obj, name, default=None):
    """Newtonsoft reads members case-insensitively."""
    if not isinstance(obj, dict):
        return default
    for key, value in obj.items():
        if key.lower() == name.lower():
            return value
    return default


def encrypt_export(data, passphrase):
    """AESEncryption(passphrase) with default options: an AES Crypt v2 file with the full header."""
    return aescrypt.encrypt(passphrase, data)


def load_structure(data, passphrase, import_metadata):
    """BackupImportExportHandler.LoadConfiguration. Raises ImportFailed with the message the server reports."""
    if data[:3] == b'AES':
        try:
            dummy, data = aescrypt.decrypt(passphrase or '', data)
        except aescrypt.AESCryptError as exc:
            raise ImportFailed(str(exc))
    try:
        doc = json.loads(data.decode('utf-8-sig'))
    except ValueError as exc:
        raise ImportFailed('Unexpected character encountered while parsing value: %s' % exc)
    raw = _ci(doc, 'Backup')
    if not isinstance(raw, dict):
        raise ImportFailed('No backup found in document')
    metadata = _ci(raw, 'Metadata') or {}
    backup = {
        'ID': None, 'ExternalID': _ci(raw, 'ExternalID'), 'Name': _ci(raw, 'Name'), 'Description': _ci(raw, 'Description') or '',
        'Tags': list(_ci(raw, 'Tags') or []), 'TargetURL': _ci(raw, 'TargetURL'), 'DBPath': None, 'ConnectionStringID': -1,
        'OperationType': _ci(raw, 'OperationType') or 'Backup', 'Sources': list(_ci(raw, 'Sources') or []),
        'Settings': [{'Filter': _ci(s, 'Filter') or '', 'Name': _ci(s, 'Name'), 'Value': _ci(s, 'Value'), 'Argument': None}
                     for s in _ci(raw, 'Settings') or []],
        'Filters': [{'Order': _ci(f, 'Order') or 0, 'Include': bool(_ci(f, 'Include')), 'Expression': _ci(f, 'Expression') or ''}
                    for f in _ci(raw, 'Filters') or []],
        'Metadata': dict(metadata) if import_metadata else {},
        'AdditionalTargetURLs': [], 'IsTemporary': False,
    }
    schedule = None
    raw_schedule = _ci(doc, 'Schedule')
    if isinstance(raw_schedule, dict):
        schedule = {'ID': -1, 'Tags': list(_ci(raw_schedule, 'Tags') or []), 'Time': _ci(raw_schedule, 'Time'),
                    'Repeat': _ci(raw_schedule, 'Repeat') or '', 'LastRun': _ci(raw_schedule, 'LastRun'),
                    'Rule': _ci(raw_schedule, 'Rule') or '', 'AllowedDays': _ci(raw_schedule, 'AllowedDays')}
    return {'CreatedByVersion': _ci(doc, 'CreatedByVersion'), 'Schedule': schedule, 'Backup': backup,
            'DisplayNames': _ci(doc, 'DisplayNames') or {}}


def validate_backup(backup, schedule):
    """Connection.ValidateBackup: the error text, or None. Option names are matched as the real code matches
    them: ``keep-versions``, ``keep-time``, ``dblock-size`` and ``passphrase`` without ``--``, ``--no-encryption``,
    ``--blocksize``, ``--prefix`` and ``--gpg-encryption-command`` with it."""
    if not (backup.get('Name') or '').strip():
        return 'Missing a name'
    if not (backup.get('TargetURL') or '').strip():
        return 'Missing a target'
    if _URL_MASK.search(backup['TargetURL']):
        return 'TargetURL is password placeholder value'
    settings = backup.get('Settings') or []
    if any(is_placeholder(s.get('Value')) for s in settings):
        return 'Settings is password placeholder value'
    sources = backup.get('Sources') or []
    if not sources or any(not (s or '').strip() for s in sources):
        return 'Invalid source list'
    if any(is_special_source(s) and _URL_MASK.search(s.split('|', 1)[1]) for s in sources):
        return 'Source is password placeholder value'
    disabled, passphrase, gpg = False, '', False
    for setting in settings:
        name, value = (setting.get('Name') or '').lower(), setting.get('Value') or ''
        if name == '--no-encryption':
            disabled = not value.strip() or value.strip().lower() in ('1', 'on', 'true', 'yes')
        elif name == 'passphrase':
            passphrase = value
        elif name == 'keep-versions':
            try:
                if int(value) <= 0:
                    return 'Retention value must be a positive integer'
            except ValueError:
                return 'Retention value must be a positive integer'
        elif name == 'keep-time':
            try:
                if timeparser.parse_timespan(value) <= 300:
                    return 'Retention value must be more than 5 minutes'
            except Exception:  # pylint: disable=broad-except
                return 'Retention value must be a valid timespan'
        elif name == 'dblock-size':
            try:
                if parse_size(value) < 1024 * 1024:
                    return 'DBlock size must be at least 1MB'
            except ValueError:
                return 'DBlock value must be a valid size string'
        elif name == '--blocksize':
            try:
                if not 1024 <= parse_size(value) <= 2 ** 31 - 1:
                    return 'The blocksize must be at least 1KB'
            except ValueError:
                return 'The blocksize value must be a valid size string'
        elif name == '--prefix' and '-' in value:
            return 'The prefix cannot contain hyphens (-)'
        elif name == '--gpg-encryption-command':
            gpg = value.lower() == '--encrypt'
    if backup.get('OperationType') == 'Sync':
        if not disabled:
            return 'Encryption not allowed for sync operations'
    elif not disabled and not gpg and not passphrase.strip():
        return 'Missing passphrase'
    if schedule is not None:
        try:
            if timeparser.parse_timespan(schedule.get('Repeat') or '') <= 300:
                return 'Schedule repetition time must be more than 5 minutes'
        except timeparser.TimeparserError:
            return 'Schedule repetition value must be a valid timespan'
    return None
