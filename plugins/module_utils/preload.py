# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``preload.json``: what it means to Duplicati, and how a module edits it.

Mirrors ``Duplicati/Library/AutoUpdater/PreloadSettingsLoader.cs``.  A document is::

    {"env":  {"<exe>|*": {"VAR": "value"}},
     "db":   {"<exe>|*": {"option-name": "value"}},
     "args": {"<exe>|*": ["--name=value"]}}

Duplicati silently ignores a file it cannot parse; this module instead reports every
problem that would make Duplicati ignore a file or an entry, with the reason.
"""


import copy
import json
from collections import namedtuple
import os
import re

from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import attributes_differ, resolve_uid, write_atomic
from ansible_collections.duplicati.fleet.plugins.module_utils.dotnet_json import json_type_name
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils import secrets

ANY_EXECUTABLE = '*'
SECTIONS = ('env', 'db', 'args')

# MapExecutableName, in enum order.  configuretool exists from 2.3.0.4 on.
EXECUTABLE_KEYS = ('tray', 'cli', 'autoupdater', 'server', 'winservice', 'backendtool', 'recoverytool',
                   'backendtester', 'aescrypt', 'snapshots', 'serverutil', 'service', 'agent', 'configuretool')

# A longer name or value is refused: no Duplicati option needs one, and masking it would be slow.
MAX_ENTRY_LENGTH = 65536


# --- Versions ------------------------------------------------------------------------------

def parse_version(version):
    """'2.3.0.4', 'v2.3.0.4_stable_2026-07-09' or '2.3.0.4-2.3.0.4_stable_...' -> (2, 3, 0, 4)."""
    m = re.match(r'^v?(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?', str(version or '').strip())
    if not m:
        raise DuplicatiError('Cannot read the Duplicati version %r: expected a version such as 2.3.0.4' % (version,))
    return tuple(int(p or 0) for p in m.groups())


def executable_keys_for_version(version=None):
    keys = EXECUTABLE_KEYS
    if version is not None and parse_version(version) < (2, 3, 0, 4):
        keys = tuple(k for k in keys if k != 'configuretool')
    return keys


# --- Reading and validation ----------------------------------------------------------------------

def argument_name(arg):
    """The name Duplicati de-duplicates an argument by: the text before the first '='."""
    return arg.split('=', 1)[0]


def check_length(text, where):
    """Refuse a name or value longer than ``MAX_ENTRY_LENGTH`` characters (without quoting it)."""
    if isinstance(text, str) and len(text) > MAX_ENTRY_LENGTH:
        raise DuplicatiError('%s: an entry is %d characters long; names and values are limited to %d characters'
                             % (where, len(text), MAX_ENTRY_LENGTH))
    return text


def validate_argument(arg, where='args'):
    """An args entry must be one string ``--name=value``; a refused entry is quoted with its secrets masked."""
    if not isinstance(arg, str):
        raise DuplicatiError('%s: %r is %s; each entry must be a string "--name=value"'
                             % (where, secrets.mask_value(where, arg), json_type_name(arg)))
    check_length(arg, where)
    shown = secrets.mask_value(argument_name(arg), arg)
    if not arg.startswith('--') or len(argument_name(arg)) <= 2 or '=' not in arg:
        raise DuplicatiError(
            '%s: %r is not of the form --name=value. Duplicati adds each entry as one command-line argument and '
            'recognises an option already given on the command line (and removes duplicates) by the text before "="; '
            'write the option and its value as one entry, e.g. --webservice-port=8210 or --portable-mode=true' % (where, shown))
    name = argument_name(arg)
    if any(c.isspace() for c in name):
        raise DuplicatiError('%s: the option name in %r contains white space; write "--name=value" as one entry' % (where, shown))
    return arg


def validate_executable_key(key, where, version=None):
    """Executable keys must be ``*`` or a name Duplicati maps, spelled in lower case."""
    allowed = executable_keys_for_version(version)
    if key == ANY_EXECUTABLE or key in allowed:
        return key
    if key.lower() in allowed:
        raise DuplicatiError('%s: the executable key %r must be written %r. Duplicati looks the key up by its exact, '
                             'lower-case name, so %r would be ignored' % (where, key, key.lower(), key))
    raise DuplicatiError('%s: unknown executable key %r; use "*" or one of: %s' % (where, key, ', '.join(allowed)))


def validate_preload(doc, source='preload.json', version=None):
    """Check a document as Duplicati would read it; raises DuplicatiError naming the first problem.

    Returns a list of warnings (top-level keys Duplicati ignores).
    """
    warnings = []
    if doc is None:
        return warnings
    if not isinstance(doc, dict):
        raise DuplicatiError('%s: the top level must be a JSON object, not %s' % (source, json_type_name(doc)))
    for section in doc:
        if section in SECTIONS:
            continue
        if section.lower() in SECTIONS:
            raise DuplicatiError('%s: the section %r must be written %r; Duplicati reads section names case-sensitively and '
                                 'would ignore it' % (source, section, section.lower()))
        warnings.append('%s: the top-level key %r is not used by Duplicati (only env, db and args are)' % (source, section))
    for section in SECTIONS:
        body = doc.get(section)
        if body is None:
            continue
        if not isinstance(body, dict):
            raise DuplicatiError('%s: "%s" must be an object keyed by executable, not %s; Duplicati would ignore the whole file'
                                 % (source, section, json_type_name(body)))
        for exe, entry in body.items():
            where = '%s: %s.%s' % (source, section, exe)
            validate_executable_key(exe, '%s: %s' % (source, section), version)
            if entry is None:
                continue
            if section == 'args':
                if not isinstance(entry, list):
                    raise DuplicatiError('%s must be a list of "--name=value" strings, not %s; Duplicati would ignore the whole file'
                                         % (where, json_type_name(entry)))
                for arg in entry:
                    validate_argument(arg, where)
            else:
                if not isinstance(entry, dict):
                    raise DuplicatiError('%s must be an object of name/value strings, not %s; Duplicati would ignore the whole file'
                                         % (where, json_type_name(entry)))
                for name, value in entry.items():
                    check_length(name, where)
                    check_length(value, '%s.%s' % (where, name))
                    if value is not None and not isinstance(value, str):
                        raise DuplicatiError('%s.%s is %s; values must be strings (write "%s"), else Duplicati ignores the whole file'
                                             % (where, name, json_type_name(value), json.dumps(value)))
    _check_db_twins(doc.get('db'), source)
    return warnings


def db_option_key(name):
    """The setting a ``db`` name stands for: ``Connection.SetPreloadSettingsIfChanged`` adds ``--`` only when the
    name lacks it, so ``foo`` and ``--foo`` are the same server setting (compared here case-insensitively, as the
    preload files are merged)."""
    return (name if name.startswith('--') else '--' + name).lower()


def name_key(section):
    """How names of an ``env`` or ``db`` entry are matched: ``db_option_key`` for ``db``, else case-insensitively."""
    return db_option_key if section == 'db' else str.lower


def _check_db_twins(body, source):
    """Refuse ``foo`` and ``--foo`` for one executable (its own entry and ``*``): ``SetPreloadSettingsIfChanged``
    would turn both into ``--foo`` in one ``ToDictionary`` and the server would fail to start."""
    if not isinstance(body, dict):
        return
    generic = body.get(ANY_EXECUTABLE) or {}
    for exe, entry in body.items():
        seen = {}
        for name in list(generic) + (list(entry or {}) if exe != ANY_EXECUTABLE else []):
            key = db_option_key(name)
            other = seen.setdefault(key, name)
            if other.lower() != name.lower():
                raise DuplicatiError('%s: db.%s gives the option both as %r and %r; the server adds "--" to a name without '
                                     'it, so both are %r and it would fail to start. Keep one of them.'
                                     % (source, exe, other, name, key))


def parse_preload(text, source='preload.json', version=None):
    """Parse and validate preload.json text; returns (doc, warnings)."""
    if isinstance(text, bytes):
        try:
            text = text.decode('utf-8')
        except UnicodeDecodeError:
            raise DuplicatiError('%s is not UTF-8 text; Duplicati would ignore it' % source, url=source)
    if text.startswith(u'\ufeff'):
        text = text[1:]
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise DuplicatiError('%s is not valid JSON (%s); Duplicati silently ignores such a file' % (source, e), url=source)
    return doc, validate_preload(doc, source, version)


def read_preload_file(path, version=None):
    """Read one file: (doc, warnings), or (None, []) when it does not exist."""
    if not os.path.isfile(path):
        return None, []
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as e:
        raise DuplicatiError('Cannot read %s: %s' % (path, e.strerror or e), url=path)
    return parse_preload(data, path, version)


def file_mode(value):
    """The file mode given as an int or an octal string such as ``0600``: 0 to 0o7777, never writable by group or
    others (the agent runs options from the file)."""
    if isinstance(value, bool):
        mode = -1
    elif isinstance(value, int):
        mode = value
    else:
        try:
            mode = int(str(value), 8)
        except ValueError:
            mode = -1
    if not 0 <= mode <= 0o7777:
        raise DuplicatiError('mode %r is not an octal file mode between 0000 and 7777 such as 0600' % (value,))
    if mode & 0o022:
        raise DuplicatiError('mode %04o lets %s write preload.json, and the agent runs the options in it; use 0600 or 0644'
                             % (mode, 'others' if mode & 0o002 else 'the group'))
    return mode


def string_values(given):
    """Module input (YAML may give numbers or booleans for env/db values) in Duplicati's types."""
    result = {}
    for section, body in given.items():
        if not isinstance(body, dict):
            raise DuplicatiError('%s must be a dict keyed by executable name, not %s' % (section, type(body).__name__))
        result[section] = {}
        for exe, entry in body.items():
            if section != 'args' and isinstance(entry, dict):
                converted = {}
                for name, value in entry.items():
                    if isinstance(value, bool):
                        value = 'true' if value else 'false'
                    elif isinstance(value, (int, float)):
                        value = str(value)
                    converted[name] = value
                entry = converted
            result[section][exe] = entry
    return result


def preload_difference(path, given, mode, owner=None):
    """None when ``path`` is what the preload module with ``merge=false`` leaves for ``given`` (sections as the
    module takes them): exactly that document with ``mode`` (and ``owner``), or no file when ``given`` holds no
    entry (``state=absent``). Otherwise a short sentence saying what differs."""
    given = dict((section, body) for section, body in given.items() if body)
    if not given:
        return 'preload.json is to be removed' if os.path.exists(path) else None
    try:
        existing = read_preload_file(path)[0]
    except DuplicatiError:
        return 'preload.json cannot be read'
    if existing is None:
        return 'preload.json is missing'
    try:
        wanted = replace_preload(string_values(given))
    except DuplicatiError:
        return 'the wanted preload.json is not valid'  # the preload step reports why
    if existing != wanted:
        return 'preload.json has other content'
    stat = os.stat(path)
    if stat.st_mode & 0o7777 != file_mode(mode):
        return 'preload.json has mode %o' % (stat.st_mode & 0o7777)
    try:
        uid = resolve_uid(owner)
    except DuplicatiError:
        return 'the owner %s of preload.json does not exist' % owner
    if uid not in (-1, stat.st_uid):
        return 'preload.json has another owner'
    return None


# --- Editing -------------------------------------------------------------------------------------

def _ordered_sections(doc):
    result = {}
    for section in SECTIONS:
        if section in doc:
            result[section] = doc[section]
    for key, value in doc.items():
        if key not in result:
            result[key] = value
    return result


def replace_preload(document, version=None):
    """The document exactly as given, validated (sections put in env, db, args order)."""
    validate_preload(document, 'the given preload settings', version)
    return _ordered_sections(copy.deepcopy(document))


def merge_preload(existing, changes, version=None):
    """Merge ``changes`` (same shape as a document) into ``existing``; other entries are kept.

    * ``env``/``db``: the given names are set (matched case-insensitively, as Duplicati merges
      them, and for ``db`` with or without ``--``), other names stay;
    * ``args``: an option with the same name replaces the existing one at its place, new
      options are appended in the given order.
    """
    validate_preload(changes, 'the given preload settings', version)
    result = copy.deepcopy(existing) if existing else {}
    if not isinstance(result, dict):
        raise DuplicatiError('The existing preload settings are not a JSON object and cannot be merged into; replace them instead')
    for section in SECTIONS:
        given = (changes or {}).get(section)
        if not given:
            continue
        target = result.get(section)
        if target is None:
            target = result[section] = {}
        for exe, entry in given.items():
            if entry is None:
                continue
            if section == 'args':
                current = list(target.get(exe) or [])
                for arg in entry:
                    low = argument_name(arg).lower()
                    for index, old in enumerate(current):
                        if argument_name(old).lower() == low:
                            current[index] = arg
                            current = current[:index + 1] + [a for a in current[index + 1:] if argument_name(a).lower() != low]
                            break
                    else:
                        current.append(arg)
                target[exe] = current
            else:
                current = dict(target.get(exe) or {})
                key = name_key(section)
                for name, value in entry.items():
                    for old in list(current):
                        if key(old) == key(name) and old != name:
                            del current[old]
                    current[name] = value
                target[exe] = current
    validate_preload(result, 'the merged preload settings', version)
    return _ordered_sections(result)


def render_preload(document):
    """Stable, indented JSON text (2 spaces, order kept, UTF-8 kept, newline at the end)."""
    return json.dumps(_ordered_sections(document), indent=2, ensure_ascii=False, separators=(',', ': ')) + '\n'


# --- Masking secrets for diffs -------------------------------------------------------------------

def mask_preload(document):
    """A copy for diff output with secret values replaced by ``********`` (``secrets.mask_value``)."""
    if not isinstance(document, dict):
        return document
    result = copy.deepcopy(document)
    for section in SECTIONS:
        body = result.get(section)
        if not isinstance(body, dict):
            continue
        for exe, entry in body.items():
            if section == 'args' and isinstance(entry, list):
                body[exe] = secrets.mask_arguments(entry)
            elif isinstance(entry, dict):
                body[exe] = dict((k, secrets.mask_value(k, v)) for k, v in entry.items())
    return result


# ---- the change a module makes -------------------------------------------------------------

def given_sections(params):
    """The sections (``args``, ``env``, ``db``) a module call gives."""
    return dict((s, params[s]) for s in SECTIONS if params[s] is not None)


def remove_entries(document, given):
    """``document`` without the names in ``given``; an empty entry removes the executable's whole entry."""
    result = copy.deepcopy(document)
    for section, body in given.items():
        if not isinstance(body, dict):
            raise DuplicatiError('%s must be a dict keyed by executable name' % section)
        target = result.get(section)
        for exe, entry in body.items():
            validate_executable_key(exe, section)
            if not isinstance(target, dict) or exe not in target:
                continue
            if not entry:
                del target[exe]
                continue
            if section == 'args':
                if not isinstance(entry, list):
                    raise DuplicatiError('args.%s must be a list of option names to remove' % exe)
                names = set(argument_name(str(a)).lower() for a in entry)
                target[exe] = [a for a in target[exe] if argument_name(a).lower() not in names]
            else:
                key = name_key(section)
                names = set(key(str(n)) for n in (entry.keys() if isinstance(entry, dict) else entry))
                target[exe] = dict((k, v) for k, v in target[exe].items() if key(k) not in names)
            if not target[exe]:
                del target[exe]
        if isinstance(target, dict) and not target:
            del result[section]
    return result


class PreloadChange(namedtuple('PreloadChange', 'path new content_changed mode owner group result')):
    """What a module call does to the preload.json at ``path``: planned from the file as it is, nothing written.

    ``new`` is the document to write (None: no file), ``result`` the module's result (``changed``,
    ``diff``, ``preload`` masked); ``apply`` makes it so.
    """

    def apply(self, module, backup=False):
        """Write (or remove) the file and set its mode, owner and group; returns ``result``."""
        path = self.path
        if self.content_changed:
            if backup and os.path.exists(path):
                self.result['backup_file'] = module.backup_local(path)
            if self.new is None:
                os.unlink(path)
            else:
                folder = os.path.dirname(path)
                if not os.path.isdir(folder):
                    os.makedirs(folder, 0o755)
                write_atomic(path, render_preload(self.new), mode=self.mode, owner=self.owner, group=self.group)
        if self.new is not None and os.path.exists(path):
            module.set_mode_if_different(path, self.mode, False)
            module.set_owner_if_different(path, self.owner, False)
            module.set_group_if_different(path, self.group, False)
        return self.result


def plan_change(path, given, state='present', merge=True, mode=0o600, owner=None, group=None):
    """The ``PreloadChange`` that brings ``path`` to ``given`` (``state=absent``: without it; no ``given``: no file)."""
    result = {'changed': False, 'path': path}
    existing, warnings = None, []
    if os.path.exists(path):
        try:
            existing, warnings = read_preload_file(path)
        except DuplicatiError:
            if state == 'present' and not merge:
                existing = None  # a broken file is replaced as a whole
            else:
                raise
    if warnings:
        result['warnings_preload'] = warnings

    if state == 'absent':
        new = remove_entries(existing, given) if given and existing is not None else None
    elif merge:
        new = merge_preload(existing or {}, string_values(given))
    else:
        new = replace_preload(string_values(given))

    if state == 'absent' and not given:
        content_changed = os.path.exists(path)
    else:
        content_changed = new != existing
    result['preload'] = mask_preload(new) if new is not None else None
    if content_changed:
        result['changed'] = True
        result['diff'] = {
            'before': render_preload(mask_preload(existing)) if existing is not None else '',
            'after': render_preload(mask_preload(new)) if new is not None else '',
            'before_header': path, 'after_header': path,
        }
    elif new is not None:
        result['changed'] = not os.path.exists(path) or attributes_differ(path, mode, owner, group)
    return PreloadChange(path, new, content_changed, mode, owner, group, result)
