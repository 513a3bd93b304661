# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemctl stand-in answers as systemctl does, and the collection's SystemdService drives it."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import subprocess
import sys

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import service_manager as sm
from ansible_collections.duplicati.fleet.plugins.module_utils import systemd
from ansible_collections.duplicati.fleet.tests.emulator import child_environment
from ansible_collections.duplicati.fleet.tests.emulator.systemd import __main__ as systemctl

UNIT = 'duplicati-agent.service'
UNIT_TEXT = '''[Unit]
Description=Duplicati Agent

[Service]
EnvironmentFile=-{root}/etc/default/duplicati-agent
ExecStart=/usr/bin/duplicati-agent run $DAEMON_OPTS

[Install]
WantedBy=multi-user.target
'''


@pytest.fixture
def root(tmp_path, monkeypatch):
    folder = tmp_path / 'lib' / 'systemd' / 'system'
    folder.mkdir(parents=True)
    (folder / UNIT).write_text(UNIT_TEXT.format(root=tmp_path))
    monkeypatch.setenv(systemctl.ROOT_ENV, str(tmp_path))
    return tmp_path


def call(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = systemctl.main(list(argv), out, err)
    return rc, out.getvalue(), err.getvalue()


def test_show_reports_the_unit_file(root):
    rc, out, err = call('show', UNIT, '--no-pager', '-p', 'LoadState,EnvironmentFiles,ActiveState')
    assert rc == 0 and err == ''
    assert out.splitlines() == ['LoadState=loaded', 'EnvironmentFiles=%s/etc/default/duplicati-agent (ignore_errors=yes)' % root,
                                'ActiveState=inactive']


def test_unknown_unit(root):
    assert call('show', 'nothing.service', '-p', 'LoadState')[1] == 'LoadState=not-found\n'
    assert call('is-active', 'nothing.service')[:2] == (3, 'inactive\n')
    rc, out, err = call('is-enabled', 'nothing.service')
    assert rc == 1 and out == '' and 'No such file or directory' in err
    rc, out, err = call('start', 'nothing.service')
    assert rc == 5 and err == 'Failed to start nothing.service: Unit nothing.service not found.\n'


def test_start_enable_stop_disable(root):
    assert call('is-active', UNIT)[:2] == (3, 'inactive\n')
    assert call('is-enabled', UNIT)[:2] == (1, 'disabled\n')
    assert call('enable', UNIT)[0] == 0
    assert call('start', 'duplicati-agent')[0] == 0
    assert call('is-active', UNIT)[:2] == (0, 'active\n')
    assert call('is-enabled', UNIT)[:2] == (0, 'enabled\n')
    assert call('stop', UNIT)[0] == 0 and call('disable', UNIT)[0] == 0
    assert call('is-active', UNIT)[0] == 3 and call('is-enabled', UNIT)[0] == 1


def test_needs_its_root(monkeypatch):
    monkeypatch.delenv(systemctl.ROOT_ENV, raising=False)
    rc, out, err = call('is-active', UNIT)
    assert rc == 1 and systemctl.ROOT_ENV in err


def test_systemd_service_drives_the_stand_in(root):
    """SystemdService of module_utils, through a real subprocess, as the service module runs it."""
    class Module(object):
        def run_command(self, argv):
            proc = subprocess.run([sys.executable, '-m', 'ansible_collections.duplicati.fleet.tests.emulator.systemd'] + argv[1:],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_environment(), universal_newlines=True,
                                  check=False)
            return proc.returncode, proc.stdout, proc.stderr

    unit = systemd.SystemdService(Module(), UNIT, systemctl='systemctl')
    assert unit.exists()
    assert unit.environment_file() == '%s/etc/default/duplicati-agent' % root
    assert unit.status() == {'active': False, 'enabled': False}
    for action in sm.plan_actions(False, False, 'started', True):
        unit.apply(action)
    assert unit.status() == {'active': True, 'enabled': True}
    missing = systemd.SystemdService(Module(), 'nothing.service', systemctl='systemctl')
    assert not missing.exists()
    with pytest.raises(Exception) as caught:
        missing.apply('start')
    assert 'exit 5' in str(caught.value)


def test_mask_refuses_start_and_enable_until_unmasked(root):
    # masked before the unit is installed, as the role does before a package install
    rc, out, err = call('mask', 'other.service')
    assert rc == 0 and err == 'Created symlink %s/etc/systemd/system/other.service \u2192 /dev/null.\n' % root
    assert call('show', 'other.service', '-p', 'LoadState')[1] == 'LoadState=masked\n'
    call('unmask', 'other.service')
    assert call('mask', UNIT)[0] == 0
    assert call('mask', UNIT) == (0, '', '')
    assert call('show', UNIT, '-p', 'LoadState,UnitFileState,EnvironmentFiles')[1].splitlines() == [
        'LoadState=masked', 'UnitFileState=masked', 'EnvironmentFiles=']
    assert call('is-enabled', UNIT)[:2] == (1, 'masked\n')
    assert call('enable', UNIT) == (1, '', 'Failed to enable unit: Unit file %s/etc/systemd/system/%s is masked.\n' % (root, UNIT))
    assert call('start', UNIT) == (1, '', 'Failed to start %s: Unit %s is masked.\n' % (UNIT, UNIT))
    # every job but stop (bus_unit_validate_load_state)
    assert call('try-restart', UNIT) == (1, '', 'Failed to try-restart %s: Unit %s is masked.\n' % (UNIT, UNIT))
    assert call('stop', UNIT) == (0, '', '')
    assert call('is-active', UNIT)[0] == 3
    rc, out, err = call('unmask', UNIT)
    assert rc == 0 and err == 'Removed "%s/etc/systemd/system/%s".\n' % (root, UNIT)
    assert call('unmask', UNIT) == (0, '', '')
    assert call('enable', UNIT)[0] == 0 and call('start', UNIT)[0] == 0
    assert call('is-active', UNIT)[0] == 0


def test_mask_refuses_a_unit_file_of_the_admin(root):
    folder = root / 'etc' / 'systemd' / 'system'
    folder.mkdir(parents=True)
    (folder / UNIT).write_text(UNIT_TEXT.format(root=root))
    rc, out, err = call('mask', UNIT)
    assert rc == 1 and 'already exists' in err
