# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The text files of the two .deb packages.

They carry the same settings as Duplicati's own (``ReleaseBuilder/Resources/debian/``,
``ReleaseBuilder/Build/Command.CreatePackage.cs`` ``BuildDebPackage``), in our own words:

* ``duplicati.service``: ``Nice=19``, idle IO class (priority 7),
  ``EnvironmentFile=-/etc/default/duplicati``, ``ExecStart=/usr/bin/duplicati-server
  $DAEMON_OPTS``, ``Restart=always``, ``WantedBy=multi-user.target``. Not enabled by
  the package (no postinst).
* ``duplicati-agent.service``: the same, with ``/etc/default/duplicati-agent`` and
  ``ExecStart=/usr/bin/duplicati-agent run $DAEMON_OPTS``.
* ``/etc/default/<name>``: a POSIX shell fragment with ``DAEMON_OPTS=""`` (a conffile).
* ``preinst`` (both): warns when no ICU library is installed, never fails.
* agent ``postinst``: ``systemctl enable`` then ``systemctl start``, called directly as in
  ``postinst-agent`` (no ``deb-systemd-invoke`` or ``invoke-rc.d``, so no ``policy-rc.d`` is
  asked; a masked unit makes both fail); each failure only prints a warning, and without
  ``systemctl`` nothing is attempted. Where systemd is not
  PID 1 (containers, chroots) ``enable`` still links the unit and ``start`` fails with a
  warning, so the installation succeeds either way, like the real script.
* agent ``prerm``: ``systemctl stop``, errors ignored.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ..codecs import jsonsignature
from ..server import dotnet_json

UNIT_TEMPLATE = """[Unit]
Description={description}
After=network.target

[Service]
Nice=19
IOSchedulingClass=idle
IOSchedulingPriority=7
EnvironmentFile=-/etc/default/{name}
ExecStart={exec_start}
Restart=always

[Install]
WantedBy=multi-user.target
"""

DEFAULTS_TEMPLATE = """# Settings for the {title} service ({name}.service).
# The unit reads this file with EnvironmentFile=; it is a POSIX shell fragment
# and a conffile, so local changes survive upgrades.

# Extra command line options for {program}.
DAEMON_OPTS=""
"""

PREINST = """#!/bin/sh
# Duplicati needs the ICU globalization library. Warn (never fail) when none is found.
set -e

if ! ldconfig -p 2>/dev/null | grep -qE 'libicuuc\\.so\\.[0-9]+'; then
    echo
    echo "WARNING: no ICU library (libicuuc) was found on this system."
    echo "Duplicati uses ICU for globalization and may fail to start without it."
    echo "Install one (for example: apt install libicu72), or run Duplicati with"
    echo "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 in its environment."
    echo
fi

exit 0
"""

AGENT_POSTINST = """#!/bin/sh
# Enable and start the agent. A failure only warns: the package stays installed
# (for example where systemd is not running as PID 1).
if command -v systemctl >/dev/null 2>&1; then
    systemctl enable duplicati-agent || echo "Warning: could not enable the duplicati-agent service."
    systemctl start duplicati-agent || echo "Warning: could not start the duplicati-agent service."
else
    echo "Warning: systemctl is not available; the duplicati-agent service was neither enabled nor started."
fi
exit 0
"""

AGENT_PRERM = """#!/bin/sh
# Stop the agent before it is removed or upgraded; nothing to do if it is not running.
systemctl stop duplicati-agent 2>/dev/null || true
exit 0
"""

LAUNCHER_TEMPLATE = """#!/usr/bin/python3
# -*- coding: utf-8 -*-
# {program}: stand-in executable of the duplicati.fleet emulator, not Duplicati itself.
# It runs main() of {module}
# from the copy of the emulator beside this file. Like the real binary, it treats its own
# folder as the install dir (package_type_id.txt, autoupdate.manifest, preload.json).
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
os.environ['DUPLICATI_EMULATOR_INSTALL_DIR'] = HERE
sys.path.insert(0, os.path.join(HERE, 'standin'))

from {module} import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
"""

CHANGELOG_TEMPLATE = """duplicati ({version}) unstable; urgency=low

  * Stand-in build of the duplicati.fleet emulator for release {release_name}

 -- {maintainer}  {date}
"""

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: duplicati.fleet emulator stand-ins
Comment: This package imitates the layout of Duplicati's package for testing the
 duplicati.fleet Ansible collection. It contains no Duplicati code.

Files: *
Copyright: duplicati.fleet contributors
License: GPL-3.0+
 This program is free software: you can redistribute it and/or modify it under
 the terms of the GNU General Public License as published by the Free Software
 Foundation, either version 3 of the License, or (at your option) any later
 version. On Debian systems the full text is in /usr/share/common-licenses/GPL-3.
"""


def update_manifest(release, release_time, sign_keys):
    """``autoupdate.manifest`` of the install dir as ``UpdaterManager.CreateSignedManifest``
    writes it: the compact ``UpdateInfo`` JSON after one ``//SIGJSONv1:`` line per key
    (``JSONSignature.SignAsync``). The release builder signs with Duplicati's keys and
    embeds their public halves (``AutoUpdateSignKeys.txt``); these packages use keys made
    for the build and ship their public halves beside the stand-in (``deb.SIGN_KEYS_FILE``),
    which ``ReadInstalledManifest`` of the stand-in checks."""
    return jsonsignature.sign(dotnet_json.dumpb({
        'MinimumCompatibleVersion': 2,
        'IncompatibleUpdateUrl': 'https://duplicati.com/download',
        'Displayname': 'Duplicati v%s - %s' % (release.version, release.channel),
        'Version': release.version,
        'ReleaseTime': release_time,
        'ReleaseType': release.channel,
        'UpdateSeverity': None,
        'ChangeInfo': None,
        'PackageUpdaterVersion': 2,
        'Packages': [],
        'GenericUpdatePageUrl': 'https://duplicati.com/download',
    }), sign_keys)


def unit_file(name, description, exec_start):
    return UNIT_TEMPLATE.format(name=name, description=description, exec_start=exec_start)


def defaults_file(name, title, program):
    return DEFAULTS_TEMPLATE.format(name=name, title=title, program=program)


def launcher(program, module):
    return LAUNCHER_TEMPLATE.format(program=program, module=module)


def control_file(fields, description_lines):
    """A DEBIAN/control file from ordered (name, value) pairs and a Description."""
    lines = ['%s: %s' % (name, value) for name, value in fields]
    lines.append('Description: %s' % description_lines[0])
    for line in description_lines[1:]:
        lines.append(' ' + (line if line else '.'))
    return '\n'.join(lines) + '\n'
