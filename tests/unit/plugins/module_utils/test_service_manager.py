# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shlex
import subprocess
import tempfile

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.duplicati.fleet.plugins.module_utils import daemon_options
from ansible_collections.duplicati.fleet.plugins.module_utils import launchd
from ansible_collections.duplicati.fleet.plugins.module_utils import service_manager as sm
from ansible_collections.duplicati.fleet.plugins.module_utils import systemd
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError

ARG = st.text(alphabet=st.one_of(st.just('\t'), st.characters(blacklist_categories=('Cs', 'Cc'))), min_size=1, max_size=30)


def test_plain_options_are_written_bare():
    assert daemon_options.format_daemon_opts(['--webservice-port=8210', '--log-level=Information']) == \
        'DAEMON_OPTS="--webservice-port=8210 --log-level=Information"'


def test_empty_list_gives_the_package_default_line():
    assert daemon_options.format_daemon_opts([]) == 'DAEMON_OPTS=""'


def test_spaces_dollars_and_quotes_are_quoted():
    line = daemon_options.format_daemon_opts(['--a=b c', '--p=$HOME', "--q=it's", '--r=back\\slash"'])
    assert line == 'DAEMON_OPTS="\'--a=b c\' \'--p=\\$HOME\' \\"--q=it\'s\\" \\"--r=back\\\\\\\\slash\\\\\\"\\""'
    assert daemon_options.parse_daemon_opts(line) == ['--a=b c', '--p=$HOME', "--q=it's", '--r=back\\slash"']


@pytest.mark.parametrize('bad', ['', 'a\nb', 'x\0', 'form\x0cfeed', 5, None])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(DuplicatiError):
        daemon_options.format_daemon_opts(['--ok', bad])


@settings(max_examples=300, deadline=None)
@given(st.lists(ARG, max_size=6))
def test_round_trip(args):
    text = daemon_options.render_options_file('# Defaults for duplicati\nOTHER=1\n', args)
    assert daemon_options.parse_daemon_opts(text) == args
    assert 'OTHER=1' in text


@settings(max_examples=60, deadline=None)
@given(st.lists(ARG, max_size=5))
def test_a_shell_sourcing_the_file_and_splitting_the_value_gets_the_same_arguments(args):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'duplicati-agent')
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(daemon_options.render_options_file('', args))
        value = subprocess.run(['bash', '-c', '. "$1"; printf %s "$DAEMON_OPTS"', 'x', path],
                               check=True, capture_output=True, env={'LC_ALL': 'C.UTF-8'}).stdout.decode('utf-8')
    assert shlex.split(value) == args


def test_render_replaces_the_line_in_place_and_drops_duplicates():
    old = '# comment\nDAEMON_OPTS=""\nFOO=bar\nexport DAEMON_OPTS="--x"\n'
    new = daemon_options.render_options_file(old, ['--webservice-port=9000'])
    assert new == '# comment\nDAEMON_OPTS="--webservice-port=9000"\nFOO=bar\n'


def test_parse_of_a_file_without_the_variable_is_none():
    assert daemon_options.parse_daemon_opts('# nothing\n') is None
    assert daemon_options.parse_daemon_opts('') is None
    assert daemon_options.parse_daemon_opts('DAEMON_OPTS=""') == []
    assert daemon_options.parse_daemon_opts("DAEMON_OPTS='--a --b'") == ['--a', '--b']


def test_unbalanced_quotes_are_an_error():
    with pytest.raises(DuplicatiError):
        daemon_options.parse_daemon_opts('DAEMON_OPTS="--a')


def test_options_file_paths():
    assert systemd.options_file_path('agent', 'deb') == '/etc/default/duplicati-agent'
    assert systemd.options_file_path('server', 'deb') == '/etc/default/duplicati'
    assert systemd.options_file_path('agent', 'rpm') == '/etc/sysconfig/duplicati-agent'
    assert systemd.options_file_path('server', 'rpm') == '/etc/sysconfig/duplicati'
    with pytest.raises(DuplicatiError):
        systemd.options_file_path('tray', 'deb')
    with pytest.raises(DuplicatiError):
        systemd.options_file_path('agent', 'pkg')


def test_package_family_detection(tmp_path):
    (tmp_path / 'etc').mkdir()
    (tmp_path / 'etc' / 'redhat-release').write_text('Fedora')
    assert systemd.detect_package_family(str(tmp_path)) == 'rpm'
    (tmp_path / 'etc' / 'debian_version').write_text('12.5')
    assert systemd.detect_package_family(str(tmp_path)) == 'deb'


def test_environment_file_from_systemctl_show():
    out = 'EnvironmentFiles=/etc/sysconfig/duplicati-agent (ignore_errors=yes)\n'
    assert systemd.environment_file_from_show(out) == '/etc/sysconfig/duplicati-agent'
    assert systemd.environment_file_from_show('EnvironmentFiles=\n') is None


@pytest.mark.parametrize('active,enabled,state,want_enabled,changed,expected', [
    (False, False, 'started', True, False, ['enable', 'start']),
    (True, True, 'started', True, False, []),
    (True, True, 'started', None, True, ['restart']),
    (False, True, 'started', None, True, ['start']),
    (True, True, 'stopped', False, False, ['disable', 'stop']),
    (False, False, 'stopped', None, True, []),
    (True, True, 'restarted', None, False, ['restart']),
    (True, True, None, None, True, ['restart']),
    (False, True, None, None, True, []),
    (True, True, None, None, False, []),
])
def test_plan_actions(active, enabled, state, want_enabled, changed, expected):
    assert sm.plan_actions(active, enabled, state, want_enabled, changed) == expected


def test_plan_actions_refuses_unknown_state():
    with pytest.raises(DuplicatiError):
        sm.plan_actions(True, True, 'reloaded')


class FakeModule(object):
    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def get_bin_path(self, name, required=False):
        return '/bin/' + name

    def run_command(self, argv):
        self.calls.append(argv[1:])
        for prefix, answer in self.answers:
            if argv[1:1 + len(prefix)] == prefix:
                return answer
        return 0, '', ''


SHOW_LOADED = ('LoadState=loaded\nActiveState=inactive\nUnitFileState=enabled\n'
               'EnvironmentFiles=/etc/default/duplicati-agent (ignore_errors=yes)\nEnvironmentFiles=/etc/other (ignore_errors=no)\n')


def test_systemd_status_and_actions():
    module = FakeModule([
        (['show'], (0, SHOW_LOADED, '')),
        (['start'], (1, '', 'Job failed')),
    ])
    unit = systemd.SystemdService(module, 'duplicati-agent.service')
    assert unit.status() == {'active': False, 'enabled': True}
    assert unit.exists()
    assert unit.environment_file() == '/etc/default/duplicati-agent'
    # one systemctl call for everything the modules read
    assert module.calls == [['show', 'duplicati-agent.service', '--no-pager', '-p', 'LoadState,ActiveState,UnitFileState,EnvironmentFiles']]
    unit.apply('restart')
    assert ['restart', 'duplicati-agent.service'] in module.calls
    # an action makes the next read ask systemctl again
    unit.status()
    assert [c[0] for c in module.calls] == ['show', 'restart', 'show']
    with pytest.raises(DuplicatiError, match='Job failed'):
        unit.apply('start')


@pytest.mark.parametrize('active_state, unit_file_state, expected', [
    ('active', 'enabled', {'active': True, 'enabled': True}),
    ('activating', 'static', {'active': True, 'enabled': True}),
    ('reloading', 'enabled-runtime', {'active': True, 'enabled': True}),
    ('failed', 'disabled', {'active': False, 'enabled': False}),
    ('deactivating', 'masked', {'active': False, 'enabled': False}),
    ('inactive', 'linked', {'active': False, 'enabled': False}),
])
def test_systemd_states(active_state, unit_file_state, expected):
    module = FakeModule([(['show'], (0, 'LoadState=loaded\nActiveState=%s\nUnitFileState=%s\n' % (active_state, unit_file_state), ''))])
    assert systemd.SystemdService(module, 'duplicati-agent.service').status() == expected


def test_systemd_unknown_unit():
    unit = systemd.SystemdService(FakeModule([(['show'], (0, 'LoadState=not-found\nActiveState=inactive\nUnitFileState=\nEnvironmentFiles=\n', ''))]),
                                  'duplicati-agent.service')
    assert not unit.exists()
    assert unit.environment_file() is None
    assert unit.status() == {'active': False, 'enabled': False}


def test_launchd_plist_round_trip():
    data = launchd.launchd_plist('com.duplicati.agent.launchdaemon', ['/usr/local/duplicati-agent/duplicati-agent', 'run', '--x=1'])
    assert b'<key>RunAtLoad</key>' in data
    assert launchd.plist_program_arguments(data) == ['/usr/local/duplicati-agent/duplicati-agent', 'run', '--x=1']
    assert launchd.plist_program_arguments(b'not a plist') is None


def test_launchd_disabled_parsing_and_start():
    out = 'disabled services = {\n\t"com.duplicati.agent.launchdaemon" => disabled\n\t"com.apple.x" => enabled\n}\n'
    assert launchd.parse_launchctl_disabled(out, 'com.duplicati.agent.launchdaemon') is True
    assert launchd.parse_launchctl_disabled(out, 'com.apple.x') is False
    assert launchd.parse_launchctl_disabled(out, 'other') is None
    module = FakeModule([(['print', 'system/com.duplicati.agent.launchdaemon'], (113, '', 'not found'))])
    job = launchd.LaunchdService(module, 'com.duplicati.agent.launchdaemon', '/Library/LaunchDaemons/x.plist', 'system')
    job.apply('start')
    assert module.calls[-1] == ['bootstrap', 'system', '/Library/LaunchDaemons/x.plist']


@pytest.mark.parametrize('text, expected', [
    ('', ('/root/.config/Duplicati/agent.json', '/root/.config/Duplicati', False)),
    ('DAEMON_OPTS=""\n', ('/root/.config/Duplicati/agent.json', '/root/.config/Duplicati', False)),
    ('DAEMON_OPTS="--server-datafolder=/srv/duplicati"\n', ('/srv/duplicati/agent.json', '/srv/duplicati', True)),
    ('DAEMON_OPTS="--server-datafolder /srv/dup"\n', ('/srv/dup/agent.json', '/srv/dup', True)),
    ('# home of the agent\nDUPLICATI_HOME="/var/lib/duplicati"\nDAEMON_OPTS=""\n',
     ('/var/lib/duplicati/agent.json', '/var/lib/duplicati', True)),
    ("export DUPLICATI__SERVER_DATAFOLDER='/data/agent'\n", ('/data/agent/agent.json', '/data/agent', True)),
    # --server-datafolder wins over DUPLICATI_HOME (DataFolderManager.GetDataFolder)
    ('DUPLICATI_HOME=/var/lib/duplicati\nDAEMON_OPTS="--server-datafolder=/srv/duplicati"\n',
     ('/srv/duplicati/agent.json', '/srv/duplicati', True)),
    ('DAEMON_OPTS="--agent-settings-file=/etc/duplicati/agent.json"\n',
     ('/etc/duplicati/agent.json', '/root/.config/Duplicati', False)),
    ('DAEMON_OPTS="--portable-mode=true"\n', ('/usr/lib/duplicati/data/agent.json', '/usr/lib/duplicati/data', True)),
])
def test_agent_service_paths_are_resolved_as_the_agent_does(text, expected):
    assert systemd.agent_service_paths(text, install_dir='/usr/lib/duplicati') == expected


def test_environment_file_variables():
    text = '# c\nA=1\nexport B="two words"\nbad line\nA=3\nDAEMON_OPTS="--x=1"\n'
    assert daemon_options.parse_environment_file(text) == {'A': '3', 'B': 'two words', 'DAEMON_OPTS': '--x=1'}
