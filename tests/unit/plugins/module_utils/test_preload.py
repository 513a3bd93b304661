# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import preload as pl
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError

DATA = '/root/.config/Duplicati/'
INSTALL = '/usr/lib/duplicati'


def test_layout_for_version():
    assert pl.layout_for_version('2.1.0.5_stable_2025-03-04') == pl.LAYOUT_2_1
    assert pl.layout_for_version('v2.1.0.108_canary_2025-01-31') == pl.LAYOUT_2_2
    assert pl.layout_for_version('2.2.0.3') == pl.LAYOUT_2_2
    assert pl.layout_for_version('2.3.0.4') == pl.LAYOUT_2_2
    assert pl.layout_for_version('2.3.0.106') == pl.LAYOUT_2_2
    assert pl.layout_for_version('2.3.0.107') == pl.LAYOUT_CURRENT
    assert pl.layout_for_version('2.3.1.0_beta_2026-07-28') == pl.LAYOUT_CURRENT
    assert pl.layout_for_version(None) == pl.LAYOUT_CURRENT
    with pytest.raises(DuplicatiError):
        pl.layout_for_version('latest')


def test_locations_current():
    env = {'DUPLICATI_PRELOAD_SETTINGS': '/etc/dup/preload.json'}
    assert pl.preload_locations('linux', pl.LAYOUT_CURRENT, DATA, INSTALL, env) == [
        '/root/.config/Duplicati/preload.json', '/usr/lib/duplicati/preload.json', '/etc/dup/preload.json']


def test_locations_stable_linux_macos_windows():
    assert pl.preload_locations('linux', pl.LAYOUT_2_2, DATA, INSTALL, {}) == [
        '/usr/share/Duplicati/preload.json', '/usr/local/share/Duplicati/preload.json',
        '/root/.config/Duplicati/preload.json', '/usr/lib/duplicati/preload.json']
    assert pl.preload_locations('darwin', pl.LAYOUT_2_2, '/Users/a/Library/Application Support/Duplicati/',
                                '/usr/local/duplicati-agent', {}) == [
        '/usr/local/share/Duplicati/preload.json', '/Users/a/Library/Application Support/Duplicati/preload.json',
        '/usr/local/duplicati-agent/preload.json']
    assert pl.preload_locations('windows', pl.LAYOUT_2_2, 'C:\\ProgramData\\Duplicati\\', 'C:\\Program Files\\Duplicati Agent',
                                {'ProgramData': 'C:\\ProgramData'}) == [
        'C:\\ProgramData\\Duplicati\\preload.json', 'C:\\Program Files\\Duplicati Agent\\preload.json']


def test_locations_2_1_use_local_application_data():
    assert pl.preload_locations('linux', pl.LAYOUT_2_1, DATA, INSTALL, {}, home='/root') == [
        '/usr/share/Duplicati/preload.json', '/usr/local/share/Duplicati/preload.json',
        '/root/.local/share/Duplicati/preload.json', '/usr/lib/duplicati/preload.json']


def test_locations_bang_portable_and_unrooted():
    env = {'DUPLICATI_PRELOAD_SETTINGS': '!/only/this.json'}
    for layout in pl.LAYOUTS:
        assert pl.preload_locations('linux', layout, DATA, INSTALL, env, home='/root') == ['/only/this.json']
    env = {'DUPLICATI_PRELOAD_SETTINGS': '/e.json'}
    assert pl.preload_locations('linux', pl.LAYOUT_2_2, DATA, INSTALL, env, portable=True) == [
        '/usr/lib/duplicati/preload.json', '/e.json']
    env = {'DUPLICATI_PRELOAD_SETTINGS': 'relative.json'}
    assert pl.preload_locations('linux', pl.LAYOUT_CURRENT, DATA, INSTALL, env) == [
        '/root/.config/Duplicati/preload.json', '/usr/lib/duplicati/preload.json']
    with pytest.raises(DuplicatiError):
        pl.preload_locations('linux', 'bogus', DATA, INSTALL, {})


def test_bad_json_is_a_clear_error(tmp_path):
    path = tmp_path / 'preload.json'
    path.write_text(u'{"args": {"agent": ["--a=1",]}}')
    with pytest.raises(DuplicatiError) as err:
        pl.read_preload_file(str(path))
    assert 'not valid JSON' in str(err.value) and 'silently ignores' in str(err.value)
    assert pl.read_preload_file(str(tmp_path / 'absent.json')) == (None, [])


@pytest.mark.parametrize('doc, words', [
    ([], 'top level must be a JSON object'),
    ({'Args': {}}, "must be written 'args'"),
    ({'args': []}, 'must be an object keyed by executable'),
    ({'args': {'Agent': ['--a=1']}}, "must be written 'agent'"),
    ({'args': {'agentx': ['--a=1']}}, "unknown executable key 'agentx'"),
    ({'args': {'agent': '--a=1'}}, 'must be a list'),
    ({'args': {'agent': ['--webservice-port 8210']}}, 'not of the form --name=value'),
    ({'args': {'agent': ['webservice-port=8210']}}, 'by the text before "="'),
    ({'args': {'agent': ['--flag']}}, '--portable-mode=true'),
    ({'args': {'agent': [5]}}, 'must be a string'),
    ({'env': {'*': {'PORT': 8200}}}, 'values must be strings'),
    ({'env': {'*': ['A=1']}}, 'must be an object of name/value strings'),
    ({'db': {'server': {'--foo': 'x'}}}, 'without "--"'),
])
def test_validation_errors(doc, words):
    with pytest.raises(DuplicatiError) as err:
        pl.validate_preload(doc, 'p.json')
    assert words in str(err.value)


def test_validation_accepts_all_keys_and_warns_unknown_top_level():
    doc = {'env': dict((k, {'A': 'b'}) for k in pl.EXECUTABLE_KEYS + ('*',)), 'db': {'*': {'x': None}},
           'args': {'*': ['--a=1']}, 'comment': 'x'}
    warnings = pl.validate_preload(doc, 'p.json')
    assert len(warnings) == 1 and 'comment' in warnings[0]
    with pytest.raises(DuplicatiError):
        pl.validate_preload({'args': {'configuretool': []}}, 'p.json', version='2.2.0.3')


def test_effective_settings_merge_rules():
    first = {'env': {'*': {'A': 'g1', 'B': 'g1'}, 'agent': {'A': 'a1'}},
             'db': {'*': {'x': '1'}, 'server': {'x': '2'}},
             'args': {'*': ['--port=1', '--log=a'], 'agent': ['--port=2']}}
    second = {'env': {'*': {'b': 'g2'}},
              'args': {'*': ['--LOG=b'], 'agent': ['--extra=1']}}
    result = pl.effective_settings([first, None, second], 'agent')
    # env: case-insensitive merge keeps the first spelling; specific overrides generic
    assert result['env'] == {'A': 'a1', 'B': 'g2'}
    assert result['db'] == {'x': '1'}
    # args: * lists from all files, then specific; duplicates by name keep the last at its position
    assert result['args'] == ['--LOG=b', '--port=2', '--extra=1']
    assert pl.effective_settings([first], 'server')['db'] == {'x': '2'}
    assert pl.effective_settings([first], '*')['args'] == ['--port=1', '--log=a']
    assert pl.effective_settings([{'env': {'*': {'N': None}}}], 'cli')['env'] == {'N': ''}
    with pytest.raises(DuplicatiError):
        pl.effective_settings([], 'Agent')


def test_apply_to_process():
    assert pl.apply_arguments(['run', '--PORT=9'], ['--port=1', '--x=2']) == ['run', '--PORT=9', '--x=2']
    assert pl.apply_environment({'A': '1'}, {'A': '2', 'B': '3'}) == {'A': '1', 'B': '3'}


def test_merge_updates_given_keeps_rest_and_order():
    existing = {'args': {'agent': ['--a=1', '--b=2', '--c=3'], '*': ['--z=0']},
                'env': {'agent': {'KEEP': 'k', 'Port': '1'}}}
    changes = {'args': {'agent': ['--B=20', '--d=4']}, 'env': {'agent': {'PORT': '2', 'NEW': 'n'}},
               'db': {'server': {'opt': 'v'}}}
    merged = pl.merge_preload(existing, changes)
    assert merged['args'] == {'agent': ['--a=1', '--B=20', '--c=3', '--d=4'], '*': ['--z=0']}
    assert merged['env'] == {'agent': {'KEEP': 'k', 'PORT': '2', 'NEW': 'n'}}
    assert merged['db'] == {'server': {'opt': 'v'}}
    assert list(merged) == ['env', 'db', 'args']
    # the input is not modified and merging again changes nothing
    assert existing['args']['agent'] == ['--a=1', '--b=2', '--c=3']
    assert pl.merge_preload(merged, changes) == merged
    with pytest.raises(DuplicatiError):
        pl.merge_preload(existing, {'args': {'agent': ['--bad value']}})


def test_replace_and_render_stable():
    doc = {'args': {'agent': ['--a=1']}, 'env': {'*': {'X': 'é'}}}
    replaced = pl.replace_preload(doc)
    assert replaced == doc and replaced is not doc
    text = pl.render_preload(replaced)
    assert text == '{\n  "env": {\n    "*": {\n      "X": "é"\n    }\n  },\n  "args": {\n    "agent": [\n      "--a=1"\n    ]\n  }\n}\n'
    assert pl.render_preload(json.loads(text)) == text
    with pytest.raises(DuplicatiError):
        pl.replace_preload({'env': {'*': {'X': 1}}})


def test_masking_secrets():
    doc = {'args': {'agent': ['--agent-registration-url=https://api.duplicati.com/remotecontrol/register?x=1',
                              '--webservice-password=pw', '--settings-encryption-key=abcdefgh',
                              '--webservice-port=8210', '--some-url=https://h/p?token=abc',
                              '--target=s3://user:pass@host/b']},
           'env': {'*': {'DUPLICATI__REGISTER_REMOTE_CONTROL': 'https://x/y', 'SETTINGS_ENCRYPTION_KEY': 'k',
                         'TZ': 'UTC', 'DUPLICATI__WEBSERVICE_PASSWORD': 'p'}},
           'db': {'server': {'passphrase': 'x', 'remote-control-storage-api-key': 'y', 'update-channel': 'stable'}}}
    masked = pl.mask_preload(doc)
    assert masked['args']['agent'] == ['--agent-registration-url=********', '--webservice-password=********',
                                       '--settings-encryption-key=********', '--webservice-port=8210',
                                       '--some-url=********', '--target=********']
    assert masked['env']['*'] == {'DUPLICATI__REGISTER_REMOTE_CONTROL': '********', 'SETTINGS_ENCRYPTION_KEY': '********',
                                  'TZ': 'UTC', 'DUPLICATI__WEBSERVICE_PASSWORD': '********'}
    assert masked['db']['server'] == {'passphrase': '********', 'remote-control-storage-api-key': '********',
                                      'update-channel': 'stable'}
    assert doc['env']['*']['TZ'] == 'UTC' and doc['args']['agent'][1] == '--webservice-password=pw'
    assert 'pw' not in json.dumps(masked) and 'abc' not in json.dumps(masked)
