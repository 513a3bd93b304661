# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import preload as pl
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError


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
    ({'db': {'server': {'--foo': 'x', 'foo': 'y'}}}, "both as '--foo' and 'foo'"),
    ({'db': {'*': {'foo': 'x'}, 'server': {'--FOO': 'y'}}}, "db.server gives the option both"),
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


def test_db_names_with_dashes_are_accepted_and_merge_with_the_bare_name():
    # Connection.SetPreloadSettingsIfChanged adds "--" only when a name lacks it: both spellings are one setting.
    assert pl.validate_preload({'db': {'server': {'--update-channel': 'beta'}, '*': {'--x': '1'}}}) == []
    existing = {'db': {'server': {'update-channel': 'stable', 'keep': '1'}}}
    merged = pl.merge_preload(existing, {'db': {'server': {'--update-channel': 'beta'}}})
    assert merged['db'] == {'server': {'keep': '1', '--update-channel': 'beta'}}
    back = pl.merge_preload(merged, {'db': {'server': {'Update-Channel': 'canary'}}})
    assert back['db'] == {'server': {'keep': '1', 'Update-Channel': 'canary'}}
    assert pl.merge_preload({'env': {'*': {'--A': '1'}}}, {'env': {'*': {'A': '2'}}})['env'] == {'*': {'--A': '1', 'A': '2'}}
