# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Duplicati Agent on this host: its binary, its preload.json, where its service keeps agent.json, its service state.

What ``agent_info`` reports and ``agent_registration`` and ``preload`` rely on, found once:
the agent service's ``agent.json`` and data folder (from the systemd unit's options on
Linux, the console user's home on macOS), the installed binary's version and package
type, and the service state from systemd or launchd; and ``differences``, what of a
desired state the host is not.
"""

import json
import os
import platform

from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils import preload
from ansible_collections.duplicati.fleet.plugins.module_utils import systemd
from ansible_collections.duplicati.fleet.plugins.module_utils.daemon_options import options_file_holds

PACKAGE_TYPE_FILE = 'package_type_id.txt'
MANIFEST_FILE = 'autoupdate.manifest'

# The agent binary each package installs: deb (/usr/bin link into /usr/lib/duplicati, ``BuildDebPackage`` of
# ReleaseBuilder/Build/Command.CreatePackage.cs), rpm (/usr/lib/duplicati-agent, Resources/fedora/duplicati.spec.template.txt),
# Docker (Resources/Docker/Dockerfile-agent) and the macOS pkg (``BuildMacNonAppPkgPackage``).
DEFAULT_AGENT_PATHS = {
    'linux': ('/usr/bin/duplicati-agent', '/usr/lib/duplicati/duplicati-agent', '/usr/lib/duplicati-agent/duplicati-agent',
              '/opt/duplicati/duplicati-agent'),
    'macos': ('/usr/local/duplicati-agent/duplicati-agent',),
}

PACKAGE_QUERIES = (['dpkg-query', '-W', '-f=${Version}', 'duplicati-agent'], ['rpm', '-q', '--qf', '%{VERSION}', 'duplicati-agent'])


def default_agent_path(os_name, exists=os.path.exists):
    """The first installed agent binary of this OS, or the package's usual path when none is installed."""
    candidates = DEFAULT_AGENT_PATHS.get(os_name) or DEFAULT_AGENT_PATHS['linux']
    for path in candidates:
        if exists(path):
            return path
    return candidates[0]


def agent_install_dir(agent_path):
    """The install folder of an agent binary: where the symlink ``/usr/bin/duplicati-agent`` points."""
    return os.path.dirname(os.path.realpath(agent_path))


def read_package_type_id(install_dir):
    """``UpdaterManager.PackageTypeId``: the first non-blank line of package_type_id.txt, '' if absent."""
    try:
        with open(os.path.join(install_dir, PACKAGE_TYPE_FILE), 'rb') as handle:
            text = handle.read().decode('utf-8-sig', 'replace')
    except (IOError, OSError):
        return ''
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ''


def read_installed_version(install_dir):
    """The ``Version`` of the install folder's autoupdate.manifest (signature lines skipped), or None."""
    try:
        with open(os.path.join(install_dir, MANIFEST_FILE), 'rb') as handle:
            text = handle.read().decode('utf-8-sig', 'replace')
    except (IOError, OSError):
        return None
    body = ''.join(line for line in text.splitlines(True) if not line.startswith('//'))
    try:
        value = json.loads(body).get('Version')
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def host_os():
    """``linux``, ``macos`` or ``windows``: this host as ``data_folder`` names it."""
    return df.normalize_os(platform.system())


def install_dir(agent_path):
    """The install folder of ``agent_path``, or None when no such binary exists."""
    return agent_install_dir(agent_path) if os.path.exists(agent_path) else None


def default_preload_path():
    """The preload.json in the install folder of the agent package on this host (installed or not)."""
    os_name = host_os()
    binary = default_agent_path(os_name)
    if os.path.exists(binary):
        return os.path.join(agent_install_dir(binary), df.PRELOAD_FILENAME)
    package = 'pkg' if os_name == df.MACOS else systemd.detect_package_family()
    return os.path.join(df.install_dir(os_name, package, 'agent'), df.PRELOAD_FILENAME)


def service_paths(module, os_name, folder=None, macos_scope='user'):
    """``(agent.json, data folder, overridden)`` of the agent service as the packages run it.

    On Linux that is what the systemd unit's options give the agent (``systemd.agent_service_paths``);
    on macOS the console user's LaunchAgent (``macos_scope=user``) or the collection's LaunchDaemon.
    ``folder`` is the agent's install folder, or None.
    """
    if os_name == df.LINUX:
        return systemd.agent_service_paths(systemd.agent_options_text(module), folder)
    from ansible_collections.duplicati.fleet.plugins.module_utils import launchd  # macOS only: not loaded on Linux
    home = launchd.console_user_home() if os_name == df.MACOS and macos_scope == 'user' else None
    settings_file = df.service_agent_settings_path(os_name, home=home, macos_scope=macos_scope)
    return settings_file, os.path.dirname(settings_file), False


def package_version(module):
    """The version the package manager knows for duplicati-agent, or None."""
    for argv in PACKAGE_QUERIES:
        tool = module.get_bin_path(argv[0])
        if not tool:
            continue
        rc, out, err = module.run_command([tool] + argv[1:])
        if rc == 0 and out.strip():
            return out.strip()
    return None


def service_state(module, os_name, macos_scope='user', console_uid=None):
    """``{name, active, enabled, daemon_opts}`` of the agent service (secret options masked); on Linux also the
    options file's ``options_text`` (``systemd.service_state``), which is not to be returned."""
    if os_name == df.LINUX:
        return systemd.service_state(module, 'agent')
    if os_name == df.MACOS:
        from ansible_collections.duplicati.fleet.plugins.module_utils import launchd  # macOS only: not loaded on Linux
        return launchd.service_state(module, 'agent', macos_scope, console_uid)
    return {'name': None, 'active': None, 'enabled': None, 'daemon_opts': None}


def differences(desired, state, options_text):
    """What of ``desired`` (``agent_info``'s option) the host is not, each in a short sentence (never a secret).

    ``state`` is what ``agent_info`` gathered, ``options_text`` the text of the agent service's options file.
    preload.json is compared as ``preload`` with ``merge=false`` leaves it, the options file as ``service``
    writes it."""
    found = []
    version = desired['version']
    if version is not None:
        if not state['installed']:
            found.append('the agent is not installed')
        elif version == 'latest':
            found.append('the latest version is known only from the package index')
        elif version and state['version'] != version:
            found.append('version %s is installed, not %s' % (state['version'], version))
    if 'settings_error' in state:
        found.append('agent.json cannot be read')
    elif desired['registered'] is not None:
        if state['registered'] != desired['registered']:
            found.append('the agent is %sregistered' % ('' if state['registered'] else 'not '))
    if desired['preload'] is not None:
        difference = preload.preload_difference(desired['preload_path'] or default_preload_path(), desired['preload'],
                                                desired['preload_mode'], desired['preload_owner'])
        if difference:
            found.append(difference)
    if desired['service']:
        service = state['service']
        if not service['active']:
            found.append('the service is not running')
        if not service['enabled']:
            found.append('the service is not enabled')
        if not options_file_holds(options_text, desired['daemon_opts']):
            found.append('the service options differ')
    return found
