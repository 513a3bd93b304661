# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build one .deb laid out like Duplicati's (``ReleaseBuilder/Build/
Command.CreatePackage.cs`` ``BuildDebPackage``).

* everything goes to ``/usr/lib/duplicati/`` (the agent package too), with
  ``package_type_id.txt`` (the package id, no newline), ``autoupdate.manifest`` (the
  version the executables report; see ``templates.update_manifest``) and one symlink
  ``/usr/bin/<name> -> ../lib/duplicati/<name>`` per executable present;
* modes as ``PackageSupport.SetPermissionFlags`` sets them: executables and ``*.py``
  files 0755, other files 0644, folders 0755;
* the unit in ``/lib/systemd/system/``, the defaults file in ``/etc/default/`` (0644);
  every file under ``/etc`` is listed in ``DEBIAN/conffiles``;
* ``/usr/share/doc/duplicati/copyright`` and ``changelog.gz``;
* ``DEBIAN/preinst`` always, ``postinst``/``prerm`` for the agent (0755);
* ``dpkg-deb -Zgzip --build --root-owner-group``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import os
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone

from ..codecs import jsonsignature
from . import templates
from .release import DEB_ARCHITECTURES, package_filename, package_id

INSTALL_DIR = 'usr/lib/duplicati'
STANDIN_DIR = INSTALL_DIR + '/standin/ansible_collections/duplicati/fleet'
# the public keys the stand-in trusts for autoupdate.manifest (AutoUpdateSettings.SignKeys,
# embedded in the real assembly as AutoUpdateSignKeys.txt: one RSA key XML a line)
SIGN_KEYS_FILE = STANDIN_DIR + '/tests/emulator/AutoUpdateSignKeys.txt'
MAINTAINER = 'duplicati.fleet contributors <duplicati-fleet@example.invalid>'
HOMEPAGE = 'https://duplicati.com'
# Command.cs: DebianLibSslVersions (the CLI and agent Depends), DebianLibIcuVersions (Recommends)
LIBSSL = 'libssl3 | libssl1.1 | libssl3t64'
LIBICU = 'libicu | ' + ' | '.join('libicu%d' % n for n in range(80, 66, -1))

DESCRIPTION = [
    'Backup client for encrypted online backups',
    'Duplicati is a free open-source backup client that stores encrypted, incremental,',
    'compressed backups on cloud storage services and remote file servers.',
    '',
    'THIS IS A STAND-IN BUILD made by the duplicati.fleet test emulator. It has the',
    'file layout, services and maintainer scripts of the real package, but its',
    'executables are Python programs that emulate Duplicati on the wire; they need',
    '%s, which is why this package depends on them.',
]


class BuildError(Exception):
    """The package could not be built."""


class PackageSpec(object):
    """What differs between the two packages."""

    def __init__(self, package, interface, service, description, executables, postinst=None, prerm=None):
        self.package = package            # Debian package name
        self.interface = interface        # gui | cli | agent (PackageTarget.InterfaceString)
        self.service = service            # (unit name, Description=, ExecStart=, defaults title, program)
        self.description = description
        self.executables = executables    # {name in /usr/lib/duplicati: python module with main(argv)}
        self.postinst = postinst
        self.prerm = prerm


AGENT = PackageSpec(
    'duplicati-agent', 'agent',
    ('duplicati-agent', 'Duplicati Agent', '/usr/bin/duplicati-agent run $DAEMON_OPTS', 'Duplicati Agent',
     'duplicati-agent run'),
    'agent',
    {'duplicati-agent': 'ansible_collections.duplicati.fleet.tests.emulator.agent.__main__'},
    postinst=templates.AGENT_POSTINST, prerm=templates.AGENT_PRERM)

SERVER = PackageSpec(
    'duplicati', 'cli',
    ('duplicati', 'Duplicati web-server', '/usr/bin/duplicati-server $DAEMON_OPTS', 'Duplicati server',
     'duplicati-server'),
    'server',
    {'duplicati-server': 'ansible_collections.duplicati.fleet.tests.emulator.agent.server_standin'})

SPECS = (AGENT, SERVER)


def _write(root, relative, content, mode):
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with open(path, 'wb') as handle:
        handle.write(content.encode('utf-8') if isinstance(content, str) else content)
    os.chmod(path, mode)
    return path


def _fix_dir_modes(root):
    for folder, dirs, _files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755)
    os.chmod(root, 0o755)


def build_tree(root, spec, release, sources, python_depends, sign_keys, arch='x64'):
    """Lay out the package in ``root`` (an empty folder). ``sources`` is (collection root,
    relative paths) of the stand-in files; ``sign_keys`` the RSA keys that sign the manifest."""
    source_root, files = sources
    ident = package_id('linux', arch, spec.interface, 'deb')
    for relative in files:
        with open(os.path.join(source_root, relative), 'rb') as handle:
            data = handle.read()
        _write(root, '%s/%s' % (STANDIN_DIR, relative), data, 0o755 if relative.endswith('.py') else 0o644)
    # InstallPackageIdentifier writes the id with File.WriteAllTextAsync: no newline
    _write(root, INSTALL_DIR + '/package_type_id.txt', ident, 0o644)
    _write(root, INSTALL_DIR + '/autoupdate.manifest',
           templates.update_manifest(release, release.date + 'T00:00:00Z', sign_keys), 0o644)
    _write(root, SIGN_KEYS_FILE, ''.join(jsonsignature.public_key_xml(k) + '\n' for k in sign_keys), 0o644)
    for name, module in sorted(spec.executables.items()):
        _write(root, '%s/%s' % (INSTALL_DIR, name), templates.launcher(name, module), 0o755)
        os.makedirs(os.path.join(root, 'usr/bin'), exist_ok=True)
        os.symlink('../lib/duplicati/%s' % name, os.path.join(root, 'usr/bin', name))

    unit, unit_description, exec_start, title, program = spec.service
    _write(root, 'lib/systemd/system/%s.service' % unit, templates.unit_file(unit, unit_description, exec_start), 0o644)
    _write(root, 'etc/default/%s' % unit, templates.defaults_file(unit, title, program), 0o644)

    _write(root, 'usr/share/doc/duplicati/copyright', templates.COPYRIGHT, 0o644)
    changelog = templates.CHANGELOG_TEMPLATE.format(
        version=release.version, release_name=release.name, maintainer=MAINTAINER,
        date=datetime.now(timezone.utc).strftime('%a, %d %b %Y %H:%M:%S +0000'))
    _write(root, 'usr/share/doc/duplicati/changelog.gz', gzip.compress(changelog.encode('utf-8'), mtime=0), 0o644)

    depends = ', '.join([LIBSSL, 'python3'] + list(python_depends))
    description = list(DESCRIPTION)
    description[-1] = description[-1] % ', '.join(['python3'] + list(python_depends))
    fields = [('Source', 'duplicati'), ('Section', 'utils'), ('Priority', 'extra'), ('Maintainer', MAINTAINER),
              ('Homepage', HOMEPAGE), ('Package', spec.package), ('Architecture', DEB_ARCHITECTURES[arch]),
              ('Depends', depends), ('Recommends', LIBICU), ('Version', release.version)]
    _write(root, 'DEBIAN/control', templates.control_file(fields, description), 0o644)
    conffiles = sorted('/' + os.path.relpath(os.path.join(folder, name), root)
                       for folder, _dirs, names in os.walk(os.path.join(root, 'etc')) for name in names)
    _write(root, 'DEBIAN/conffiles', '\n'.join(conffiles) + '\n', 0o644)
    _write(root, 'DEBIAN/preinst', templates.PREINST, 0o755)
    if spec.postinst:
        _write(root, 'DEBIAN/postinst', spec.postinst, 0o755)
    if spec.prerm:
        _write(root, 'DEBIAN/prerm', spec.prerm, 0o755)
    _fix_dir_modes(root)
    return ident


def dpkg_deb():
    path = shutil.which('dpkg-deb')
    if not path:
        raise BuildError('dpkg-deb is not installed (Debian package "dpkg"); it is needed to build .deb files')
    return path


def build_deb(out_dir, spec, release, sources, python_depends, sign_keys, arch='x64'):
    """Build ``spec`` into ``out_dir``; returns (package id, file path).

    The package is written under a temporary name and renamed into place, so a failed
    build leaves no partial file.
    """
    tool = dpkg_deb()
    filename = package_filename(release, 'linux', arch, spec.interface, 'deb')
    target = os.path.join(out_dir, filename)
    work = tempfile.mkdtemp(prefix='.deb-build-', dir=out_dir)
    try:
        root = os.path.join(work, 'root')
        os.mkdir(root)
        ident = build_tree(root, spec, release, sources, python_depends, sign_keys, arch)
        partial = os.path.join(work, filename)
        result = subprocess.run([tool, '-Zgzip', '--build', '--root-owner-group', root, partial],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
        if result.returncode != 0:
            raise BuildError('dpkg-deb failed for %s: %s' % (spec.package, (result.stderr or result.stdout).strip()))
        os.chmod(partial, 0o644)
        with open(partial, 'rb') as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ident, target
