# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``preload.json`` as the real executables read it (``Duplicati/Library/AutoUpdater/PreloadSettingsLoader.cs``, master).

Files, later overriding earlier: ``<data folder>/preload.json``, ``<install dir>/preload.json``,
then the file named by env ``DUPLICATI_PRELOAD_SETTINGS`` (with a leading ``!`` only that file).
Portable mode reads only the last two. Non-rooted paths, missing files and files that do not
parse into the schema are skipped. A data-folder file whose directory is not user-only is
refused (``InsecurePreloadFilePermissions``) unless insecure folders are allowed.

Per executable key (``agent``, ``server``, ...) and ``*``: ``env`` and ``db`` maps merge
last-writer-wins, the specific bucket over ``*``; ``args`` are ``*`` then specific, de-duplicated
by name (text before ``=``, case-insensitive) keeping the last occurrence. ``env`` is applied only
to variables not already set; ``args`` are appended only when their name is not on the command line.
"""

import json
import os
import sys

from .datafolder import has_permission_user_rw_only
from .errors import UserInformationError

PRELOAD_ENV = 'DUPLICATI_PRELOAD_SETTINGS'
PRELOAD_DEBUG_ENV = 'DUPLICATI_PRELOAD_SETTINGS_DEBUG'
FILE_NAME = 'preload.json'
ANY = '*'
EXECUTABLE_KEYS = ('tray', 'cli', 'autoupdater', 'server', 'winservice', 'backendtool', 'recoverytool', 'backendtester',
                   'aescrypt', 'snapshots', 'serverutil', 'service', 'agent', 'configuretool')


def _debug(environ, message):
    if (environ.get(PRELOAD_DEBUG_ENV) or '').strip():
        sys.stdout.write(message + '\n')


def argument_name(arg):
    return arg.split('=', 1)[0]


def _is_str_map(value):
    return isinstance(value, dict) and all(v is None or isinstance(v, str) for v in value.values())


def load_file(path):
    """The parsed root ``{db, env, args}`` (each None when absent), or None when it does not fit.

    Mirrors System.Text.Json into the typed record: property names are case-sensitive, a value
    of the wrong type makes the whole file unreadable, unknown top-level keys are ignored."""
    try:
        with open(path, 'r', encoding='utf-8-sig') as handle:
            root = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    if root is None:
        return None
    if not isinstance(root, dict):
        return None
    result = {}
    for section in ('db', 'env'):
        value = root.get(section)
        if value is not None and not (isinstance(value, dict) and all(v is None or _is_str_map(v) for v in value.values())):
            return None
        result[section] = value
    args = root.get('args')
    if args is not None:
        if not isinstance(args, dict):
            return None
        for value in args.values():
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                return None
    result['args'] = args
    return result


def candidate_paths(data_folder, installdir, environ, portable):
    """The files to read, in order, and whether the ``!`` override is in force."""
    env_file = environ.get(PRELOAD_ENV) or ''
    portable_paths = []
    for path in (os.path.join(installdir, FILE_NAME), env_file):
        if path and path not in portable_paths:
            portable_paths.append(path)
    all_paths = []
    for path in [os.path.join(data_folder, FILE_NAME)] + portable_paths:
        if path and path not in all_paths:
            all_paths.append(path)
    paths = portable_paths if portable else all_paths
    if env_file.strip() and env_file.startswith('!'):
        return [env_file[1:]], True, portable_paths
    return paths, False, portable_paths


def merged_settings(exe_key, data_folder, installdir, environ, portable=False, allow_insecure=False):
    """``GetExecutableMergedSettings``: returns ``(env dict, args list, db dict)``."""
    paths, explicit, portable_paths = candidate_paths(data_folder, installdir, environ, portable)
    portable_set = set(p.lower() for p in portable_paths)
    env_generic, env_specific, db_generic, db_specific = {}, {}, {}, {}
    args_generic, args_specific = [], []

    def merge(target, source):
        # a Dictionary with OrdinalIgnoreCase: setting an existing key keeps its first spelling
        for key, value in (source or {}).items():
            existing = [k for k in target if k.lower() == key.lower()]
            target[existing[0] if existing else key] = value

    for path in paths:
        if not os.path.isabs(path):
            _debug(environ, 'Preload settings path is not rooted, ignoring: %s' % path)
            continue
        # File.Exists: true for anything but a directory (a named pipe too)
        if not os.path.exists(path) or os.path.isdir(path):
            _debug(environ, 'Preload settings file does not exist, ignoring: %s' % path)
            continue
        if not portable and not explicit and path.lower() not in portable_set:
            _verify_file_security(path, allow_insecure)
        settings = load_file(path)
        if settings is None:
            _debug(environ, 'Failed to load preload settings from %s' % path)
            continue
        for section, generic, specific in (('db', db_generic, db_specific), ('env', env_generic, env_specific)):
            table = settings[section]
            if table is not None:
                if ANY in table:
                    merge(generic, table[ANY])
                if exe_key != ANY and exe_key in table:
                    merge(specific, table[exe_key])
        if settings['args'] is not None:
            if ANY in settings['args']:
                args_generic.extend(settings['args'][ANY] or [])
            if exe_key != ANY and exe_key in settings['args']:
                args_specific.extend(settings['args'][exe_key] or [])

    merge(db_generic, db_specific)
    merge(env_generic, env_specific)
    # The real loop remembers each name's index and removes by that index without updating
    # the indexes of later entries; with two or more repeated names it can drop the wrong one.
    # Kept as is so that clients see what the real executables do.
    mapped, args = {}, []
    for value in args_generic + args_specific:
        name = argument_name(value).lower()
        if name in mapped:
            del args[mapped[name]]
        mapped[name] = len(args)
        args.append(value)
    env = dict((k, '' if v is None else v) for k, v in env_generic.items())
    return env, args, db_generic


def _verify_file_security(path, allow_insecure):
    directory = os.path.dirname(path)
    if not directory or not os.path.isdir(directory):
        return
    ok, detail = has_permission_user_rw_only(directory)
    if ok or allow_insecure:
        return
    raise UserInformationError(
        "The directory '%s' holding the preload settings file '%s' is not securely protected (%s). "
        "A preload file can inject environment variables, command-line arguments, and database settings into the application, "
        "so allowing untrusted write access to this directory is a security risk. "
        "Restrict the permissions on the directory to the current user, SYSTEM and Administrators only, "
        "or run with --allow-insecure-datafolder to bypass this check if you understand the risks." % (directory, path, detail),
        'InsecurePreloadFilePermissions')


def apply_environment(env, environ):
    """Set the preload variables that are not already set in ``environ``."""
    for key, value in env.items():
        if key not in environ:
            environ[key] = value


def apply_arguments(arguments, args):
    """``arguments`` plus each preload arg whose name is not already among them."""
    existing = set(argument_name(a).lower() for a in arguments)
    return list(arguments) + [a for a in args if argument_name(a).lower() not in existing]


def configure(arguments, exe_key, data_folder, installdir, environ, portable=False, allow_insecure=False):
    """``ConfigurePreloadSettings``: applies env to ``environ``; returns ``(new arguments, db settings)``."""
    env, args, db = merged_settings(exe_key, data_folder, installdir, environ, portable, allow_insecure)
    apply_environment(env, environ)
    return apply_arguments(arguments, args), db
