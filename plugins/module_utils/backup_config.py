# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup configurations as the server modules show, read and compare them.

* ``describe_backup``: a ``{Backup, Schedule}`` entry of ``GET backups`` as a module
  returns it (snake_case, no target URL, no settings: those can carry credentials), with
  the statistics of ``duplicati-server-util list-backups --detailed`` on request;
* ``read_export`` / ``encode_config``: an exported configuration file (``Duplicati/WebserverCore/Endpoints/V1/Backup/BackupGet.cs``
  ``EncodeDataForExport``, ``Duplicati/Library/RestAPI/Serializable/ImportExportStructure.cs``),
  plain JSON or AES Crypt, as bytes and as a dict;
* ``same_configuration``: whether two exports hold the same configuration. The run state
  the server keeps in them (``Backup.Metadata``, ``Schedule.LastRun`` and the date of the
  next run in ``Schedule.Time``) changes with every run and does not count;
* ``summarize_config``: what a diff may show of a configuration, never a value of a
  setting or a target URL (they carry passwords).
"""


import copy
import json
import re

from ansible_collections.duplicati.fleet.plugins.module_utils.aescrypt import decrypt_bytes, is_aescrypt
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import AESCryptError, DuplicatiError

# Metadata keys list-backups --detailed prints, and how each is returned.
_DETAIL_KEYS = (
    ('last_backup_date', 'LastBackupDate', 'date'),
    ('last_backup_duration', 'LastBackupDuration', 'text'),
    ('source_files_size', 'SourceFilesSize', 'int'),
    ('target_files_size', 'TargetFilesSize', 'int'),
    ('backup_list_count', 'BackupListCount', 'int'),
)
_SERIALIZED_DATE = re.compile(r'^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$')
_ISO_TIME = re.compile(r'T(\d{2}:\d{2}(:\d{2})?)')


def _ci_get(obj, name, default=None):
    """``obj[name]`` with a case-insensitive key, as Newtonsoft reads an import."""
    if not isinstance(obj, dict):
        return default
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return default


def parse_metadata_date(value):
    """A metadata date (``Utility.SerializeDateTime``: ``20260822T010000Z``) as ISO 8601, the text itself if it is
    in another format, or None for a blank value."""
    if value is None or str(value).strip() == '':
        return None
    text = str(value).strip()
    match = _SERIALIZED_DATE.match(text)
    if not match:
        return text
    return '%s-%s-%sT%s:%s:%sZ' % match.groups()


def _as_int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def backup_details(metadata):
    """The statistics ``list-backups --detailed`` shows, parsed (None where the server has no value).

    The last error is only reported when it is newer than the last backup, as ServerUtil does.
    """
    metadata = metadata if isinstance(metadata, dict) else {}
    details = {}
    for key, source, kind in _DETAIL_KEYS:
        raw = metadata.get(source)
        if raw is None or str(raw).strip() == '':
            details[key] = None
        elif kind == 'date':
            details[key] = parse_metadata_date(raw)
        elif kind == 'int':
            details[key] = _as_int(raw)
        else:
            details[key] = str(raw)
    error_date = parse_metadata_date(metadata.get('LastErrorDate'))
    error_message = metadata.get('LastErrorMessage')
    last_backup = details['last_backup_date']
    newer = error_date is not None and (last_backup is None or error_date > last_backup)
    if newer and error_message and str(error_message).strip():
        details['last_error_date'] = error_date
        details['last_error_message'] = str(error_message)
    else:
        details['last_error_date'] = None
        details['last_error_message'] = None
    return details


def describe_schedule(schedule):
    """A schedule of the API (``{ID, Tags, Time, Repeat, LastRun, Rule, AllowedDays}``) in snake_case, or None."""
    if not isinstance(schedule, dict):
        return None
    return dict(
        id=_ci_get(schedule, 'ID'),
        tags=list(_ci_get(schedule, 'Tags') or []),
        time=_ci_get(schedule, 'Time'),
        repeat=_ci_get(schedule, 'Repeat'),
        last_run=_ci_get(schedule, 'LastRun'),
        rule=_ci_get(schedule, 'Rule'),
        allowed_days=list(_ci_get(schedule, 'AllowedDays') or []),
    )


def describe_backup(entry, detailed=False):
    """A ``{Backup, Schedule}`` entry as the modules return it (see backup_info's RETURN)."""
    backup = _ci_get(entry, 'Backup') or {}
    metadata = _ci_get(backup, 'Metadata')
    metadata = dict(metadata) if isinstance(metadata, dict) else {}
    result = dict(
        id=str(_ci_get(backup, 'ID')),
        name=_ci_get(backup, 'Name'),
        description=_ci_get(backup, 'Description') or '',
        tags=list(_ci_get(backup, 'Tags') or []),
        schedule=describe_schedule(_ci_get(entry, 'Schedule')),
        metadata=metadata,
    )
    if detailed:
        result['details'] = backup_details(metadata)
    return result


def read_export(data, passphrase=None, source='the configuration'):
    """The configuration in an exported file (bytes) as a dict: ``(config, encrypted)``.

    An encrypted file is decrypted with ``passphrase``. Raises ``DuplicatiError`` when the
    file is encrypted and no passphrase is given, the passphrase is wrong, or the content
    is not a JSON object with a ``Backup`` object.
    """
    data = bytes(data)
    encrypted = is_aescrypt(data)
    if encrypted:
        if not passphrase:
            raise DuplicatiError('%s is encrypted (AES Crypt) but no passphrase was given.' % _cap(source),
                                 hint='Set the passphrase the file was exported with.')
        try:
            data = decrypt_bytes(data, passphrase)
        except AESCryptError as err:
            raise DuplicatiError('Cannot decrypt %s: %s' % (source, err.message), hint=err.hint)
    if data.startswith(b'\xef\xbb\xbf'):
        data = data[3:]
    try:
        config = json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError) as err:
        raise DuplicatiError('%s is not a Duplicati backup configuration: it is not JSON (%s).' % (_cap(source), err))
    check_config(config, source)
    return config, encrypted


def check_config(config, source='the configuration'):
    """Raise ``DuplicatiError`` unless ``config`` is a dict in the export format (a ``Backup`` object inside)."""
    if not isinstance(config, dict) or not isinstance(_ci_get(config, 'Backup'), dict):
        raise DuplicatiError('%s is not a Duplicati backup configuration: it has no "Backup" object.' % _cap(source),
                             hint='Use a file exported from Duplicati (or backup_export), or a dict with the keys Backup and Schedule.')
    return config


def encode_config(config):
    """A configuration dict as the bytes of an unencrypted export (UTF-8 JSON)."""
    check_config(config)
    return json.dumps(config, indent=2, sort_keys=False).encode('utf-8')


def config_name(config):
    return _ci_get(_ci_get(config, 'Backup') or {}, 'Name')


def _time_of_day(value):
    match = _ISO_TIME.search(str(value or ''))
    return match.group(1) if match else value


def _comparable(config):
    """The configuration without the run state the server updates on every run."""
    config = copy.deepcopy(config)
    backup = _ci_get(config, 'Backup')
    if isinstance(backup, dict):
        for key in list(backup):
            if key.lower() == 'metadata':
                del backup[key]
    schedule = _ci_get(config, 'Schedule')
    if isinstance(schedule, dict):
        for key in list(schedule):
            if key.lower() == 'lastrun':
                del schedule[key]
            elif key.lower() == 'time':
                schedule[key] = _time_of_day(schedule[key])
    return config


def same_configuration(first, second):
    """True if two exported configurations are the same but for the run state (metadata, last and next run date)."""
    return _comparable(first) == _comparable(second)


def _backend(url):
    """The scheme of a target URL: the kind of storage, which carries no secret."""
    match = re.match(r'^([A-Za-z][A-Za-z0-9+.\-]*)://', str(url or ''))
    return match.group(1).lower() if match else None


def summarize_config(config, encrypted=None):
    """What a diff shows of a configuration: names, sources, setting names, schedule. Never a secret."""
    if config is None:
        return {}
    backup = _ci_get(config, 'Backup') or {}
    schedule = _ci_get(config, 'Schedule')
    settings = _ci_get(backup, 'Settings') or []
    summary = dict(
        name=_ci_get(backup, 'Name'),
        description=_ci_get(backup, 'Description'),
        backend=_backend(_ci_get(backup, 'TargetURL')),
        sources=list(_ci_get(backup, 'Sources') or []),
        settings=sorted(set(str(_ci_get(s, 'Name')) for s in settings if isinstance(s, dict))),
        filters=len(_ci_get(backup, 'Filters') or []),
        schedule=None,
    )
    if isinstance(schedule, dict):
        summary['schedule'] = dict(repeat=_ci_get(schedule, 'Repeat'), time_of_day=_time_of_day(_ci_get(schedule, 'Time')),
                                   allowed_days=list(_ci_get(schedule, 'AllowedDays') or []))
    if encrypted is not None:
        summary['encrypted'] = bool(encrypted)
    return summary


def _cap(text):
    return text[:1].upper() + text[1:] if text else text
