# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The duplicati_agent role's input rules and derived values (plugins/filter/agent_inputs.py).

The service options and the preload.json args are also rendered with the Jinja expressions the role used before
these filters, over a grid of inputs: the filters must give the same values, so that no converged host drifts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import itertools

import pytest

from ansible.errors import AnsibleFilterError
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 templates any string
    def trust_as_template(template):
        return template

from ansible_collections.duplicati.fleet.plugins.filter import agent_inputs as ai
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.preload import validate_preload

DEFAULTS = {
    'package_source': 'release', 'package_url': '', 'package_checksum': '', 'package_file': '',
    'local_access': False, 'local_password': '', 'settings_passphrase': '', 'registration_url': '',
    'registration_throttle': 20, 'registration_timeout': 120, 'registration_retries': 8, 'webservice_port': 8210,
    'daemon_opts': [], 'version': 'latest', 'preload_args': {}, 'preload_env': {}, 'preload_db': {},
}


def _errors(**changes):
    inputs = dict(DEFAULTS)
    inputs.update(changes)
    return ai.agent_input_errors(inputs)


def test_the_defaults_break_no_rule():
    assert _errors() == []
    assert _errors(package_source='url', package_url='https://m/x.deb', package_checksum='sha256:' + 'ab' * 32,
                   local_access='yes', local_password='secret', settings_passphrase='12345678',
                   registration_url='https://app.duplicati.com/register?token=x', webservice_port='8300',
                   daemon_opts=['--log-level=information'], version='2.3.0.4', registration_retries=0) == []


@pytest.mark.parametrize('changes, word', [
    (dict(package_source='url', package_url='https://m/x.deb'), 'package_source=url needs'),
    (dict(package_source='url', package_checksum='sha256:ab'), 'package_source=url needs'),
    (dict(package_source='file'), 'package_source=file needs'),
    (dict(package_source='file', package_file=5), 'package_source=file needs'),
    (dict(package_checksum='ab12'), 'must be algorithm:hex'),
    (dict(package_checksum='sha256:xyz'), 'must be algorithm:hex'),
    (dict(local_access=True), 'local_access=true needs'),
    (dict(local_access='yes', local_password=None), 'local_access=true needs'),
    (dict(settings_passphrase='short'), 'at least 8 characters'),
    (dict(settings_passphrase=12345678), 'at least 8 characters'),
    (dict(registration_url='ftp://x'), 'http:// or https:// URL'),
    (dict(registration_url=42), 'http:// or https:// URL'),
    (dict(registration_throttle=0), 'throttle must be at least 1'),
    (dict(registration_timeout='none'), 'timeout must be at least 1'),
    (dict(registration_retries=-1), 'retries must be 0 or more'),
    (dict(webservice_port=0), 'between 1 and 65535'),
    (dict(webservice_port='65536'), 'between 1 and 65535'),
    (dict(daemon_opts='--log-level=information'), 'daemon_opts must be a list'),
    (dict(daemon_opts={'--a': 1}), 'daemon_opts must be a list'),
    (dict(daemon_opts=['log-level=information']), 'daemon_opts must be a list'),
    (dict(daemon_opts=[5]), 'daemon_opts must be a list'),
    (dict(version='2.3'), None),
    (dict(version='2'), "must be 'latest' or a version"),
    (dict(version=2.3), "must be 'latest' or a version"),
    (dict(preload_env=[]), 'must be dictionaries'),
    (dict(preload_args={'agent': '--log-level=information'}), 'give each executable a list of options'),
    (dict(preload_args={'server': {'a': 1}}), 'give each executable a list of options'),
    # re's $ also matches before a final line break: the value would pass with it
    (dict(version='2.3.0.4\n'), "must be 'latest' or a version"),
    (dict(package_checksum='sha256:ab\n'), 'must be algorithm:hex'),
    # the preload module takes only text entries: refused here, with this rule's message, before any step
    (dict(preload_args={'agent': [123]}), 'give each executable a list of options'),
    (dict(preload_args={'agent': ['--a=1', {'x': 1}]}), 'give each executable a list of options'),
    # a preload.json Duplicati would ignore as a whole (the Windows flow writes it without the preload module)
    (dict(preload_env={'agent': 'X=1'}), 'a preload.json Duplicati reads'),
    (dict(preload_env={'agent': {'X': {'nested': 1}}}), 'a preload.json Duplicati reads'),
    (dict(preload_db={'server': ['--a=1']}), 'a preload.json Duplicati reads'),
    (dict(preload_args={'agent': ['log-level=information']}), 'a preload.json Duplicati reads'),
    (dict(preload_args={'Agent': ['--a=1']}), 'a preload.json Duplicati reads'),
    (dict(preload_env={'agent': {'X': 1, 'Y': True, 'Z': None}}, preload_db={'*': {'a': 'b'}}), None),
])
def test_each_rule_names_only_itself(changes, word):
    errors = _errors(**changes)
    if word is None:
        assert errors == []
    else:
        assert len(errors) == 1 and word in errors[0], errors


def test_messages_never_hold_values():
    errors = _errors(local_access=True, settings_passphrase='secret!', registration_url='ftp://user:pw@host/x')
    assert len(errors) == 3
    assert not any(secret in ' '.join(errors) for secret in ('secret!', 'pw@host'))


def test_the_inputs_must_be_complete():
    inputs = dict(DEFAULTS)
    del inputs['version']
    with pytest.raises(AnsibleFilterError, match='exactly these keys'):
        ai.agent_input_errors(inputs)
    with pytest.raises(AnsibleFilterError):
        ai.agent_input_errors('package_source')


# --- the same values as the role's former Jinja expressions --------------------------------------------------

FORMER_DAEMON_OPTS = (
    "{{ ((port | int != 8210) | ternary(['--webservice-port=' ~ port | int], []))"
    " + (local_access | bool | ternary(['--disable-pre-shared-key=true', '--webservice-api-only=false'], []))"
    " + ((local_access | bool and signin | bool) | ternary(['--webservice-disable-signin-tokens=false'], []))"
    " + ((folder | length > 0) | ternary(['--server-datafolder=' ~ folder], []))"
    " + opts }}")
FORMER_PRELOAD_ENTRIES = (
    "{{ args | combine({'agent': (args.agent | default([]))"
    " + ((passphrase | length > 0) | ternary(['--agent-settings-file-passphrase=' ~ passphrase], []))"
    " + (local_access | bool | ternary(['--webservice-password=' ~ password], []))})"
    " | dict2items | rejectattr('value', 'equalto', []) | items2dict }}")


def _render(template, **variables):
    return Templar(loader=None, variables=variables).template(trust_as_template(template))


@pytest.mark.parametrize('port, local_access, signin, folder, opts', list(itertools.product(
    [8210, '8210', 8300, '8300'], [False, True, 'yes', 'false'], [False, True], ['', '/srv/agent data'],
    [[], ['--log-level=information', '--a=b c']])))
def test_daemon_opts_as_the_former_expression(port, local_access, signin, folder, opts):
    former = _render(FORMER_DAEMON_OPTS, port=port, local_access=local_access, signin=signin, folder=folder, opts=opts)
    assert ai.agent_daemon_opts(opts, webservice_port=port, local_access=local_access, local_signin_tokens=signin,
                                data_folder=folder) == former


@pytest.mark.parametrize('args, passphrase, local_access, password', list(itertools.product(
    [{}, {'agent': []}, {'agent': ['--log-level=information']}, {'server': ['--x=y'], 'agent': [], 'tray': []}],
    ['', 'a long passphrase'], [False, True, 'no'], ['', 'pw with blanks'])))
def test_preload_args_as_the_former_expression(args, passphrase, local_access, password):
    former = _render(FORMER_PRELOAD_ENTRIES, args=args, passphrase=passphrase, local_access=local_access, password=password)
    assert ai.agent_preload_args(args, settings_passphrase=passphrase, local_access=local_access,
                                 local_password=password) == former


# --- the Windows preload.json (tasks/Windows.yml): the former expression wrote numbers Duplicati cannot read --------

FORMER_PRELOAD_DOCUMENT = (
    "{{ {'args': entries, 'env': env, 'db': db} | dict2items | rejectattr('value', 'equalto', {}) | items2dict }}")


@pytest.mark.parametrize('entries, env, db', [
    ({'agent': ['--a=1']}, {'agent': {'X': 1, 'Y': True, 'Z': None}}, {}),
    ({}, {}, {'server': {'--retention': 7}}),
])
def test_the_windows_preload_document_is_one_duplicati_reads(entries, env, db):
    former = _render(FORMER_PRELOAD_DOCUMENT, entries=entries, env=env, db=db)
    with pytest.raises(DuplicatiError, match='values must be strings'):
        validate_preload(former)
    document = ai.agent_preload_document(entries, env=env, db=db)
    validate_preload(document)
    assert set(document) == set(former)
    assert ai.agent_preload_document({'agent': ['--a=1']}, env={'agent': {'X': 1, 'Y': True, 'Z': None}}) == {
        'args': {'agent': ['--a=1']}, 'env': {'agent': {'X': '1', 'Y': 'true', 'Z': None}}}
    assert ai.agent_preload_document({}) == {}
