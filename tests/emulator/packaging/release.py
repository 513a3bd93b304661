# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release naming, as Duplicati's ReleaseBuilder does it (``ReleaseBuilder/Build/Command.cs``,
``ReleaseBuilder/Build/Command.CreatePackage.cs``).

``ReleaseName`` is ``<version>_<channel>_<yyyy-MM-dd>``; a package file is
``duplicati-<ReleaseName>-<os>-<arch>-<iface>.<ext>`` and its package id (the content of
``package_type_id.txt`` and the key in ``latest-v2.json``) is ``<os>-<arch>-<iface>.<ext>``
(``ReleaseBuilder/PackageTarget.cs`` ``PackageTargetString``;
``Build/Command.PackageSupport.cs InstallPackageIdentifier``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from datetime import datetime, timezone

# ReleaseChannel (ReleaseBuilder/Configuration.cs) / ReleaseType (Duplicati/Library/AutoUpdater/UpdateInfo.cs)
CHANNELS = ('stable', 'beta', 'experimental', 'canary', 'nightly', 'debug')
VERSION_PATTERN = re.compile(r'^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$')
DATE_PATTERN = re.compile(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
DEFAULT_VERSION = '2.3.0.4'
DEFAULT_CHANNEL = 'stable'

# PackageTarget.ArchString → Debian architecture (Command.CreatePackage.cs BuildDebPackage)
DEB_ARCHITECTURES = {'x64': 'amd64', 'x86': 'i386', 'arm64': 'arm64', 'arm7': 'armhf'}


class ReleaseError(ValueError):
    """A version, channel or date that a Duplicati release cannot have."""


class Release(object):

    def __init__(self, version=DEFAULT_VERSION, channel=DEFAULT_CHANNEL, date=None):
        if not isinstance(version, str) or not VERSION_PATTERN.match(version):
            raise ReleaseError('the version must be four numbers joined by dots, like 2.3.0.4; got %r' % (version,))
        if channel not in CHANNELS:
            raise ReleaseError('the channel must be one of %s; got %r' % (', '.join(CHANNELS), channel))
        if date is None:
            date = datetime.now(timezone.utc).strftime('%Y-%m-%d')
        if not isinstance(date, str) or not DATE_PATTERN.match(date):
            raise ReleaseError('the date must be YYYY-MM-DD; got %r' % (date,))
        try:
            datetime.strptime(date, '%Y-%m-%d')
        except ValueError:
            raise ReleaseError('no such date: %r' % date)
        self.version = version
        self.channel = channel
        self.date = date

    @property
    def name(self):
        """``ReleaseName``: ``2.3.0.4_stable_2026-07-09``."""
        return '%s_%s_%s' % (self.version, self.channel, self.date)


def package_id(os_name, arch, interface, ext):
    """``linux-x64-agent.deb``."""
    return '%s-%s-%s.%s' % (os_name, arch, interface, ext)


def package_filename(release, os_name, arch, interface, ext):
    """``duplicati-2.3.0.4_stable_2026-07-09-linux-x64-agent.deb``."""
    return 'duplicati-%s-%s' % (release.name, package_id(os_name, arch, interface, ext))
