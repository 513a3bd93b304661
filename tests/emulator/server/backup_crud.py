# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Creating and updating a backup from its JSON form: ``POST backups`` and ``PUT backup/{id}``.

* ``read_input``: binding of ``Dto.BackupAndScheduleInputDto`` by System.Text.Json with the
  web defaults (member names case-insensitive, ``DayOfWeekStringEnumConverter`` for
  ``AllowedDays``, ISO 8601 ``DateTime``). A body that does not bind is a 400 with an empty
  body, as the minimal API answers it (``BindingFailed``).
* ``add``: ``BackupListService.Add`` — name conflict (409), ``Connection.ValidateBackup``
  (400), then ``Connection.AddOrUpdateBackupAndSchedule``; any other failure is a 500
  ``Unable to save schedule or backup object: …``. Returns ``CreateBackupDto`` (``{ID, Temporary}``).
* ``put``: ``BackupPutDelete.ExecutePut`` — ``Backup`` missing (400), name conflict with
  another backup (409), ``Backup.UnmaskSensitiveInformation`` (placeholders take the stored
  values back), ``ValidateBackup`` (400), then the update; other failures are a 500
  ``Unable to save backup or schedule: …``. The update keeps ``DBPath``, keeps the metadata
  when none is sent, and keeps ``LastRun`` and the rest of ``Rule`` of an existing schedule
  (``Connection.AddOrUpdateBackup``).
"""

import datetime
import re

from . import backup_config
from .database import is_password_field, to_epoch

_DAYS = {'sun': 'Sunday', 'mon': 'Monday', 'tue': 'Tuesday', 'wed': 'Wednesday', 'thu': 'Thursday', 'fri': 'Friday', 'sat': 'Saturday'}
_ISO = re.compile(r'^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?(Z|[+-]\d{2}:\d{2})?$')


class BindingFailed(Exception):
    """The body does not bind to the DTO: the minimal API answers 400 with an empty body."""


class UserError(Exception):
    """A ``UserReportedHttpException`` (BadRequestException 400, ConflictException 409, ...)."""

    def __init__(self, status, message):
        super(UserError, self).__init__(message)
        self.status = status
        self.message = message


def _member(obj, name):
    """System.Text.Json with ``JsonSerializerDefaults.Web``: member names match case-insensitively."""
    for key, value in obj.items():
        if key.lower() == name.lower():
            return True, value
    return False, None


def _typed(obj, name, kind, default=None):
    found, value = _member(obj, name)
    if not found or value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BindingFailed(name)
    return value


def _strings(obj, name):
    value = _typed(obj, name, list)
    if value is None:
        return None
    if any(item is not None and not isinstance(item, str) for item in value):
        raise BindingFailed(name)
    return value


def parse_datetime(text):
    """System.Text.Json ``DateTime``: ISO 8601; with ``Z`` or an offset it is converted to UTC, without
    one it is local time (``DateTimeKind.Unspecified``, which ``NormalizeDateTime`` reads as local)."""
    match = _ISO.match(text or '')
    if not match:
        raise BindingFailed('Time')
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        value = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        raise BindingFailed('Time')
    if zone is None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)  # naive = local time
    if zone != 'Z':
        sign = 1 if zone[0] == '+' else -1
        value -= sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return value  # seconds are floored by NormalizeDateTime: the fraction is dropped


def _day(value):
    """DayOfWeekStringEnumConverter.Read."""
    if not isinstance(value, str):
        raise BindingFailed('AllowedDays')
    low = value.strip().lower()
    for short, full in _DAYS.items():
        if low in (short, full.lower()):
            return full
    raise BindingFailed('AllowedDays')


def read_input(payload):
    """``BackupAndScheduleInputDto`` from the bound body (top-level keys already lower-case).

    Returns ``(backup, schedule)``; ``backup`` is None when the body has ``"Backup": null``.
    """
    if 'backup' not in payload:
        raise BindingFailed('Backup')  # a required member
    raw = payload['backup']
    if raw is not None and not isinstance(raw, dict):
        raise BindingFailed('Backup')
    backup = None
    if raw is not None:
        settings = []
        for item in _typed(raw, 'Settings', list) or []:
            if not isinstance(item, dict) or not isinstance(_member(item, 'Name')[1], str):
                raise BindingFailed('Settings')  # SettingInputDto.Name is required
            settings.append({'Filter': _typed(item, 'Filter', str) or '', 'Name': _member(item, 'Name')[1],
                             'Value': _typed(item, 'Value', str), 'Argument': None})
        filters = []
        for item in _typed(raw, 'Filters', list) or []:
            if not isinstance(item, dict):
                raise BindingFailed('Filters')
            filters.append({'Order': _typed(item, 'Order', int, 0), 'Include': _typed(item, 'Include', bool, False),
                            'Expression': _typed(item, 'Expression', str)})
        metadata = _typed(raw, 'Metadata', dict)
        if metadata is not None and any(not isinstance(v, str) for v in metadata.values()):
            raise BindingFailed('Metadata')
        operation = _typed(raw, 'OperationType', str, 'Backup')
        if operation not in ('Backup', 'Sync'):
            raise BindingFailed('OperationType')  # JsonStringEnumConverter
        backup = {
            'ID': None, 'ExternalID': None, 'Name': _typed(raw, 'Name', str, ''), 'Description': _typed(raw, 'Description', str, ''),
            'Tags': _strings(raw, 'Tags'), 'TargetURL': _typed(raw, 'TargetURL', str, ''),
            'ConnectionStringID': _typed(raw, 'ConnectionStringID', int, -1), 'OperationType': operation,
            'Sources': _strings(raw, 'Sources'), 'Settings': settings, 'Filters': filters, 'Metadata': metadata,
            'AdditionalTargetURLs': _typed(raw, 'AdditionalTargetURLs', list) or [],
        }
    schedule = None
    raw = payload.get('schedule')
    if raw is not None:
        if not isinstance(raw, dict):
            raise BindingFailed('Schedule')
        time_text, last_text = _typed(raw, 'Time', str), _typed(raw, 'LastRun', str)
        days = _typed(raw, 'AllowedDays', list)
        schedule = {
            'ID': _typed(raw, 'ID', int, 0), 'Tags': _strings(raw, 'Tags'),
            'Time': parse_datetime(time_text) if time_text is not None else datetime.datetime(1, 1, 1),
            'Repeat': _typed(raw, 'Repeat', str),
            'LastRun': parse_datetime(last_text) if last_text is not None else datetime.datetime(1, 1, 1),
            'Rule': set_allowed_days(_typed(raw, 'Rule', str), None if days is None else [_day(d) for d in days]),
        }
    return backup, schedule


def set_allowed_days(rule, days):
    """The ``Schedule.AllowedDays`` setter: the rule without ``AllowedWeekDays=``, plus it when days are given."""
    parts = [p for p in (rule or '').split(';') if p and not p.lower().startswith('allowedweekdays=')]
    if days:
        parts.append('AllowedWeekDays=' + ','.join(dict.fromkeys(days)))
    return ';'.join(dict.fromkeys(parts))


def allowed_days(rule):
    """The ``Schedule.AllowedDays`` getter (day names as the rule holds them), or None."""
    for part in (rule or '').split(';'):
        if part.lower().startswith('allowedweekdays='):
            return [d for d in part[len('AllowedWeekDays='):].split(',') if d]
    return None


def _epoch(moment):
    """NormalizeDateTimeToEpochSeconds; DateTime(0) is stored as its (negative) distance to the epoch."""
    return to_epoch(moment.replace(microsecond=0))


def _unmask_url(url, previous):
    """QuerystringMasking.Unmask(new, [previous])."""
    if not url:
        raise ValueError('newUrl is null or empty')
    base, query = backup_config.split_query(url)
    if not query or not query.strip():
        return url
    grouped = backup_config.parse_query(query)
    prev = dict((k.lower(), v) for k, v in backup_config.parse_query(backup_config.split_query(previous or '')[1] or ''))
    modified = False
    for entry in grouped:
        if any(backup_config.is_placeholder(v) for v in entry[1]):
            values = prev.get(entry[0].lower())
            if not values:
                raise ValueError("Missing previous value for protected parameter '%s'." % entry[0])
            entry[1] = list(values)
            modified = True
    if not modified:
        return url
    rebuilt = backup_config.build_query(grouped)
    return base + ('?' + rebuilt if rebuilt else '')


def unmask(backup, existing):
    """Backup.UnmaskSensitiveInformation (TargetURL and settings; special sources are not modelled)."""
    backup['TargetURL'] = _unmask_url(backup['TargetURL'], existing['TargetURL'])
    previous = dict(((s['Name'] or '').lower(), s['Value']) for s in existing['Settings'])
    for setting in backup['Settings']:
        if backup_config.is_placeholder(setting['Value']):
            if (setting['Name'] or '').lower() not in previous:
                raise ValueError("Cannot unmask setting '%s' because it did not exist in the previous configuration." % setting['Name'])
            setting['Value'] = previous[(setting['Name'] or '').lower()]


def _conflict(db, name, own_id=None):
    return any((b['Name'] or '').lower() == (name or '').lower() and b['ID'] != own_id for b in db.list_backups())


def add(db, payload, temporary=False):
    """BackupListService.Add: the new backup's ID."""
    backup, schedule = read_input(payload)
    try:
        if backup is None:
            raise UserError(400, 'Data object had no backup entry')
        if backup['Metadata'] is None:
            backup['Metadata'] = {}
        if temporary:
            raise RuntimeError('temporary backups are not modelled by this emulator')
        with db.lock:
            if _conflict(db, backup['Name']):
                raise UserError(409, 'There already exists a backup with the name: %s' % backup['Name'])
            err = backup_config.validate_backup(backup, schedule)
            if err:
                raise UserError(400, err)
            return db.add_backup(backup, schedule)
    except UserError:
        raise
    except Exception as exc:  # pylint: disable=broad-except
        raise UserError(500, 'Unable to save schedule or backup object: %s' % exc)


def put(db, backup_id, payload):
    """BackupPutDelete.ExecutePut. The body binds before the handler looks the backup up (GetBackup: 404)."""
    backup, schedule = read_input(payload)
    existing = db.get_backup(backup_id)
    if existing is None:
        raise UserError(404, 'Backup not found')
    if backup is None:
        raise UserError(400, 'No backup data found in request body')
    backup['ID'] = existing['ID']
    try:
        with db.lock:
            if _conflict(db, backup['Name'], existing['ID']):
                raise UserError(409, 'There already exists a backup with the name: %s' % backup['Name'])
            unmask(backup, existing)
            err = backup_config.validate_backup(backup, schedule)
            if err:
                raise UserError(400, err)
            _update(db, backup, schedule)
    except UserError:
        raise
    except Exception as exc:  # pylint: disable=broad-except
        raise UserError(500, 'Unable to save backup or schedule: %s' % exc)


def _update(db, backup, schedule):
    """Connection.AddOrUpdateBackup for an existing backup, in one transaction."""
    lid = int(backup['ID'])
    statements = [('UPDATE "Backup" SET "Name"=?, "Description"=?, "Tags"=?, "TargetURL"=?, "OperationType"=? WHERE "ID"=?',
                   (backup['Name'], backup['Description'] or '', ','.join(backup['Tags'] or []), db.cipher.encrypt(backup['TargetURL']),
                    backup['OperationType'], lid))]
    statements.append(('DELETE FROM "Source" WHERE "BackupID" = ?', (lid,)))
    for path in backup['Sources'] or []:
        statements.append(('INSERT INTO "Source" ("BackupID", "Path") VALUES (?, ?)',
                           (lid, db.cipher.encrypt(path) if backup_config.is_special_source(path) else path)))
    statements.append(('DELETE FROM "Option" WHERE "BackupID" = ?', (lid,)))
    for setting in backup['Settings']:
        value = setting['Value'] or ''
        statements.append(('INSERT INTO "Option" ("BackupID", "Filter", "Name", "Value") VALUES (?, ?, ?, ?)',
                           (lid, setting['Filter'] or '', setting['Name'], db.cipher.encrypt(value) if is_password_field(setting['Name']) else value)))
    statements.append(('DELETE FROM "Filter" WHERE "BackupID" = ?', (lid,)))
    for flt in backup['Filters']:
        statements.append(('INSERT INTO "Filter" ("BackupID", "Order", "Include", "Expression") VALUES (?, ?, ?, ?)',
                           (lid, flt['Order'], 1 if flt['Include'] else 0, flt['Expression'] or '')))
    if backup['Metadata'] is not None:  # "Don't update the metadata if no new content is given"
        statements.append(('DELETE FROM "Metadata" WHERE "BackupID" = ?', (lid,)))
        statements.extend(('INSERT INTO "Metadata" ("BackupID", "Name", "Value") VALUES (?, ?, ?)', (lid, k, v))
                          for k, v in backup['Metadata'].items())
    current = db.schedule_for(backup['ID'])
    tag = 'ID=%d' % lid
    if schedule is None and current is not None:
        statements.append(('DELETE FROM "Schedule" WHERE "ID" = ?', (current['ID'],)))
    elif schedule is not None and current is not None:
        # cur.AllowedDays = schedule.AllowedDays; Repeat, Tags and Time replaced; LastRun and the rest of Rule kept
        days = allowed_days(schedule['Rule'])
        statements.append(('UPDATE "Schedule" SET "Tags"=?, "Time"=?, "Repeat"=?, "Rule"=? WHERE "ID"=?',
                           (tag, _epoch(schedule['Time']), schedule['Repeat'] or '', set_allowed_days(current['Rule'], days), current['ID'])))
    elif schedule is not None:
        statements.append(('INSERT INTO "Schedule" ("Tags", "Time", "Repeat", "LastRun", "Rule") VALUES (?, ?, ?, ?, ?)',
                           (tag, _epoch(schedule['Time']), schedule['Repeat'] or '', _epoch(schedule['LastRun']), schedule['Rule'] or '')))
    db._write(statements)  # pylint: disable=protected-access


__all__ = ['BindingFailed', 'UserError', 'add', 'put', 'read_input', 'set_allowed_days']
