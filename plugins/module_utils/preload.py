# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``preload.json``: where Duplicati looks for it, what it means, and how a module edits it.

Mirrors ``Duplicati/Library/AutoUpdater/PreloadSettingsLoader.cs``.  A document is::

    {"env":  {"<exe>|*": {"VAR": "value"}},
     "db":   {"<exe>|*": {"option-name": "value"}},
     "args": {"<exe>|*": ["--name=value"]}}

Duplicati silently ignores a file it cannot parse; this module instead reports every
problem that would make Duplicati ignore a file or an entry, with the reason.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
import os
import re

from ansible_collections.duplicati.fleet.plugins.module_utils.data_folder import (
    LINUX,
    MACOS,
    PRELOAD_FILENAME,
    WINDOWS,
    common_application_data_folder,
    local_application_data_folder,
    normalize_os,
)
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils import secrets

PRELOAD_ENV = 'DUPLICATI_PRELOAD_SETTINGS'
PRELOAD_DEBUG_ENV = 'DUPLICATI_PRELOAD_SETTINGS_DEBUG'
ANY_EXECUTABLE = '*'
SECTIONS = ('env', 'db', 'args')

# MapExecutableName, in enum order.  configuretool exists from 2.3.0.4 on.
EXECUTABLE_KEYS = ('tray', 'cli', 'autoupdater', 'server', 'winservice', 'backendtool', 'recoverytool',
                   'backendtester', 'aescrypt', 'snapshots', 'serverutil', 'service', 'agent', 'configuretool')

# Location layouts, oldest first.
LAYOUT_2_1 = '2.1'          # <= 2.1.0.107: %LocalApplicationData%/Duplicati
LAYOUT_2_2 = '2.2'          # 2.1.0.108 .. 2.3.0.106 (stable 2.2.x and 2.3.0.0 - 2.3.0.4): shared folders + data folder
LAYOUT_CURRENT = 'current'  # 2.3.0.107 canary, 2.3.1.0 beta and later: data folder, install dir, env file
LAYOUTS = (LAYOUT_2_1, LAYOUT_2_2, LAYOUT_CURRENT)

# A longer name or value is refused: no Duplicati option needs one, and masking it would be slow.
MAX_ENTRY_LENGTH = 65536


# --- Versions and locations ----------------------------------------------------------------------

def parse_version(version):
    """'2.3.0.4', 'v2.3.0.4_stable_2026-07-09' or '2.3.0.4-2.3.0.4_stable_...' -> (2, 3, 0, 4)."""
    m = re.match(r'^v?(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?', str(version or '').strip())
    if not m:
        raise DuplicatiError('Cannot read the Duplicati version %r: expected a version such as 2.3.0.4' % (version,))
    return tuple(int(p or 0) for p in m.groups())


def layout_for_version(version):
    """Which preload.json locations a Duplicati version reads (``LAYOUT_*``); None means the current layout."""
    if version is None:
        return LAYOUT_CURRENT
    v = parse_version(version)
    if v >= (2, 3, 1, 0) or (v[:3] == (2, 3, 0) and v[3] >= 107):
        return LAYOUT_CURRENT
    if v >= (2, 1, 0, 108):
        return LAYOUT_2_2
    return LAYOUT_2_1


def executable_keys_for_version(version=None):
    keys = EXECUTABLE_KEYS
    if version is not None and parse_version(version) < (2, 3, 0, 4):
        keys = tuple(k for k in keys if k != 'configuretool')
    return keys


def is_rooted(path, os_name):
    """``Path.IsPathRooted`` of the target OS."""
    if not path:
        return False
    if normalize_os(os_name) == WINDOWS:
        return path[0] in '\\/' or (len(path) >= 2 and path[1] == ':' and path[0].isalpha())
    return path.startswith('/')


def _join(os_name, *parts):
    import ntpath
    import posixpath
    return (ntpath if os_name == WINDOWS else posixpath).join(*parts)


def preload_locations(os_name, layout=LAYOUT_CURRENT, data_folder=None, install_dir=None, env=None, home=None, portable=False):
    """The preload.json files a Duplicati process reads, in order: later files override earlier ones.

    ``data_folder`` is the process's data folder (``data_folder.resolve_data_folder``),
    ``install_dir`` the folder of its executable, ``env`` its environment (for
    ``DUPLICATI_PRELOAD_SETTINGS``).  With ``!`` in front of that variable only the named
    file is read; in portable mode only the install dir file and the variable's file are.
    Entries that are not rooted paths are dropped, as Duplicati skips them.
    """
    os_name = normalize_os(os_name)
    if layout not in LAYOUTS:
        raise DuplicatiError('Unknown preload layout %r: expected one of %s' % (layout, ', '.join(LAYOUTS)))
    env = env or {}
    env_file = env.get(PRELOAD_ENV) or ''
    if env_file.strip() and env_file.startswith('!'):
        paths = [env_file[1:]]
    else:
        portable_paths = [_join(os_name, install_dir, PRELOAD_FILENAME) if install_dir else '', env_file]
        if portable:
            paths = portable_paths
        else:
            paths = []
            if layout != LAYOUT_CURRENT:
                if os_name != MACOS:
                    paths.append(_join(os_name, common_application_data_folder(os_name, env), 'Duplicati', PRELOAD_FILENAME))
                if os_name in (LINUX, MACOS):
                    paths.append('/usr/local/share/Duplicati/' + PRELOAD_FILENAME)
            if layout == LAYOUT_2_1:
                local = local_application_data_folder(os_name, env, home)
                paths.append(_join(os_name, local, 'Duplicati', PRELOAD_FILENAME) if local else _join(os_name, 'Duplicati', PRELOAD_FILENAME))
            elif data_folder:
                paths.append(_join(os_name, data_folder, PRELOAD_FILENAME))
            paths.extend(portable_paths)
    result = []
    for path in paths:
        if path and path not in result and is_rooted(path, os_name):
            result.append(path)
    return result


# --- Reading and validation ----------------------------------------------------------------------

def _type_name(value):
    if isinstance(value, dict):
        return 'an object'
    if isinstance(value, list):
        return 'an array'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    if value is None:
        return 'null'
    return 'a string'


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
                             % (where, secrets.mask_value(where, arg), _type_name(arg)))
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
        raise DuplicatiError('%s: the top level must be a JSON object, not %s' % (source, _type_name(doc)))
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
                                 % (source, section, _type_name(body)))
        for exe, entry in body.items():
            where = '%s: %s.%s' % (source, section, exe)
            validate_executable_key(exe, '%s: %s' % (source, section), version)
            if entry is None:
                continue
            if section == 'args':
                if not isinstance(entry, list):
                    raise DuplicatiError('%s must be a list of "--name=value" strings, not %s; Duplicati would ignore the whole file'
                                         % (where, _type_name(entry)))
                for arg in entry:
                    validate_argument(arg, where)
            else:
                if not isinstance(entry, dict):
                    raise DuplicatiError('%s must be an object of name/value strings, not %s; Duplicati would ignore the whole file'
                                         % (where, _type_name(entry)))
                for name, value in entry.items():
                    check_length(name, where)
                    check_length(value, '%s.%s' % (where, name))
                    if value is not None and not isinstance(value, str):
                        raise DuplicatiError('%s.%s is %s; values must be strings (write "%s"), else Duplicati ignores the whole file'
                                             % (where, name, _type_name(value), json.dumps(value)))
                    if section == 'db' and name.startswith('--'):
                        raise DuplicatiError('%s: write the option %r without "--"; Duplicati adds the prefix itself' % (where, name))
    return warnings


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


# --- Merging (what an executable gets) -----------------------------------------------------------

class _CaseInsensitiveDict(object):
    """Dictionary(StringComparer.OrdinalIgnoreCase): the first spelling of a key is kept."""

    def __init__(self):
        self._keys = {}
        self._values = {}

    def __setitem__(self, key, value):
        low = key.lower()
        if low not in self._keys:
            self._keys[low] = key
        self._values[low] = value

    def items(self):
        return [(self._keys[low], self._values[low]) for low in self._keys]


def effective_settings(documents, executable):
    """The merged settings an executable gets from documents read in order (``GetExecutableMergedSettings``).

    ``documents`` are parsed documents (None for absent files), earliest first.
    Returns ``{'env': {...}, 'args': [...], 'db': {...}}``: ``*`` entries and the executable's
    own entries each last-writer-wins across files, the executable's override ``*``; args are
    ``*`` then specific, de-duplicated by name (case-insensitive) keeping the last at its place.
    """
    if executable != ANY_EXECUTABLE and executable not in EXECUTABLE_KEYS:
        raise DuplicatiError('Unknown executable %r; use one of: %s' % (executable, ', '.join(EXECUTABLE_KEYS)))
    generic = {'env': _CaseInsensitiveDict(), 'db': _CaseInsensitiveDict()}
    specific = {'env': _CaseInsensitiveDict(), 'db': _CaseInsensitiveDict()}
    args_generic = []
    args_specific = []
    for doc in documents:
        if not isinstance(doc, dict):
            continue
        for section in ('db', 'env'):
            body = doc.get(section) or {}
            for name, value in (body.get(ANY_EXECUTABLE) or {}).items():
                generic[section][name] = value
            if executable != ANY_EXECUTABLE:
                for name, value in (body.get(executable) or {}).items():
                    specific[section][name] = value
        body = doc.get('args') or {}
        args_generic.extend(body.get(ANY_EXECUTABLE) or [])
        if executable != ANY_EXECUTABLE:
            args_specific.extend(body.get(executable) or [])
    for section in ('db', 'env'):
        for name, value in specific[section].items():
            generic[section][name] = value
    args = []
    for value in args_generic + args_specific:
        low = argument_name(value).lower()
        args = [a for a in args if argument_name(a).lower() != low]
        args.append(value)
    env = dict((k, '' if v is None else v) for k, v in generic['env'].items())
    db = dict(generic['db'].items())
    return {'env': env, 'args': args, 'db': db}


def apply_arguments(arguments, preload_args):
    """The command line after preload: an option already present by name is not added again."""
    existing = set(argument_name(a).lower() for a in arguments)
    return list(arguments) + [a for a in preload_args if argument_name(a).lower() not in existing]


def apply_environment(environment, preload_env):
    """The environment after preload: variables already set are kept."""
    result = dict(environment)
    for name, value in preload_env.items():
        if name not in result:
            result[name] = value
    return result


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
      them), other names stay;
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
                for name, value in entry.items():
                    for old in list(current):
                        if old.lower() == name.lower() and old != name:
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
