# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data folder, install dir and machine identity, resolved as the real executables do.

Follows ``DataFolderManager.GetDataFolder``, ``DataFolderLocator.GetDefaultStorageFolder``
and ``Util.AllowInsecureDataFolder`` of Duplicati master
(``Duplicati/Library/AutoUpdater/DataFolderManager.cs``, ``DataFolderLocator.cs``):

1. ``--server-datafolder`` from the *process* command line, else env ``DUPLICATI__SERVER_DATAFOLDER``
2. ``--portable-mode`` (or env ``DUPLICATI__PORTABLE_MODE``): ``<install dir>/data``
3. env ``DUPLICATI_HOME``
4. the OS default: ``$XDG_CONFIG_HOME/Duplicati``, ``~/.config/Duplicati``; with no home the
   relative ``var/lib/Duplicati`` (``/Duplicati`` only when it already holds the probed file).

A folder created here gets mode 0700; an existing folder must already be 0700-like (no group
or other bits, owned by the current user or root) unless ``--allow-insecure-datafolder`` or env
``DUPLICATI__ALLOW_INSECURE_DATAFOLDER`` allows it.

The install dir of the stand-ins (where the real binaries keep ``preload.json``,
``package_type_id.txt`` and ``autoupdate.manifest``) is env ``DUPLICATI_EMULATOR_INSTALL_DIR``,
else this package's directory.
"""

import os
import re
import shutil
import stat
import sys
import tempfile
import uuid

from .errors import UserInformationError

APP_NAME = 'Duplicati'
INSTALL_FILE = 'installation.txt'
MACHINE_FILE = 'machineid.txt'
SERVER_DATABASE_FILENAME = 'Duplicati-server.sqlite'
PORTABLE_MODE_OPTION = 'portable-mode'
SERVER_DATAFOLDER_OPTION = 'server-datafolder'
ALLOW_INSECURE_DATAFOLDER_OPTION = 'allow-insecure-datafolder'
ALLOW_INSECURE_DATAFOLDER_ENV = 'DUPLICATI__ALLOW_INSECURE_DATAFOLDER'
INSECURE_PERMISSIONS_MARKER_FILE = 'insecure-permissions.txt'
DATAFOLDER_ENV_NAME = 'DUPLICATI_HOME'
INSTALL_DIR_ENV = 'DUPLICATI_EMULATOR_INSTALL_DIR'
CONFIGURE_TOOL_NAME = 'duplicati-configure'

# AutoUpdateInstallIDTemplate.txt / AutoUpdateMachineIDTemplate.txt, as read (BOM stripped, trimmed)
INSTALL_FILE_TEMPLATE = ('{0}\r\n\r\nThis file is used to track the number of unique installs.\r\n'
                         'The first line in the file is used as an ID, which is sent to the server when checking for updates.\r\n'
                         'If the first line is blank, this installation will not be part of the usage statistics.')
MACHINE_FILE_TEMPLATE = ('{0}\n\nThis file is used to assign a unique ID to the machine, and used to identify the machine in reports.\n'
                         'The first line in the file is used as an ID, but can be changed with --machine-id for a single or multiple runs.')


def install_dir(environ=None):
    environ = os.environ if environ is None else environ
    value = environ.get(INSTALL_DIR_ENV)
    if value:
        return os.path.abspath(value)
    return os.path.dirname(os.path.abspath(__file__))


def expand_environment_variables(value, environ):
    """.NET ``Environment.ExpandEnvironmentVariables``: ``%NAME%`` is replaced when NAME is set."""
    return re.sub(r'%([^%]+)%', lambda m: environ.get(m.group(1), m.group(0)), value)


def append_dir_separator(path):
    return path if path.endswith(os.sep) else path + os.sep


def extract_option_slim(option, process_args, environ):
    """``DataFolderManager.ExtractOptionSlim``: the last ``--option[=value]`` of the raw process
    arguments (case-insensitive), else env ``DUPLICATI__OPTION``. None when absent."""
    opt = '--' + option
    match = None
    for index, token in enumerate(process_args):
        if token.lower() == opt.lower() or token.lower().startswith(opt.lower() + '='):
            match = (index, token)
    if match is None or not match[1].strip():
        return environ.get(('%s__%s' % (APP_NAME, option.replace('-', '_'))).upper())
    index, token = match
    if token.lower().startswith(opt.lower() + '='):
        return token[len(opt) + 1:].strip('"')
    if index + 1 < len(process_args) and not process_args[index + 1].startswith('--'):
        return process_args[index + 1]
    return ''


def parse_bool_slim(value):
    """``DataFolderManager.ParseBoolSlim`` of a release build: absent is false."""
    if value is None:
        return False
    return value.lower() not in ('false', '0', 'no', 'off')


def portable_mode(process_args, environ):
    return parse_bool_slim(extract_option_slim(PORTABLE_MODE_OPTION, process_args, environ))


def allow_insecure_datafolder(process_args, environ, installdir=None):
    """``Util.AllowInsecureDataFolder``: process args, then env, then the marker file."""
    opt = '--' + ALLOW_INSECURE_DATAFOLDER_OPTION
    match = None
    for index, token in enumerate(process_args):
        if token.lower() == opt or token.lower().startswith(opt + '='):
            match = (index, token)

    def truthy(value):
        if value is None or not value.strip():
            return True
        return value.lower() not in ('false', '0', 'no', 'off')

    if match is not None:
        index, token = match
        if token.lower().startswith(opt + '='):
            return truthy(token[len(opt) + 1:].strip('"'))
        if index + 1 < len(process_args) and not process_args[index + 1].startswith('--'):
            return truthy(process_args[index + 1])
        return True
    env_value = environ.get(ALLOW_INSECURE_DATAFOLDER_ENV)
    if env_value is not None:
        return truthy(env_value)
    installdir = installdir or install_dir(environ)
    return os.path.isfile(os.path.join(installdir, INSECURE_PERMISSIONS_MARKER_FILE))


def _home_directory(environ):
    home = environ.get('HOME')
    if home:
        return home
    try:
        import pwd
        return pwd.getpwuid(os.getuid()).pw_dir or ''
    except (ImportError, KeyError):
        return ''


def application_data_folder(environ):
    """.NET ``Environment.GetFolderPath(SpecialFolder.ApplicationData)`` on Unix ('' without a home)."""
    home = _home_directory(environ)
    if not home:
        return ''
    if sys.platform == 'darwin':
        return os.path.join(home, 'Library', 'Application Support')
    config = environ.get('XDG_CONFIG_HOME')
    if config and os.path.isabs(config):
        return config
    return os.path.join(home, '.config')


def default_storage_folder_internal(target_filename, environ):
    """``DataFolderLocator.GetDefaultStorageFolderInternal`` for Linux and macOS."""
    appdata = application_data_folder(environ)
    folder = os.path.join(appdata, APP_NAME) if appdata else APP_NAME
    if sys.platform == 'darwin':
        configfolder = os.path.join(_home_directory(environ), '.config', APP_NAME)
        if not os.path.isfile(os.path.join(folder, target_filename)) and os.path.isfile(os.path.join(configfolder, target_filename)):
            folder = configfolder
    elif folder in ('/' + APP_NAME, APP_NAME):
        libfolder = os.path.join('var', 'lib', APP_NAME)
        if os.path.isfile(os.path.join(libfolder, target_filename)) or not os.path.isfile(os.path.join(folder, target_filename)):
            folder = libfolder
    return folder


def resolve_data_folder(process_args, environ, installdir=None):
    """``GetDataFolder(ProbeOnly)``: returns ``(folder with trailing separator, overridden)``."""
    installdir = installdir or install_dir(environ)
    portable = portable_mode(process_args, environ)
    env_override = environ.get(DATAFOLDER_ENV_NAME)
    arg = extract_option_slim(SERVER_DATAFOLDER_OPTION, process_args, environ)
    if arg and arg.strip():
        return append_dir_separator(expand_environment_variables(arg, environ).strip('"')), True
    if portable:
        return append_dir_separator(os.path.join(installdir, 'data')), True
    if env_override and env_override.strip():
        return append_dir_separator(expand_environment_variables(env_override, environ).strip('"')), True
    return append_dir_separator(default_storage_folder_internal(SERVER_DATABASE_FILENAME, environ)), False


def has_permission_user_rw_only(path):
    """``SystemIOLinux.DirectoryHasPermissionUserRWOnly``: returns ``(ok, detail)``."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return False, 'failed to read permissions: %s' % exc
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o700 != 0o700:
        return False, 'permissions are %o but expected 700' % mode
    if mode & 0o077:
        return False, 'permissions allow group or other access (%o)' % mode
    uid = os.getuid()
    if info.st_uid not in (uid, 0):
        return False, 'owner is uid %d but expected the current user (uid %d) or root' % (info.st_uid, uid)
    return True, ''


def prepare_secure_data_folder(folder, create_if_missing, allow_insecure):
    """``DataFolderManager.PrepareSecureDataFolder``."""
    pre_existed = os.path.isdir(folder)
    if not pre_existed:
        if not create_if_missing:
            return
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            raise UserInformationError('Failed to create data folder %s' % folder, 'FailedToCreateDataFolder')
        try:
            os.chmod(folder, 0o700)
        except OSError as exc:
            sys.stdout.write('Failed to set permissions for %s: %s\n' % (folder, exc))
    if allow_insecure:
        return
    ok, detail = has_permission_user_rw_only(folder)
    if ok:
        return
    if pre_existed:
        guidance = ("This folder already existed before Duplicati started and does not have the expected restricted permissions, "
                    "which can mean it was created by another (possibly malicious) user and may contain a malicious database or configuration. "
                    "Duplicati does not automatically adopt an existing folder's permissions. Verify the folder was created by Duplicati "
                    "(not an attacker), then restrict its permissions using the '%s secure-datafolder' command (or manually). " % CONFIGURE_TOOL_NAME)
    else:
        guidance = "Restrict the permissions on the folder using the '%s secure-datafolder' command (or manually). " % CONFIGURE_TOOL_NAME
    raise UserInformationError(
        "The data folder '%s' does not have secure permissions (%s). "
        "This is a security risk because the database and configuration may contain sensitive data, "
        "and an attacker who can write to the folder could inject a malicious database or configuration. "
        "%sAlternatively, run with --%s to bypass this check if you understand the risks."
        % (folder, detail, guidance, ALLOW_INSECURE_DATAFOLDER_OPTION), 'InsecureDataFolderPermissions')


def default_storage_folder(target_filename, process_args, environ, auto_create, installdir=None):
    """``DataFolderLocator.GetDefaultStorageFolder`` (the folder of agent.json)."""
    folder, overridden = resolve_data_folder(process_args, environ, installdir)
    if not overridden:
        folder = default_storage_folder_internal(target_filename, environ)
    if os.path.isdir(folder) or auto_create:
        prepare_secure_data_folder(folder, auto_create, allow_insecure_datafolder(process_args, environ, installdir))
    return folder


def _first_line(path):
    try:
        with open(path, 'r', encoding='utf-8-sig', newline='') as handle:
            for line in handle.read().splitlines():
                if line.strip():
                    return line.strip()
    except (IOError, OSError, UnicodeDecodeError):
        return None
    return ''


def install_id(folder):
    """``DataFolderManager.InstallID``: the first non-blank line of installation.txt, or ''."""
    value = _first_line(os.path.join(folder, INSTALL_FILE))
    return value or ''


def machine_id(folder):
    """``DataFolderManager.MachineID``: the first line of machineid.txt, defaulting to the InstallID."""
    value = _first_line(os.path.join(folder, MACHINE_FILE))
    return value if value else install_id(folder)


def _write_text(path, text, mode=0o644):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', dir=directory)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', newline='') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def open_data_folder(process_args, environ, installdir=None):
    """``GetDataFolder(ReadWritePermissionSet)``: resolve, create/verify, write the identity files."""
    folder, dummy = resolve_data_folder(process_args, environ, installdir)
    prepare_secure_data_folder(folder, True, allow_insecure_datafolder(process_args, environ, installdir))
    install_path = os.path.join(folder, INSTALL_FILE)
    if not os.path.isfile(install_path):
        legacy = os.path.join(folder, 'updates', INSTALL_FILE)
        if os.path.isfile(legacy):
            shutil.copyfile(legacy, install_path)
        else:
            _write_text(install_path, INSTALL_FILE_TEMPLATE.format(uuid.uuid4().hex))
    machine_path = os.path.join(folder, MACHINE_FILE)
    if not os.path.isfile(machine_path):
        _write_text(machine_path, MACHINE_FILE_TEMPLATE.format(install_id(folder) or uuid.uuid4().hex))
    return folder
