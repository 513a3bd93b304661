# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few platform facts the agent role needs (system, OS family, architecture), read without ``setup``.

The values use the names of Ansible's facts (``ansible_facts.system``, ``os_family``, ``architecture``), so a play
that gathered facts and one that did not take the same decisions. The OS family comes from ``/etc/os-release``
(``ID`` and ``ID_LIKE``), which every systemd-era Linux distribution ships; only the families the role can act on
are told apart, every other Linux host reports its ``ID`` as Ansible would name it or ``Linux``.
"""


import platform
import re

OS_RELEASE_PATHS = ('/etc/os-release', '/usr/lib/os-release')

# os-release IDs (ID or one of ID_LIKE) -> Ansible's os_family, checked in this order.
_FAMILIES = (
    ('Debian', ('debian', 'ubuntu', 'raspbian', 'linuxmint', 'devuan', 'kali', 'pop', 'neon')),
    ('RedHat', ('rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'ol', 'amzn', 'scientific', 'cloudlinux')),
    ('Suse', ('suse', 'opensuse', 'sles', 'sled', 'opensuse-leap', 'opensuse-tumbleweed', 'sl-micro')),
    ('Archlinux', ('arch', 'manjaro', 'endeavouros')),
    ('Alpine', ('alpine',)),
    ('Gentoo', ('gentoo',)),
)

# Ansible's facts name macOS 'Darwin' as system and as os_family.
DARWIN = 'Darwin'


def _unquote(value):
    """One os-release value: "double" quotes with \\ escapes of $ " \\ `, 'single' quotes literal, else escapes."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r'\\([$"\\`])', r'\1', value[1:-1])
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return re.sub(r'\\(.)', r'\1', value)


def parse_os_release(text):
    """``KEY=value`` lines of os-release(5) as a dict, values unquoted by the file's shell-like rules."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, value = line.split('=', 1)
        values[key.strip()] = _unquote(value)
    return values


def os_family_from_os_release(values):
    """Ansible's ``os_family`` for the os-release values of a Linux host (``Linux`` when nothing is known)."""
    ids = [values.get('ID', '').strip().lower()] + values.get('ID_LIKE', '').lower().split()
    for family, members in _FAMILIES:
        if any(one in members for one in ids if one):
            return family
    return 'Linux'


def read_os_release(paths=OS_RELEASE_PATHS):
    for path in paths:
        try:
            with open(path, 'rb') as handle:
                return parse_os_release(handle.read().decode('utf-8', 'replace'))
        except (IOError, OSError):
            continue
    return {}


def host_platform(system=None, machine=None, os_release=None):
    """``{'system', 'os_family', 'architecture'}`` of this host (the arguments replace what is read, for tests)."""
    system = system if system is not None else platform.system()
    machine = machine if machine is not None else platform.machine()
    if system == DARWIN:
        family = DARWIN
    elif system == 'Linux':
        family = os_family_from_os_release(os_release if os_release is not None else read_os_release())
    else:
        family = system
    return {'system': system, 'os_family': family, 'architecture': machine}
