# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stand-in .deb packages have the names, index, layout, services, conffiles,
control fields and maintainer scripts of Duplicati's own
(``ReleaseBuilder/Build/Command.CreatePackage.cs`` ``BuildDebPackage``, ``Command.Upload.cs`` ``CreatePackageJson``,
``ReleaseBuilder/Resources/debian/``), checked with dpkg-deb on the built files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile

import pytest

from ansible_collections.duplicati.fleet.tests.emulator.codecs import jsonsignature
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import subprocess_env
from ansible_collections.duplicati.fleet.tests.emulator.packaging import (
    BuildError, ReleaseError, StandinError, build_packages, deb)
from ansible_collections.duplicati.fleet.tests.emulator.packaging.standin import standin_files

pytestmark = pytest.mark.skipif(shutil.which('dpkg-deb') is None,
                                reason='dpkg-deb is not installed, so .deb packages can be neither built nor inspected')

VERSION = '2.3.0.4'
DATE = '2026-07-09'
AGENT_ID = 'linux-x64-agent.deb'
SERVER_ID = 'linux-x64-cli.deb'
BASE_URL = 'http://packages.test:8080/stable'
LIBSSL = 'libssl3 | libssl1.1 | libssl3t64'


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp('packages')
    result = build_packages(str(out), VERSION, 'stable', DATE, BASE_URL)
    return str(out), result


def _dpkg(*args):
    return subprocess.run(['dpkg-deb'] + list(args), check=True, stdout=subprocess.PIPE).stdout


def _field(path, name):
    return _dpkg('--field', path, name).decode().strip()


def _contents(path):
    """{path: (mode string, owner, link target or None)} from ``dpkg-deb --contents``."""
    entries = {}
    for line in _dpkg('--contents', path).decode().splitlines():
        parts = line.split(None, 5)
        mode, owner, name = parts[0], parts[1], parts[5]
        target = None
        if ' -> ' in name:
            name, target = name.split(' -> ', 1)
        name = name[2:] if name.startswith('./') else name
        entries[name.rstrip('/') or '.'] = (mode, owner, target)
    return entries


def _control_members(path):
    """{member name: (mode, text)} of the control archive (``--ctrl-tarfile``)."""
    members = {}
    with tarfile.open(fileobj=io.BytesIO(_dpkg('--ctrl-tarfile', path))) as archive:
        for member in archive.getmembers():
            if member.isfile():
                members[member.name.lstrip('./')] = (member.mode, archive.extractfile(member).read().decode())
    return members


def _read_data(path, name):
    """One file of the data archive (``--fsys-tarfile``)."""
    with tarfile.open(fileobj=io.BytesIO(_dpkg('--fsys-tarfile', path))) as archive:
        return archive.extractfile('./' + name).read()


def _deb(built, ident):
    return built[1][ident]['path']


# ---- file names and the package index (Command.Upload.cs) -----------------------------

def test_file_names_follow_release_name(built):
    out, result = built
    assert sorted(result) == [AGENT_ID, SERVER_ID]
    assert os.path.basename(result[AGENT_ID]['path']) == 'duplicati-2.3.0.4_stable_2026-07-09-linux-x64-agent.deb'
    assert os.path.basename(result[SERVER_ID]['path']) == 'duplicati-2.3.0.4_stable_2026-07-09-linux-x64-cli.deb'
    assert sorted(os.listdir(out)) == sorted([os.path.basename(result[AGENT_ID]['path']),
                                              os.path.basename(result[SERVER_ID]['path']),
                                              'latest-v2.json', 'latest-v2-2.3.0.4.json'])


def test_index_has_base64_checksums_size_and_url(built):
    out, result = built
    with open(os.path.join(out, 'latest-v2.json')) as handle:
        index = json.load(handle)
    with open(os.path.join(out, 'latest-v2-2.3.0.4.json')) as handle:
        assert json.load(handle) == index
    assert sorted(index) == [AGENT_ID, SERVER_ID]
    for ident, entry in index.items():
        assert set(entry) == {'url', 'filename', 'md5', 'sha256', 'size'}
        path = os.path.join(out, entry['filename'])
        with open(path, 'rb') as handle:
            data = handle.read()
        assert entry['md5'] == base64.b64encode(hashlib.md5(data).digest()).decode()
        assert entry['sha256'] == base64.b64encode(hashlib.sha256(data).digest()).decode()
        assert entry['size'] == len(data)
        assert entry['url'] == BASE_URL + '/' + entry['filename']
        assert result[ident]['path'] == path


def test_default_url_is_the_channel_folder_of_the_update_server(tmp_path):
    result = build_packages(str(tmp_path), VERSION, 'canary', DATE)
    assert result[AGENT_ID]['url'] == ('https://updates.duplicati.com/canary/'
                                       'duplicati-2.3.0.4_canary_2026-07-09-linux-x64-agent.deb')


# ---- control fields (BuildDebPackage) -------------------------------------------------------

@pytest.mark.parametrize('ident,package', [(AGENT_ID, 'duplicati-agent'), (SERVER_ID, 'duplicati')])
def test_control_fields(built, ident, package):
    path = _deb(built, ident)
    assert _field(path, 'Package') == package
    assert _field(path, 'Version') == VERSION
    assert _field(path, 'Architecture') == 'amd64'
    assert _field(path, 'Section') == 'utils'
    assert _field(path, 'Homepage') == 'https://duplicati.com'
    depends = [d.strip() for d in _field(path, 'Depends').split(',')]
    assert depends[0] == LIBSSL
    assert 'python3' in depends and 'python3-cryptography' in depends
    assert _field(path, 'Recommends').startswith('libicu | libicu80 | libicu79')
    description = _field(path, 'Description')
    assert description.splitlines()[0] == 'Backup client for encrypted online backups'
    assert 'STAND-IN' in description and 'python3-cryptography' in description


# ---- file layout (BuildDebPackage) ----------------------------------------------------------

def _expected_layout(program):
    return {
        'usr/lib/duplicati/' + program: '-rwxr-xr-x',
        'usr/lib/duplicati/package_type_id.txt': '-rw-r--r--',
        'usr/lib/duplicati/autoupdate.manifest': '-rw-r--r--',
        'usr/share/doc/duplicati/copyright': '-rw-r--r--',
        'usr/share/doc/duplicati/changelog.gz': '-rw-r--r--',
    }


@pytest.mark.parametrize('ident,program,unit', [(AGENT_ID, 'duplicati-agent', 'duplicati-agent'),
                                                (SERVER_ID, 'duplicati-server', 'duplicati')])
def test_file_list_modes_and_symlink(built, ident, program, unit):
    entries = _contents(_deb(built, ident))
    expected = _expected_layout(program)
    expected['lib/systemd/system/%s.service' % unit] = '-rw-r--r--'
    expected['etc/default/%s' % unit] = '-rw-r--r--'
    for name, mode in expected.items():
        assert entries[name][0] == mode, name
    assert entries['usr/bin/' + program] == ('lrwxrwxrwx', 'root/root', '../lib/duplicati/' + program)
    # only the executables of this package are linked
    assert [n for n in entries if n.startswith('usr/bin/') and n != 'usr/bin'] == ['usr/bin/' + program]
    assert all(owner == 'root/root' for _mode, owner, _target in entries.values())
    # --root-owner-group and SetPermissionFlags: dirs 0755, *.py 0755, other files 0644
    for name, (mode, _owner, target) in entries.items():
        if mode.startswith('d'):
            assert mode == 'drwxr-xr-x', name
        elif name.endswith('.py'):
            assert mode == '-rwxr-xr-x', name
    files, _depends = standin_files()
    for relative in files:
        assert 'usr/lib/duplicati/standin/ansible_collections/duplicati/fleet/' + relative in entries
    assert not [n for n in entries if '__pycache__' in n or '/packaging/' in n]
    assert [n for n in entries if n.startswith('etc/') and not entries[n][0].startswith('d')] == ['etc/default/' + unit]


@pytest.mark.parametrize('ident', [AGENT_ID, SERVER_ID])
def test_package_type_id_and_manifest(built, ident):
    path = _deb(built, ident)
    assert _read_data(path, 'usr/lib/duplicati/package_type_id.txt') == ident.encode()
    signed = _read_data(path, 'usr/lib/duplicati/autoupdate.manifest')
    trusted = _read_data(path, deb.SIGN_KEYS_FILE).decode().split()
    # UpdaterManager.CreateSignedManifest: //SIGJSONv1: lines, then the compact UpdateInfo JSON
    assert signed.startswith(b'//SIGJSONv1: ') and signed.count(b'\n') == len(trusted) == 1
    valid, content = jsonsignature.verify(signed, trusted)
    assert valid == 1 and content.startswith(b'{"MinimumCompatibleVersion":2,')
    manifest = json.loads(content)
    assert manifest['Version'] == VERSION and manifest['ReleaseType'] == 'stable'
    assert jsonsignature.verify(signed.replace(b'"stable"', b'"canary"'), trusted)[0] == 0
    changelog = gzip.decompress(_read_data(path, 'usr/share/doc/duplicati/changelog.gz')).decode()
    assert changelog.startswith('duplicati (2.3.0.4) unstable; urgency=low')


# ---- services and defaults (Resources/debian) --------------------------------------------------

def _unit(text):
    values = {}
    for line in text.splitlines():
        if '=' in line and not line.startswith('#'):
            key, value = line.split('=', 1)
            values.setdefault(key, []).append(value)
    return values


def test_agent_unit_and_defaults(built):
    path = _deb(built, AGENT_ID)
    unit = _unit(_read_data(path, 'lib/systemd/system/duplicati-agent.service').decode())
    assert unit['EnvironmentFile'] == ['-/etc/default/duplicati-agent']
    assert unit['ExecStart'] == ['/usr/bin/duplicati-agent run $DAEMON_OPTS']
    assert unit['Restart'] == ['always']
    assert unit['WantedBy'] == ['multi-user.target']
    assert unit['Nice'] == ['19'] and unit['IOSchedulingClass'] == ['idle']
    defaults = _read_data(path, 'etc/default/duplicati-agent').decode()
    assert [line for line in defaults.splitlines() if line and not line.startswith('#')] == ['DAEMON_OPTS=""']


def test_server_unit_and_defaults(built):
    path = _deb(built, SERVER_ID)
    unit = _unit(_read_data(path, 'lib/systemd/system/duplicati.service').decode())
    assert unit['EnvironmentFile'] == ['-/etc/default/duplicati']
    assert unit['ExecStart'] == ['/usr/bin/duplicati-server $DAEMON_OPTS']
    assert unit['Restart'] == ['always']
    assert unit['Nice'] == ['19']
    assert unit['IOSchedulingClass'] == ['idle'] and unit['IOSchedulingPriority'] == ['7']
    assert unit['WantedBy'] == ['multi-user.target']
    defaults = _read_data(path, 'etc/default/duplicati').decode()
    assert [line for line in defaults.splitlines() if line and not line.startswith('#')] == ['DAEMON_OPTS=""']


# ---- control archive: conffiles, maintainer scripts (Resources/debian) --------------------------

def test_agent_control_archive(built):
    members = _control_members(_deb(built, AGENT_ID))
    assert sorted(members) == ['conffiles', 'control', 'postinst', 'preinst', 'prerm']
    assert members['conffiles'][1].split() == ['/etc/default/duplicati-agent']
    for script in ('preinst', 'postinst', 'prerm'):
        assert members[script][0] == 0o755 and members[script][1].startswith('#!/bin/sh\n')
    postinst = members['postinst'][1]
    assert postinst.index('systemctl enable duplicati-agent') < postinst.index('systemctl start duplicati-agent')
    assert 'systemctl stop duplicati-agent' in members['prerm'][1]


def test_server_control_archive_does_not_enable_the_service(built):
    members = _control_members(_deb(built, SERVER_ID))
    assert sorted(members) == ['conffiles', 'control', 'preinst']
    assert members['conffiles'][1].split() == ['/etc/default/duplicati']


def _fake_bin(tmp_path, systemctl_exit):
    """A PATH with the basic tools and, unless systemctl_exit is None, a systemctl that
    logs its arguments and exits with systemctl_exit."""
    folder = tmp_path / 'bin'
    folder.mkdir()
    for tool in ('sh', 'grep', 'ldconfig', 'echo', 'cat'):
        real = shutil.which(tool) or shutil.which(tool, path='/sbin:/usr/sbin')
        if real:
            os.symlink(real, str(folder / tool))
    log = tmp_path / 'systemctl.log'
    if systemctl_exit is not None:
        fake = folder / 'systemctl'
        fake.write_text('#!/bin/sh\necho "$@" >> %s\nexit %d\n' % (log, systemctl_exit))
        fake.chmod(0o755)
    return str(folder), log


def _run_script(built, tmp_path, ident, script, systemctl_exit, argument):
    text = _control_members(_deb(built, ident))[script][1]
    path = tmp_path / script
    path.write_text(text)
    path.chmod(0o755)
    folder, log = _fake_bin(tmp_path, systemctl_exit)
    result = subprocess.run([str(path), argument], env={'PATH': folder}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_postinst_enables_then_starts(built, tmp_path):
    result, calls = _run_script(built, tmp_path, AGENT_ID, 'postinst', 0, 'configure')
    assert result.returncode == 0
    assert calls == ['enable duplicati-agent', 'start duplicati-agent']
    assert 'Warning' not in result.stdout


def test_postinst_succeeds_where_systemd_is_not_running(built, tmp_path):
    # systemctl exists but cannot talk to systemd (not PID 1): warnings, installation goes on
    result, calls = _run_script(built, tmp_path, AGENT_ID, 'postinst', 1, 'configure')
    assert result.returncode == 0
    assert calls == ['enable duplicati-agent', 'start duplicati-agent']
    assert 'could not enable' in result.stdout and 'could not start' in result.stdout


def test_postinst_without_systemctl_only_warns(built, tmp_path):
    result, calls = _run_script(built, tmp_path, AGENT_ID, 'postinst', None, 'configure')
    assert result.returncode == 0 and calls == []
    assert 'systemctl is not available' in result.stdout


def test_postinst_cannot_start_a_masked_unit(built, tmp_path):
    # postinst-agent calls systemctl itself (no deb-systemd-invoke, so no policy-rc.d is asked); a unit masked before
    # the install, as the role masks it, is neither enabled nor started, and the installation still succeeds
    root = tmp_path / 'root'
    (root / 'lib' / 'systemd' / 'system').mkdir(parents=True)
    (root / 'lib' / 'systemd' / 'system' / 'duplicati-agent.service').write_text('[Service]\nExecStart=/bin/true\n')
    text = _control_members(_deb(built, AGENT_ID))['postinst'][1]
    script = tmp_path / 'postinst'
    script.write_text(text)
    script.chmod(0o755)
    folder, dummy = _fake_bin(tmp_path, None)
    wrapper = os.path.join(folder, 'systemctl')
    with open(wrapper, 'w') as handle:
        handle.write('#!/bin/sh\nexec %s -m ansible_collections.duplicati.fleet.tests.emulator.systemd "$@"\n' % sys.executable)
    os.chmod(wrapper, 0o755)
    env = subprocess_env(PATH=folder, DUPLICATI_EMULATOR_SYSTEMD_ROOT=str(root))
    systemctl = [sys.executable, '-m', 'ansible_collections.duplicati.fleet.tests.emulator.systemd']
    subprocess.run(systemctl + ['mask', 'duplicati-agent.service'], env=env, check=True, stderr=subprocess.DEVNULL)
    result = subprocess.run([str(script), 'configure'], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, check=False)
    assert result.returncode == 0
    assert 'is masked' in result.stdout and 'could not enable' in result.stdout and 'could not start' in result.stdout
    show = subprocess.run(systemctl + ['show', 'duplicati-agent.service', '-p', 'ActiveState,UnitFileState'], env=env,
                          stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert show.stdout.splitlines() == ['ActiveState=inactive', 'UnitFileState=masked']


@pytest.mark.parametrize('systemctl_exit', [0, 1, None])
def test_prerm_stops_and_never_fails(built, tmp_path, systemctl_exit):
    result, calls = _run_script(built, tmp_path, AGENT_ID, 'prerm', systemctl_exit, 'remove')
    assert result.returncode == 0
    assert calls == ([] if systemctl_exit is None else ['stop duplicati-agent'])


@pytest.mark.parametrize('ident', [AGENT_ID, SERVER_ID])
def test_preinst_never_fails(built, tmp_path, ident):
    result, _calls = _run_script(built, tmp_path, ident, 'preinst', None, 'install')
    assert result.returncode == 0


# ---- the packaged stand-ins run -------------------------------------------------------

def _extract(built, ident, target):
    subprocess.run(['dpkg-deb', '-x', _deb(built, ident), str(target)], check=True)
    return target


def test_packaged_agent_registers_as_the_package(built, tmp_path):
    from ansible_collections.duplicati.fleet.tests.emulator.console.harness import call_json, running_console
    from ansible_collections.duplicati.fleet.tests.emulator.console.tokens import TokenStore

    root = _extract(built, AGENT_ID, tmp_path / 'root')
    tokens = TokenStore()
    tokens.add('pkg', 'package-test-token-1')
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'DUPLICATI_EMULATOR_INSTALL_DIR')}
    env['DUPLICATI_HOME'] = str(tmp_path / 'data')
    with running_console(tokens=tokens) as (app, base):
        link = base + 'remotecontrol/register?token=package-test-token-1'
        # through the /usr/bin symlink, as the unit starts it
        result = subprocess.run([sys.executable, str(root / 'usr/bin/duplicati-agent'), 'register', link],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, timeout=120, check=False)
        _s, ledger = call_json(base + '_emulator/ledger')
    assert result.returncode == 0, result.stdout
    assert ledger['count'] == 1
    assert ledger['registrations'][0]['packageTypeId'] == AGENT_ID
    assert ledger['registrations'][0]['version'] == VERSION
    with open(str(tmp_path / 'data' / 'agent.json')) as handle:
        assert json.load(handle)['jwt']
    # ReadInstalledManifest: a manifest whose signature no longer holds is not believed
    manifest = root / 'usr/lib/duplicati/autoupdate.manifest'
    manifest.write_bytes(manifest.read_bytes().replace(VERSION.encode(), b'2.3.0.5'))
    with running_console(tokens=tokens) as (app, base):
        tokens.add('pkg2', 'package-test-token-2')
        result = subprocess.run([sys.executable, str(root / 'usr/bin/duplicati-agent'), 'register',
                                 base + 'remotecontrol/register?token=package-test-token-2',
                                 '--agent-settings-file', str(tmp_path / 'second.json')],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, timeout=120, check=False)
        _s, ledger = call_json(base + '_emulator/ledger')
    assert result.returncode == 0, result.stdout
    assert ledger['registrations'][-1]['version'] not in (VERSION, '2.3.0.5')


def test_packaged_server_launcher_starts_its_program(built, tmp_path):
    root = _extract(built, SERVER_ID, tmp_path / 'root')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['DUPLICATI_HOME'] = str(tmp_path / 'data')
    result = subprocess.run([sys.executable, str(root / 'usr/bin/duplicati-server'), '--help'], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout
    assert 'duplicati-server' in result.stdout and '--webservice-port' in result.stdout


# ---- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize('kwargs', [{'version': '2.3'}, {'version': '2.3.0.4; rm'}, {'channel': 'Stable'},
                                    {'date': '2026-13-01'}, {'date': '09-07-2026'}])
def test_bad_release_is_refused_and_writes_nothing(tmp_path, kwargs):
    args = dict(version=VERSION, channel='stable', date=DATE)
    args.update(kwargs)
    with pytest.raises(ReleaseError):
        build_packages(str(tmp_path / 'out'), **args)
    assert not (tmp_path / 'out').exists()


def test_cli_reports_bad_input(tmp_path):
    module = 'ansible_collections.duplicati.fleet.tests.emulator.packaging'
    result = subprocess.run([sys.executable, '-m', module, '--out', str(tmp_path), '--version', 'x'],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert result.returncode == 1 and 'four numbers' in result.stderr
    assert os.listdir(str(tmp_path)) == []


def test_cli_builds(tmp_path):
    module = 'ansible_collections.duplicati.fleet.tests.emulator.packaging'
    result = subprocess.run([sys.executable, '-m', module, '--out', str(tmp_path), '--date', DATE],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout)) == [AGENT_ID, SERVER_ID]


def test_missing_dpkg_deb_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(deb.shutil, 'which', lambda name: None)
    with pytest.raises(BuildError) as err:
        build_packages(str(tmp_path), VERSION, 'stable', DATE)
    assert 'dpkg-deb is not installed' in str(err.value)
    assert [n for n in os.listdir(str(tmp_path)) if n.endswith('.deb')] == []


def test_an_emulator_file_importing_the_collection_is_an_error(tmp_path):
    (tmp_path / 'tests' / 'emulator').mkdir(parents=True)
    (tmp_path / 'tests' / 'emulator' / 'x.py').write_text(
        'def f():\n    from ansible_collections.duplicati.fleet.plugins.module_utils import aescrypt\n')
    with pytest.raises(StandinError) as err:
        standin_files(str(tmp_path))
    assert 'imports the collection it tests' in str(err.value) and 'tests/emulator/x.py' in str(err.value)


def test_the_emulator_imports_nothing_of_the_collection():
    files, depends = standin_files()
    assert all(f.startswith('tests/emulator/') for f in files) and 'tests/emulator/codecs/aescrypt.py' in files
    assert depends == ['python3-cryptography', 'python3-jwt']


def test_unknown_third_party_import_is_a_clear_error(tmp_path):
    (tmp_path / 'tests' / 'emulator').mkdir(parents=True)
    (tmp_path / 'tests' / 'emulator' / 'x.py').write_text('import requests\n')
    with pytest.raises(StandinError) as err:
        standin_files(str(tmp_path))
    assert 'requests' in str(err.value)


def test_file_modes_of_written_packages(built):
    for ident in (AGENT_ID, SERVER_ID):
        assert stat.S_IMODE(os.stat(_deb(built, ident)).st_mode) == 0o644
