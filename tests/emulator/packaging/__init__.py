# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real .deb packages that carry the emulator's stand-in executables.

``python -m ansible_collections.duplicati.fleet.tests.emulator.packaging --out DIR
[--version 2.3.0.4] [--channel stable] [--date YYYY-MM-DD] [--base-url URL]`` builds

* ``duplicati-<version>_<channel>_<date>-linux-x64-agent.deb`` (package ``duplicati-agent``)
* ``duplicati-<version>_<channel>_<date>-linux-x64-cli.deb`` (package ``duplicati``)
* ``latest-v2.json`` and ``latest-v2-<version>.json``

with the layout, services, conffiles, control fields and maintainer scripts of
Duplicati's own packages (``ReleaseBuilder/Build/Command.CreatePackage.cs``,
``ReleaseBuilder/Resources/debian/``). ``dpkg-deb`` is required.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .build import build_packages
from .deb import AGENT, SERVER, BuildError
from .release import ReleaseError
from .standin import StandinError

__all__ = ['build_packages', 'AGENT', 'SERVER', 'BuildError', 'ReleaseError', 'StandinError']
