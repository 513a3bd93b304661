# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where Duplicati keeps its data on a host: data folder, agent.json, install dirs, identity files.

Mirrors ``DataFolderManager.GetDataFolder`` and ``DataFolderLocator`` of Duplicati
(Duplicati/Library/AutoUpdater).  The resolution functions are pure: the OS, the
process arguments, the environment, the home folder and the install dir are
parameters, and file existence is asked through ``exists`` (default ``os.path.isfile``),
so every OS can be computed and tested anywhere.  ``*_for_host`` wrappers fill them in
for the host the module runs on.
"""


import ntpath
import os
import posixpath
import re
import sys
import uuid

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError

APP_NAME = 'Duplicati'
SERVER_DATABASE_FILENAME = 'Duplicati-server.sqlite'
AGENT_SETTINGS_FILENAME = 'agent.json'
SERVERUTIL_SETTINGS_FILENAME = 'settings.json'
PRELOAD_FILENAME = 'preload.json'
INSTALL_ID_FILENAME = 'installation.txt'
MACHINE_ID_FILENAME = 'machineid.txt'

DATAFOLDER_ENV = 'DUPLICATI_HOME'
SERVER_DATAFOLDER_OPTION = 'server-datafolder'
PORTABLE_MODE_OPTION = 'portable-mode'

LINUX = 'linux'
MACOS = 'macos'
WINDOWS = 'windows'

_OS_ALIASES = {
    'linux': LINUX, 'linux2': LINUX,
    'darwin': MACOS, 'macos': MACOS, 'macosx': MACOS, 'osx': MACOS,
    'windows': WINDOWS, 'win32': WINDOWS, 'nt': WINDOWS, 'win': WINDOWS,
}

# Install folders of the packages, as ReleaseBuilder builds them: deb and macOS in Build/Command.CreatePackage.cs
# (``BuildDebPackage``, ``BuildMacAppPkgPackage``, ``BuildMacNonAppPkgPackage``), rpm in Resources/fedora/duplicati.spec.template.txt,
# Docker in Resources/Docker/Dockerfile-agent, Windows the ``INSTALLLOCATION`` of Resources/Windows/{Agent,TrayIcon}/Duplicati.wxs.
INSTALL_DIRS = {
    (LINUX, 'deb', 'agent'): '/usr/lib/duplicati',
    (LINUX, 'deb', 'gui'): '/usr/lib/duplicati',
    (LINUX, 'deb', 'cli'): '/usr/lib/duplicati',
    (LINUX, 'rpm', 'agent'): '/usr/lib/duplicati-agent',
    (LINUX, 'rpm', 'gui'): '/usr/lib/duplicati',
    (LINUX, 'rpm', 'cli'): '/usr/lib/duplicati',
    (LINUX, 'docker', 'agent'): '/opt/duplicati',
    (MACOS, 'pkg', 'agent'): '/usr/local/duplicati-agent',
    (MACOS, 'pkg', 'cli'): '/usr/local/duplicati',
    (MACOS, 'pkg', 'gui'): '/Applications/Duplicati.app/Contents/MacOS',
    (WINDOWS, 'msi', 'agent'): 'C:\\Program Files\\Duplicati Agent',
    (WINDOWS, 'msi', 'gui'): 'C:\\Program Files\\Duplicati 2',
}

# The data folder of the LocalSystem account (Windows services, 2.1.0.109 and later: DataFolderLocator).
WINDOWS_SERVICE_DATA_FOLDER = 'C:\\ProgramData\\Duplicati'
# The agent.json of the agent service as the packages install it.
ROOT_SERVICE_DATA_FOLDER = '/root/.config/Duplicati'
# macOS agent run as a LaunchDaemon (the collection's macos_scope=system), given to it with --server-datafolder.
MACOS_SYSTEM_DATA_FOLDER = '/Library/Application Support/Duplicati'


def normalize_os(os_name):
    """Map ``ansible_system``/``sys.platform`` style names to linux, macos or windows."""
    key = str(os_name or '').strip().lower()
    if key.startswith('linux'):
        return LINUX
    if key in _OS_ALIASES:
        return _OS_ALIASES[key]
    raise DuplicatiError('Unsupported operating system %r: expected Linux, Darwin (macOS) or Windows' % (os_name,))


def current_os():
    return normalize_os(sys.platform)


def _pathmod(os_name):
    return ntpath if os_name == WINDOWS else posixpath


def _env_get(env, name, os_name):
    """Environment lookup; case-insensitive on Windows like the OS itself."""
    if env is None:
        return None
    if os_name == WINDOWS:
        lower = name.lower()
        for key, value in env.items():
            if key.lower() == lower:
                return value
        return None
    return env.get(name)


def _is_blank(value):
    return value is None or str(value).strip() == ''


def append_dir_separator(path, os_name):
    """``Util.AppendDirSeparator``: add the OS separator unless the path already ends with one."""
    sep = '\\' if os_name == WINDOWS else '/'
    if path.endswith(sep):
        return path
    return path + sep


def expand_environment_variables(value, env, os_name):
    """``Environment.ExpandEnvironmentVariables``: ``%NAME%`` is replaced when NAME is set (all OSes)."""
    def repl(match):
        found = _env_get(env, match.group(1), os_name)
        return match.group(0) if found is None else found
    return re.sub(r'%([^%]+)%', repl, value)


def extract_option(args, env, option, os_name=LINUX):
    """``DataFolderManager.ExtractOptionSlim``: the value of ``--option`` on a command line.

    ``args`` excludes the program name.  The last occurrence wins; ``--option=value``
    and ``--option value`` are understood; a bare ``--option`` gives ``''``.  When the
    option is absent, env ``DUPLICATI__<OPTION>`` (dashes as underscores) is used.
    Returns None when neither is present.
    """
    opt = '--' + option
    match_index = None
    args = list(args or [])
    for index, token in enumerate(args):
        if token is None:
            continue
        low = token.lower()
        if low == opt.lower() or low.startswith(opt.lower() + '='):
            match_index = index
    if match_index is None or _is_blank(args[match_index]):
        return _env_get(env, ('DUPLICATI__' + option.replace('-', '_')).upper(), os_name)
    token = args[match_index]
    if token.lower().startswith(opt.lower() + '='):
        return token[len(opt) + 1:].strip('"')
    if match_index + 1 < len(args):
        value = args[match_index + 1]
        if not value.startswith('--'):
            return value
    return ''


def parse_bool_slim(value):
    """``DataFolderManager.ParseBoolSlim`` of a release build: absent is false, anything but false/0/no/off is true."""
    if value is None:
        return False
    return value.lower() not in ('false', '0', 'no', 'off')


def application_data_folder(os_name, env=None, home=None):
    """.NET 8+ ``Environment.SpecialFolder.ApplicationData`` ('' when it cannot be determined)."""
    os_name = normalize_os(os_name)
    if os_name == WINDOWS:
        return _env_get(env, 'APPDATA', os_name) or ''
    if _is_blank(home):
        return ''
    if os_name == MACOS:
        return posixpath.join(home, 'Library', 'Application Support')
    xdg = _env_get(env, 'XDG_CONFIG_HOME', os_name)
    if not xdg or not xdg.startswith('/'):
        return posixpath.join(home, '.config')
    return xdg


def local_application_data_folder(os_name, env=None, home=None):
    """.NET 8+ ``Environment.SpecialFolder.LocalApplicationData`` ('' when it cannot be determined)."""
    os_name = normalize_os(os_name)
    if os_name == WINDOWS:
        return _env_get(env, 'LOCALAPPDATA', os_name) or ''
    if _is_blank(home):
        return ''
    if os_name == MACOS:
        return posixpath.join(home, 'Library', 'Application Support')
    xdg = _env_get(env, 'XDG_DATA_HOME', os_name)
    if not xdg or not xdg.startswith('/'):
        return posixpath.join(home, '.local', 'share')
    return xdg


def common_application_data_folder(os_name, env=None):
    """.NET ``Environment.SpecialFolder.CommonApplicationData``."""
    os_name = normalize_os(os_name)
    if os_name == WINDOWS:
        return _env_get(env, 'ProgramData', os_name) or 'C:\\ProgramData'
    return '/usr/share'


def _windows_folder(env):
    return _env_get(env, 'SystemRoot', WINDOWS) or _env_get(env, 'windir', WINDOWS) or 'C:\\Windows'


def _combine(os_name, base, name):
    # Path.Combine('', x) is x.
    if base == '':
        return name
    return _pathmod(os_name).join(base, name)


def default_storage_folder_candidates(os_name, env=None, home=None):
    """The folders ``GetDefaultStorageFolderInternal`` considers, in its order (Windows only has more than one)."""
    os_name = normalize_os(os_name)
    folder = _combine(os_name, application_data_folder(os_name, env, home), APP_NAME)
    if os_name != WINDOWS:
        return [folder]
    newlocation = _combine(os_name, local_application_data_folder(os_name, env, home), APP_NAME)
    order = [folder, newlocation]
    windir = append_dir_separator(_windows_folder(env), WINDOWS)
    if newlocation.lower().startswith(windir.lower()):
        order.append(ntpath.join(common_application_data_folder(os_name, env), APP_NAME))
    return order


def default_storage_folder(target_filename, os_name, env=None, home=None, exists=None, cwd='/'):
    """``DataFolderLocator.GetDefaultStorageFolderInternal`` (no override): the folder without trailing separator.

    * Windows: the last candidate that already holds ``target_filename`` wins, else the last candidate.
    * macOS: ``~/Library/Application Support/Duplicati``, unless the file exists only in ``~/.config/Duplicati``.
    * Linux: ``$XDG_CONFIG_HOME/Duplicati`` or ``~/.config/Duplicati``; with no home folder the
      relative ``var/lib/Duplicati`` (resolved against ``cwd``, ``/`` for services), unless the file
      exists only in the legacy ``Duplicati`` folder.
    """
    os_name = normalize_os(os_name)
    exists = exists or os.path.isfile
    mod = _pathmod(os_name)
    candidates = default_storage_folder_candidates(os_name, env, home)
    if os_name == WINDOWS:
        for candidate in reversed(candidates):
            if exists(ntpath.join(candidate, target_filename)):
                return candidate
        return candidates[-1]
    folder = candidates[0]
    if os_name == MACOS:
        if not _is_blank(home):
            legacy = posixpath.join(home, '.config', APP_NAME)
            if not exists(posixpath.join(folder, target_filename)) and exists(posixpath.join(legacy, target_filename)):
                folder = legacy
        return folder
    if folder in ('/' + APP_NAME, APP_NAME):
        libfolder = posixpath.join('var', 'lib', APP_NAME)
        cur = mod.join(cwd, libfolder, target_filename)
        prev = mod.join(cwd, folder, target_filename)
        if exists(cur) or not exists(prev):
            folder = libfolder
        return mod.normpath(mod.join(cwd, folder))
    return folder


def resolve_data_folder(os_name, args=None, env=None, home=None, install_dir=None,
                        target_filename=SERVER_DATABASE_FILENAME, exists=None, cwd='/'):
    """``DataFolderManager.GetDataFolder`` (with ``target_filename`` as the probe of the default).

    Returns ``(folder, overridden)``; ``folder`` ends with the OS separator like Duplicati's.
    Priority: ``--server-datafolder`` (or env ``DUPLICATI__SERVER_DATAFOLDER``), portable mode
    (``--portable-mode`` or env ``DUPLICATI__PORTABLE_MODE``) giving ``<install_dir>/data``, env
    ``DUPLICATI_HOME``, the OS default.
    """
    os_name = normalize_os(os_name)
    mod = _pathmod(os_name)
    portable = parse_bool_slim(extract_option(args, env, PORTABLE_MODE_OPTION, os_name))
    datafolder_arg = extract_option(args, env, SERVER_DATAFOLDER_OPTION, os_name)
    env_override = _env_get(env, DATAFOLDER_ENV, os_name)
    if not _is_blank(datafolder_arg):
        folder = expand_environment_variables(datafolder_arg, env, os_name).strip('"')
        return append_dir_separator(folder, os_name), True
    if portable:
        if _is_blank(install_dir):
            raise DuplicatiError('Portable mode is requested, but the Duplicati install folder is not known: '
                                 'the data folder would be <install folder>/data')
        return append_dir_separator(mod.join(install_dir, 'data'), os_name), True
    if not _is_blank(env_override):
        folder = expand_environment_variables(env_override, env, os_name).strip('"')
        return append_dir_separator(folder, os_name), True
    folder = default_storage_folder(target_filename, os_name, env, home, exists, cwd)
    return append_dir_separator(folder, os_name), False


def default_file_path(filename, os_name, args=None, env=None, home=None, install_dir=None, exists=None, cwd='/'):
    """``DataFolderLocator.GetDefaultStorageFolder(filename)`` joined with ``filename``.

    This is where the agent finds ``agent.json`` and ServerUtil its ``settings.json`` (2.2+):
    the overridden data folder if any, else the OS default probed with ``filename``.
    """
    folder, overridden = resolve_data_folder(os_name, args, env, home, install_dir, filename, exists, cwd)
    if not overridden:
        folder = default_storage_folder(filename, os_name, env, home, exists, cwd)
    return _pathmod(normalize_os(os_name)).join(folder, filename)


def agent_settings_path(os_name, args=None, env=None, home=None, install_dir=None, exists=None, cwd='/'):
    """Default ``agent.json`` of an agent process with these args/env/home."""
    return default_file_path(AGENT_SETTINGS_FILENAME, os_name, args, env, home, install_dir, exists, cwd)


def service_agent_settings_path(os_name, home=None, windows_service=True, macos_scope='user'):
    """``agent.json`` of the agent as the packages run it, without overrides.

    * Linux deb/rpm: a systemd service as root, ``/root/.config/Duplicati/agent.json``.
    * macOS: a LaunchAgent of the logged-in user: ``<home>/Library/Application Support/Duplicati/agent.json``
      (``home`` of that user is required); with ``macos_scope='system'`` the LaunchDaemon that the collection's
      service module writes, with its data folder in ``/Library/Application Support/Duplicati``.
    * Windows: the ``Duplicati.Agent`` service as LocalSystem: ``C:\\ProgramData\\Duplicati\\agent.json``;
      with ``windows_service=False`` (agent started in the user context, MSI up to 2.3.0.4) pass the
      user's folders through :func:`agent_settings_path` instead.
    """
    os_name = normalize_os(os_name)
    if os_name == LINUX:
        return posixpath.join(ROOT_SERVICE_DATA_FOLDER, AGENT_SETTINGS_FILENAME)
    if os_name == MACOS:
        if macos_scope == 'system':
            return posixpath.join(MACOS_SYSTEM_DATA_FOLDER, AGENT_SETTINGS_FILENAME)
        if _is_blank(home):
            raise DuplicatiError('The macOS agent runs as the logged-in user: the home folder of that user is needed')
        return posixpath.join(home, 'Library', 'Application Support', APP_NAME, AGENT_SETTINGS_FILENAME)
    if not windows_service:
        raise DuplicatiError('A Windows agent in the user context stores agent.json under that user\'s APPDATA/LOCALAPPDATA: '
                             'use agent_settings_path with the user\'s environment')
    return ntpath.join(WINDOWS_SERVICE_DATA_FOLDER, AGENT_SETTINGS_FILENAME)


def install_dir(os_name, package='deb', flavour='agent'):
    """Install folder of a Duplicati package (``package``: deb, rpm, docker, pkg, msi; ``flavour``: agent, gui, cli)."""
    key = (normalize_os(os_name), package, flavour)
    if key not in INSTALL_DIRS:
        raise DuplicatiError('No known install folder for a %s %s package on %s' % (flavour, package, key[0]))
    return INSTALL_DIRS[key]


# --- Identity files -----------------------------------------------------------------------------

# Text of Duplicati's templates (Library/AutoUpdater/AutoUpdate{InstallID,MachineID}Template.txt),
# trimmed as ReadResourceText does; {0} is the id.
INSTALL_ID_TEMPLATE = (
    u'{0}\r\n\r\nThis file is used to track the number of unique installs.\r\n'
    u'The first line in the file is used as an ID, which is sent to the server when checking for updates.\r\n'
    u'If the first line is blank, this installation will not be part of the usage statistics.')
MACHINE_ID_TEMPLATE = (
    u'{0}\n\nThis file is used to assign a unique ID to the machine, and used to identify the machine in reports.\n'
    u'The first line in the file is used as an ID, but can be changed with --machine-id for a single or multiple runs.')


def new_id():
    """A new id as .NET ``Guid.NewGuid().ToString("N")``: 32 lower-case hex digits."""
    return uuid.uuid4().hex


def first_nonblank_line(text):
    """The first line that is not blank, trimmed, or ''."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ''


def _read_text(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data.startswith(b'\xef\xbb\xbf'):
        data = data[3:]
    return data.decode('utf-8', 'replace')


def read_install_id(data_folder):
    """``DataFolderManager.InstallID``: first non-blank line of installation.txt, '' if absent."""
    path = os.path.join(data_folder, INSTALL_ID_FILENAME)
    if not os.path.isfile(path):
        return ''
    return first_nonblank_line(_read_text(path))


def read_machine_id(data_folder):
    """``DataFolderManager.MachineID``: first non-blank line of machineid.txt, else the install id."""
    path = os.path.join(data_folder, MACHINE_ID_FILENAME)
    machine_id = ''
    if os.path.isfile(path):
        machine_id = first_nonblank_line(_read_text(path))
    return machine_id or read_install_id(data_folder)


def install_id_file_text(install_id=None):
    return INSTALL_ID_TEMPLATE.format(install_id or new_id())


def machine_id_file_text(machine_id):
    return MACHINE_ID_TEMPLATE.format(machine_id if not _is_blank(machine_id) else new_id())


def plan_identity(data_folder):
    """The install and machine IDs the agent would use, and the identity files still to write.

    As ``DataFolderManager.GetDataFolder`` creates them when absent:

    * installation.txt: copied from ``updates/installation.txt`` (2.0.8.1 and older) if that exists,
      else the template with a new id.
    * machineid.txt: the template with the install id (a new id if the install id is blank).

    Existing files are never changed. Nothing is written here: returns ``(install_id, machine_id,
    {path: content bytes})``.
    """
    files = {}
    install_id = read_install_id(data_folder)
    install_path = os.path.join(data_folder, INSTALL_ID_FILENAME)
    if not os.path.isfile(install_path):
        legacy = os.path.join(data_folder, 'updates', INSTALL_ID_FILENAME)
        if os.path.isfile(legacy):
            with open(legacy, 'rb') as f:
                content = f.read()
        else:
            content = install_id_file_text().encode('utf-8')
        files[install_path] = content
        install_id = first_nonblank_line(content.decode('utf-8-sig', 'replace'))
    machine_path = os.path.join(data_folder, MACHINE_ID_FILENAME)
    if os.path.isfile(machine_path):
        machine_id = read_machine_id(data_folder)
    else:
        content = machine_id_file_text(install_id)
        files[machine_path] = content.encode('utf-8')
        machine_id = first_nonblank_line(content)
    return install_id, machine_id, files


def write_identity_files(files, owner=None, group=None, written=None):
    """Write the files of ``plan_identity`` (private to their owner), appending each path to ``written``."""
    from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import write_atomic

    written = [] if written is None else written
    for path, content in sorted(files.items()):
        write_atomic(path, content, mode=0o600, owner=owner, group=group)
        written.append(path)
    return written


def ensure_identity_files(data_folder, owner=None, group=None, check_mode=False):
    """Create installation.txt and machineid.txt as ``plan_identity`` plans them, if absent.

    Returns the list of files created (or that would be).
    """
    files = plan_identity(data_folder)[2]
    if not check_mode:
        write_identity_files(files, owner, group)
    return sorted(files)


# --- Current host ---------------------------------------------------------------------------------

def host_home():
    """The home folder .NET would use: $HOME, else the password database entry."""
    home = os.environ.get('HOME')
    if home:
        return home
    try:
        import pwd
        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError):
        return None


def host_data_folder(args=None, install_dir=None, target_filename=SERVER_DATABASE_FILENAME):
    """``resolve_data_folder`` for the process this code runs in (its OS, environment and home)."""
    return resolve_data_folder(current_os(), args, dict(os.environ), host_home(), install_dir, target_filename, cwd=os.getcwd())


def host_agent_settings_path(args=None, install_dir=None):
    return agent_settings_path(current_os(), args, dict(os.environ), host_home(), install_dir, cwd=os.getcwd())
