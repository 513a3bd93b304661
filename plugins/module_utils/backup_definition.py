# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A backup job declared as data (the ``definition`` of ``duplicati.fleet.backup``), and the server's side of it.

A *definition* is a dict::

    {description, tags, target_url, sources, passphrase, schedule: {repeat, time, allowed_days} | None,
     settings: {option: value}, filters: ['+expr' | '-expr', ...]}

* ``from_params`` / ``from_server``: the definition a task declares, and the one a backup on
  the server has (from an export with passwords, ``BackupGet.cs`` ``/export``, or the masked
  ``GET backup/{id}``);
* ``differences``: the fields that differ after the normalisation the server applies or that
  makes no difference to it (see ``_same_setting``, ``_same_schedule``);
* ``masked``: the definition as it may be shown: secret values (``secrets.is_secret_name``,
  credentials in a URL) become ``********``. A masked value given back in a task means
  "keep the value the server has" (``keep_masked``), so ``backup_info`` → edit → ``backup``
  round-trips;
* ``create_body`` / ``update_body``: the ``BackupAndScheduleInputDto`` of
  ``POST api/v1/backups`` (``BackupListService.Add``) and ``PUT api/v1/backup/{id}``
  (``BackupPutDelete.ExecutePut``). The update sends no ``Metadata`` (the server then keeps
  it, ``Connection.AddOrUpdateBackup``) and never touches ``DBPath``.

Option names: the server stores them as given; at run time ``name`` and ``--name`` set the same
option and ``--name`` wins (``Runner.ApplyOptions``). They are compared without the ``--``.
Schedule times are UTC (the server stores ``Schedule.Time`` as UTC, ``NormalizeDateTimeToEpochSeconds``).
"""

import datetime
import re
from urllib.parse import unquote

from ansible_collections.duplicati.fleet.plugins.module_utils import backups
from ansible_collections.duplicati.fleet.plugins.module_utils.backup_config import read_export
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError, TimespanError
from ansible_collections.duplicati.fleet.plugins.module_utils.redaction import MASK
from ansible_collections.duplicati.fleet.plugins.module_utils.secrets import is_secret_name, is_secret_query_name, mask_urls
from ansible_collections.duplicati.fleet.plugins.module_utils.server_database import parse_bool
from ansible_collections.duplicati.fleet.plugins.module_utils.timespan import parse_timespan
from ansible_collections.duplicati.fleet.plugins.module_utils.transport import quote_segment

CHANGED_MASK = MASK + ' (changed)'
# Connection.PASSWORD_PLACEHOLDER: what GET backup/{id} shows for a password, and what PUT takes back as "unchanged"
SERVER_PLACEHOLDER = '*' * 15
DAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')
_DAY_NAMES = dict([(d, d) for d in DAYS] + [(full, full[:3]) for full in
                  ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday')]
                  + [(str(i), d) for i, d in enumerate(('sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'))])
_SIZE = re.compile(r'^\s*(\d+)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)\s*$', re.IGNORECASE)
_SIZE_FACTORS = {'b': 1, 'kb': 1024, 'kib': 1024, 'mb': 1024 ** 2, 'mib': 1024 ** 2, 'gb': 1024 ** 3, 'gib': 1024 ** 3,
                 'tb': 1024 ** 4, 'tib': 1024 ** 4}
_TIME = re.compile(r'^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}:?\d{2})?$', re.IGNORECASE)
_URL = re.compile(r'^(?P<scheme>[^:/?]+://)(?P<authority>[^/?]*)(?P<path>[^?]*)(?:\?(?P<query>.*))?$', re.DOTALL)
_ISO_TIME = re.compile(r'T(\d{2}):(\d{2}):(\d{2})')
_DAY_SECONDS = 86400
FIELDS = ('description', 'tags', 'target_url', 'sources', 'passphrase', 'schedule', 'settings', 'filters')


def option_key(name):
    """The option a setting name sets: ``--dblock-size`` and ``dblock-size`` are the same option."""
    name = str(name)
    return (name[2:] if name.startswith('--') else name).lower()


def _text(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return value if isinstance(value, str) else str(value)


def _ci(obj, name, default=None):
    if not isinstance(obj, dict):
        return default
    for key, value in obj.items():
        if str(key).lower() == name.lower():
            return value
    return default


# -- schedule ------------------------------------------------------------------
def _repeat_seconds(repeat):
    try:
        return parse_timespan(repeat)
    except TimespanError:
        return None


def _keeps_time_of_day(repeat):
    """DSTAwareParseTimeInterval keeps the time of day unless the interval has s, m or h parts (or is bare seconds)."""
    return bool(repeat) and not re.search(r'[smh]', repeat) and not re.match(r'^\s*[+-]?\d+\s*$', repeat)


def parse_time(text):
    """``HH:MM[:SS]`` with an optional ``Z`` or ``+HH:MM`` offset, as seconds after midnight UTC."""
    match = _TIME.match(str(text).strip())
    if not match:
        raise DuplicatiError('Invalid schedule time %r.' % (text,), hint='Give a time of day like 02:00 (UTC) or 02:00+01:00.')
    hour, minute, second, zone = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0), match.group(4)
    if hour > 23 or minute > 59 or second > 59:
        raise DuplicatiError('Invalid schedule time %r.' % (text,), hint='Give a time of day like 02:00 (UTC).')
    seconds = hour * 3600 + minute * 60 + second
    if zone and zone.upper() != 'Z':
        digits = zone[1:].replace(':', '')
        offset = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        seconds -= offset if zone[0] == '+' else -offset
    return seconds % _DAY_SECONDS


def format_time(seconds):
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return '%02d:%02d' % (hours, minutes) if not secs else '%02d:%02d:%02d' % (hours, minutes, secs)


def _days(values, source):
    if values is None:
        return None
    days = set()
    for value in values:
        day = _DAY_NAMES.get(str(value).strip().lower())
        if day is None:
            raise DuplicatiError('Invalid day %r in %s.' % (value, source), hint='Use mon, tue, wed, thu, fri, sat or sun.')
        days.add(day)
    # no day and every day mean the same to the scheduler (Scheduler.IsDateAllowed)
    return None if not days or len(days) == 7 else [d for d in DAYS if d in days]


def _schedule(repeat, time, allowed_days, source):
    if not repeat:
        raise DuplicatiError('The schedule in %s has no repeat.' % source, hint='Set repeat, for example 1D.')
    return dict(repeat=str(repeat), time=None if time is None else format_time(parse_time(time)), allowed_days=_days(allowed_days, source))


def _same_schedule(first, second):
    if first is None or second is None:
        return first is None and second is None
    if first['allowed_days'] != second['allowed_days']:
        return False
    a, b = first['repeat'], second['repeat']
    if a != b and (_repeat_seconds(a) is None or _repeat_seconds(a) != _repeat_seconds(b) or _keeps_time_of_day(a) != _keeps_time_of_day(b)):
        return False
    if first['time'] is None or second['time'] is None:
        return True  # the time of day is not declared
    # The server moves Schedule.Time to the next run after each run: only the time of day that stays
    # the same from run to run can be compared.
    period = _repeat_seconds(a) or _DAY_SECONDS
    t1, t2 = parse_time(first['time']), parse_time(second['time'])
    if period % _DAY_SECONDS == 0 or _keeps_time_of_day(a):
        return t1 == t2
    if _DAY_SECONDS % period == 0:
        return t1 % period == t2 % period
    return True


def next_run(time_text, now=None):
    """The next moment (UTC, ISO 8601 with Z) at the declared time of day, as Schedule.Time."""
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    seconds = parse_time(time_text) if time_text is not None else 0
    moment = datetime.datetime(now.year, now.month, now.day) + datetime.timedelta(seconds=seconds)
    if moment <= now:
        moment += datetime.timedelta(days=1)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


# -- definitions -----------------------------------------------------------------
def _filters(values, source):
    result = []
    for value in values or []:
        value = _text(value)
        if len(value) < 2 or value[0] not in '+-':
            raise DuplicatiError('Invalid filter %r in %s.' % (value, source),
                                 hint='Start each filter with + (include) or - (exclude), for example "-*.tmp".')
        result.append(value)
    return result


def _tags(values):
    """The tags as the server keeps them: it stores them joined with ',' and splits them without the empty ones
    (``Connection.AddOrUpdateBackup``, ``GetBackup``), so "a,b" is two tags and "" none."""
    return [piece for value in values or [] for piece in _text(value).split(',') if piece]


def from_params(definition):
    """The definition a task declares (the module's ``definition`` option, already type-checked)."""
    source = 'the definition'
    settings = {}
    seen = {}
    for name, value in (definition.get('settings') or {}).items():
        key = option_key(name)
        if key in seen:
            raise DuplicatiError('The settings %r and %r in %s set the same option.' % (seen[key], name, source),
                                 hint='Give each option once, with or without the leading --.')
        if key == 'passphrase':
            raise DuplicatiError('Give the passphrase as definition.passphrase, not as a setting.')
        if isinstance(value, (dict, list)):
            raise DuplicatiError('The setting %s in %s is a %s; a Duplicati option takes a text value.'
                                 % (name, source, 'dict' if isinstance(value, dict) else 'list'),
                                 hint='Give the value as text (for example several paths joined as the option reads them).')
        seen[key] = name
        settings[str(name)] = _text(value)
    schedule = definition.get('schedule')
    if schedule is not None:
        schedule = _schedule(schedule.get('repeat'), schedule.get('time'), schedule.get('allowed_days'), source)
    return dict(
        description=_text(definition.get('description')),
        tags=_tags(definition.get('tags')),
        target_url=_text(definition.get('target_url')),
        sources=[_text(s) for s in definition.get('sources') or []],
        passphrase=definition.get('passphrase') or None,
        schedule=schedule,
        settings=settings,
        filters=_filters(definition.get('filters'), source),
    )


def from_server(entry):
    """The definition of a ``{Backup, Schedule}`` document (an export, or ``GET backup/{id}``)."""
    backup = _ci(entry, 'Backup') or {}
    settings, passphrase = {}, None
    for setting in _ci(backup, 'Settings') or []:
        name, value = _text(_ci(setting, 'Name')), _text(_ci(setting, 'Value'))
        if option_key(name) == 'passphrase':
            if passphrase is None or name.startswith('--'):
                passphrase = value or None
        else:
            settings[name] = value
    filters = sorted(_ci(backup, 'Filters') or [], key=lambda f: _ci(f, 'Order') or 0)
    raw = _ci(entry, 'Schedule')
    schedule = None
    if isinstance(raw, dict):
        match = _ISO_TIME.search(_text(_ci(raw, 'Time')))
        schedule = dict(repeat=_text(_ci(raw, 'Repeat')), time=format_time(int(match.group(1)) * 3600 + int(match.group(2)) * 60 + int(match.group(3)))
                        if match else None, allowed_days=_days(_ci(raw, 'AllowedDays'), 'the server\'s schedule'))
    return dict(
        description=_text(_ci(backup, 'Description')),
        tags=[_text(t) for t in _ci(backup, 'Tags') or []],
        target_url=_text(_ci(backup, 'TargetURL')),
        sources=[_text(s) for s in _ci(backup, 'Sources') or []],
        passphrase=passphrase,
        schedule=schedule,
        settings=settings,
        filters=[('+' if _ci(f, 'Include') else '-') + _text(_ci(f, 'Expression')) for f in filters],
    )


def check(name, definition, operation_type=None):
    """Refuse, before any request, what ``Connection.ValidateBackup`` refuses for the fields a definition sets
    (same messages), so that check mode tells it too. ``operation_type``: the ``OperationType`` of the backup
    that is updated (a new one is a ``Backup``). The size and retention settings are left to the server."""
    def refuse(message):
        raise DuplicatiError('The backup %s would be refused by the server: %s.' % (name, message), hint='Fix the definition.')
    if not name.strip():
        refuse('Missing a name')
    if not definition['target_url'].strip():
        refuse('Missing a target')
    if not definition['sources'] or any(not source.strip() for source in definition['sources']):
        refuse('Invalid source list')
    settings = dict((str(key).lower(), value) for key, value in definition['settings'].items())
    disabled = '--no-encryption' in settings and (not settings['--no-encryption'].strip() or parse_bool(settings['--no-encryption']))
    gpg = settings.get('--gpg-encryption-command', '').lower() == '--encrypt'
    if str(operation_type).lower() == 'sync':
        if not disabled:
            refuse('Encryption not allowed for sync operations')
    elif not disabled and not gpg and not (definition['passphrase'] or '').strip():
        refuse('Missing passphrase')
    if definition['schedule'] is not None:
        seconds = _repeat_seconds(definition['schedule']['repeat'])
        if seconds is None:
            refuse('Schedule repetition value must be a valid timespan')
        if seconds <= 300:
            refuse('Schedule repetition time must be more than 5 minutes')


def _size(value):
    match = _SIZE.match(value)
    return int(match.group(1)) * _SIZE_FACTORS[match.group(2).lower()] if match else None


def _same_setting(first, second):
    """Equal values, or the same size (Sizeparser: 50mb = 50MB = 51200kb) or duration (Timeparser: 1W = 7D)."""
    if first == second:
        return True
    if _size(first) is not None:
        return _size(first) == _size(second)
    if re.match(r'^(\d+[smhDWMY])+$', first) and re.match(r'^(\d+[smhDWMY])+$', second):
        return _repeat_seconds(first) == _repeat_seconds(second)
    return False


def _effective_settings(settings):
    """{option: value} as the run sees it: ``--name`` overrides ``name``."""
    result = {}
    for name in sorted(settings, key=lambda n: n.startswith('--')):
        result[option_key(name)] = settings[name]
    return result


def differences(desired, current):
    """The names of the fields that differ (``settings.<option>`` for one option)."""
    changed = []
    for field in ('description', 'tags', 'target_url', 'sources', 'passphrase', 'filters'):
        wanted, have = desired[field] or None, current[field] or None
        if field == 'sources' and wanted and have:
            # the server reads sources back without an order (Connection.GetSources); filters by their Order
            wanted, have = sorted(wanted), sorted(have)
        if wanted != have:
            changed.append(field)
    if not _same_schedule(desired['schedule'], current['schedule']):
        changed.append('schedule')
    wanted, have = _effective_settings(desired['settings']), _effective_settings(current['settings'])
    for key in sorted(set(wanted) | set(have)):
        if key not in wanted or key not in have or not _same_setting(wanted[key], have[key]):
            changed.append('settings.' + key)
    return changed


# -- secrets ---------------------------------------------------------------------
def _split_url(url):
    """(``scheme://``, authority, path, query or None) of a storage URL as Duplicati splits it
    (``RelaxedUri.URL_PARSER``): the authority ends at the first ``/`` or ``?``, the query runs to the end (a ``#``
    is no fragment: it may be part of a password). None when ``url`` has no ``scheme://``."""
    match = _URL.match(url)
    if not match:
        return None
    return match.group('scheme'), match.group('authority'), match.group('path'), match.group('query')


def _url_parts(url):
    """(user-info password, [(key, value)] of the query) of a URL, both as written (not decoded)."""
    parts = _split_url(url)
    if parts is None:
        return None, []
    dummy, authority, dummy, query = parts
    password = None
    if '@' in authority:
        userinfo = authority.rsplit('@', 1)[0]
        password = userinfo.split(':', 1)[1] if ':' in userinfo else None
    pairs = [piece.partition('=') for piece in query.split('&')] if query else []
    return password, [(key, value) for key, dummy, value in pairs]


def _url_secrets(url):
    """(user-info password, {query key: value}) of a URL, as written."""
    password, pairs = _url_parts(url)
    return password, dict(pairs)


def _replace_url_secrets(url, replace):
    """``url`` with its password and secret query values replaced by ``replace(kind, key, value)`` (values as written)."""
    parts = _split_url(url)
    if parts is None:
        return url
    scheme, authority, path, query = parts
    password, dummy = _url_parts(url)
    if password is not None:
        userinfo, host = authority.rsplit('@', 1)
        authority = '%s:%s@%s' % (userinfo.split(':', 1)[0], replace('password', None, password), host)
    pieces = []
    for piece in query.split('&') if query else []:
        key, sep, value = piece.partition('=')
        if sep and value and (is_secret_query_name(unquote(key)) or _is_masked(unquote(value))):
            value = replace('query', key, value)
        pieces.append(key + sep + value)
    return scheme + authority + path + ('' if query is None else '?' + '&'.join(pieces))


def _is_masked(value):
    # MASK from backup_info, or the server's placeholder when a definition comes from GET backup/{id}
    value = unquote(value) if value else value
    return bool(value) and len(value) > 3 and set(value) == {'*'}


def masked(definition):
    """The definition as it may be shown: every secret value is ``********``."""
    if definition is None:
        return None
    result = dict(definition)
    result['passphrase'] = MASK if definition['passphrase'] else None
    result['schedule'] = dict(definition['schedule']) if definition['schedule'] else None
    # a setting whose name is not secret may still hold a URL with credentials (send-http-url, webhooks)
    result['settings'] = dict((k, MASK if v and (is_secret_name(k) or _is_masked(v)) else mask_urls(v))
                              for k, v in definition['settings'].items())
    result['target_url'] = _replace_url_secrets(definition['target_url'], lambda kind, key, value: MASK)
    result['sources'] = [_mask_source(source) for source in definition['sources']]
    return result


def _special_source(source):
    """(``@path``, URL) of a source that reads from a remote URL (``@/path|url``, ``SourceMasking.IsSpecialSource``),
    else None."""
    if source.startswith('@') and '|' in source:
        return tuple(source.split('|', 1))
    return None


def _mask_source(source):
    """The URL of a special source with its credentials masked, as the server masks it (``SourceMasking.MaskSource``)."""
    special = _special_source(source)
    if special is None:
        return source
    return special[0] + '|' + _replace_url_secrets(special[1], lambda kind, key, value: MASK)


def diff_views(desired, current):
    """``(before, after)`` for the diff: masked, and ``******** (changed)`` where a secret value changes."""
    before, after = masked(current), masked(desired)
    if desired['passphrase'] and desired['passphrase'] != current['passphrase']:
        after['passphrase'] = CHANGED_MASK
    wanted = _effective_settings(current['settings'])
    for name, value in desired['settings'].items():
        if is_secret_name(name) and value and wanted.get(option_key(name)) != value:
            after['settings'][name] = CHANGED_MASK
    old_password, old_query = _url_secrets(current['target_url'])

    def mark(kind, key, value):
        old = old_password if kind == 'password' else old_query.get(key) if kind == 'query' else None
        return MASK if value == old else CHANGED_MASK
    after['target_url'] = _replace_url_secrets(desired['target_url'], mark)
    return before, after


def keep_masked(desired, current):
    """``desired`` with its masked values (``********``) replaced by the server's values: a masked value
    given back means "keep it". Raises ``DuplicatiError`` for a masked value the server does not have."""
    desired = dict(desired, settings=dict(desired['settings']))

    def missing(what):
        raise DuplicatiError('The definition gives %s as a masked value (%s) but the backup on the server has none.' % (what, MASK),
                             hint='Give the real value (from a vault).')
    if _is_masked(desired['passphrase']):
        desired['passphrase'] = (current or {}).get('passphrase') or missing('the passphrase')
    have = _effective_settings((current or {}).get('settings') or {})
    for name, value in desired['settings'].items():
        if _is_masked(value):
            desired['settings'][name] = have.get(option_key(name)) or missing('the setting %s' % name)
    desired['target_url'] = _restore_url(desired['target_url'], (current or {}).get('target_url') or '',
                                         lambda: missing('a credential in target_url'))
    # a special source keeps the credentials of the server's source with the same path (SourceMasking.UnmaskSources)
    previous = dict(_special_source(source) for source in (current or {}).get('sources') or [] if _special_source(source))
    sources = []
    for source in desired['sources']:
        special = _special_source(source)
        if special is not None:
            source = special[0] + '|' + _restore_url(special[1], previous.get(special[0], ''),
                                                     lambda: missing('a credential in the source %s' % special[0]))
        sources.append(source)
    desired['sources'] = sources
    return desired


def _restore_url(url, old_url, missing):
    """``url`` with its masked credentials replaced by those of ``old_url``; ``missing()`` when it has none."""
    old_password, old_query = _url_secrets(old_url)

    def restore(kind, key, value):
        if not _is_masked(value):
            return value
        old = old_password if kind == 'password' else old_query.get(key) if kind == 'query' else None
        return old or missing()
    return _replace_url_secrets(url, restore)


# -- request bodies -----------------------------------------------------------------
def _settings_dtos(definition, existing_settings=None):
    """SettingInputDto list; a setting that already exists keeps its Filter."""
    filters = dict((_text(_ci(s, 'Name')), _ci(s, 'Filter')) for s in existing_settings or [])
    items = list(definition['settings'].items())
    if definition['passphrase']:
        items.insert(0, ('passphrase', definition['passphrase']))
    return [dict(Name=name, Value=value, Filter=filters.get(name) or '') for name, value in items]


def _schedule_dto(schedule, current_schedule=None, current_raw=None):
    if schedule is None:
        return None
    time = None
    if current_schedule is not None and current_raw is not None and (schedule['time'] is None or current_schedule['time'] == schedule['time']):
        time = _text(_ci(current_raw, 'Time')) or None  # the time of day stays: keep the next planned run
    return dict(Repeat=schedule['repeat'], Time=time or next_run(schedule['time']),
                AllowedDays=list(schedule['allowed_days'] or []))


def create_body(name, definition):
    """The body of ``POST api/v1/backups`` (``BackupAndScheduleInputDto``)."""
    backup = dict(Name=name, Description=definition['description'], Tags=definition['tags'], TargetURL=definition['target_url'],
                  Sources=definition['sources'], Settings=_settings_dtos(definition),
                  Filters=[dict(Order=i, Include=f[0] == '+', Expression=f[1:]) for i, f in enumerate(definition['filters'])],
                  Metadata={})
    return dict(Backup=backup, Schedule=_schedule_dto(definition['schedule']))


def update_body(name, definition, current, entry):
    """The body of ``PUT api/v1/backup/{id}``: ``entry`` (``GET backup/{id}``) with the declared fields.

    What the definition does not manage (``ConnectionStringID``, ``OperationType``,
    ``AdditionalTargetURLs``) is sent back as the server gave it; ``Metadata`` is left out so
    the server keeps it.
    """
    old = _ci(entry, 'Backup') or {}
    body = create_body(name, definition)
    backup = body['Backup']
    del backup['Metadata']
    backup['Settings'] = _settings_dtos(definition, _ci(old, 'Settings'))
    for key in ('ConnectionStringID', 'OperationType', 'AdditionalTargetURLs'):
        if _ci(old, key) is not None:
            backup[key] = _ci(old, key)
    body['Schedule'] = _schedule_dto(definition['schedule'], current['schedule'], _ci(entry, 'Schedule'))
    return body


# -- converging ------------------------------------------------------------------------
def current_definition(client, ident):
    """The definition of backup ``ident`` with its secrets (an export with passwords, read in memory only)."""
    data, dummy = backups.export_backup(client, ident, export_passwords=True)
    config, dummy = read_export(data, source='the export of backup %s' % ident)
    return from_server(config)


def converge(client, name, declared, check_mode=False):
    """Make the backup called ``name`` match the declared definition (the module's ``definition`` option).

    Returns ``{changed, changed_fields, definition, entry, before, after}``: ``entry`` is the
    backup's ``{Backup, Schedule}`` (None for a create in check mode), ``definition`` the masked
    definition it has afterwards, ``before``/``after`` the masked views for the diff. One request
    changes the server (``POST backups`` or ``PUT backup/{id}``); a refusal changes nothing.
    """
    desired = from_params(declared)
    wanted = name.lower()
    entry = next((b for b in backups.list_backups(client) if (backups.backup_name(b) or '').lower() == wanted), None)
    if entry is None:
        desired = keep_masked(desired, None)
        check(name, desired)
        result = dict(changed=True, changed_fields=list(FIELDS), definition=masked(desired), entry=None,
                      before={}, after=dict(masked(desired), name=name))
        if not check_mode:
            answer = client.request('POST', 'backups', body=create_body(name, desired), idempotent=False,
                                    action='create the backup %s on' % name)
            new_id = _ci(answer, 'ID') if isinstance(answer, dict) else None
            if new_id in (None, ''):
                raise DuplicatiError('The backup %s was created on %s but the answer has no ID.' % (name, client.host_url))
            result['entry'] = backups.get_backup(client, str(new_id))
        return result
    ident = backups.backup_id(entry)
    current = current_definition(client, ident)
    desired = keep_masked(desired, current)
    check(name, desired, _ci(_ci(entry, 'Backup'), 'OperationType'))
    changed = differences(desired, current)
    if backups.backup_name(entry) != name:
        changed.insert(0, 'name')
    if not changed:
        view = dict(masked(current), name=name)
        return dict(changed=False, changed_fields=[], definition=masked(current), entry=entry, before=view, after=view)
    before, after = diff_views(desired, current)
    result = dict(changed=True, changed_fields=changed, definition=masked(desired), entry=entry,
                  before=dict(before, name=backups.backup_name(entry)), after=dict(after, name=name))
    if not check_mode:
        body = update_body(name, desired, current, backups.get_backup(client, ident))
        client.request('PUT', 'backup/%s' % quote_segment(ident), body=body, idempotent=True,
                       action='update the backup %s on' % name)
        result['entry'] = backups.get_backup(client, ident)
    return result
