# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""extensions/awx/credential_type.yml: accepted by the controller's rules, and injecting exactly
the environment variables the collection reads."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import glob
import os
import re

import pytest

from ansible_collections.duplicati.fleet.tests.ecosystem.awx_credential import (
    COLLECTION_ROOT, CredentialTypeError, check_credential_type, inject_env, load_credential_type)

ENV_FALLBACK = re.compile(r"fallback=\(env_fallback, \[([^\]]*)\]\)")
ENV_LOOKUP = re.compile(r"lookup\(\s*'(?:ansible\.builtin\.)?env',\s*'([A-Z0-9_]+)'")


def _read(pattern):
    for path in glob.glob(os.path.join(COLLECTION_ROOT, pattern), recursive=True):
        with open(path) as handle:
            yield path, handle.read()


def module_env_fallbacks():
    """Environment variable -> whether the option it feeds is no_log, over every plugin."""
    found = {}
    for dummy, text in _read('plugins/**/*.py'):
        for line in text.splitlines():
            match = ENV_FALLBACK.search(line)
            if match:
                for name in re.findall(r"'([A-Z0-9_]+)'", match.group(1)):
                    found[name] = found.get(name, False) or 'no_log=True' in line
    return found


def role_env_lookups():
    names = set()
    for pattern in ('roles/**/*.yml', 'playbooks/**/*.yml'):
        for dummy, text in _read(pattern):
            names.update(ENV_LOOKUP.findall(text))
    return names


@pytest.fixture(scope='module')
def definition():
    return load_credential_type()


def test_every_connection_env_var_is_injected(definition):
    fallbacks = module_env_fallbacks()
    assert {'DUPLICATI_HOST_URL', 'DUPLICATI_PASSWORD', 'DUPLICATI_REGISTRATION_URL', 'SETTINGS_ENCRYPTION_KEY'} <= set(fallbacks)
    assert set(fallbacks) <= set(definition['injectors']['env'])


def test_every_injected_env_var_is_read_by_the_collection(definition):
    read = set(module_env_fallbacks()) | role_env_lookups()
    unread = set(definition['injectors']['env']) - read
    assert not unread, 'injected but read by no module option, role or playbook: %s' % ', '.join(sorted(unread))


def test_secrets_are_secret_fields(definition):
    fallbacks = module_env_fallbacks()
    fields = dict((field['id'], field) for field in definition['inputs']['fields'])
    for env_name, template in definition['injectors']['env'].items():
        field_id = template.strip('{} ')
        secret = fallbacks.get(env_name, True)  # a value read by a role is a passphrase or a link
        assert bool(fields[field_id].get('secret')) == secret, field_id
    assert definition['injectors'].get('extra_vars') is None  # secrets would show in the job's variables


def test_inject_env_renders_each_input_and_blanks_the_rest(definition):
    env = inject_env(definition, {'registration_url': 'https://console.example/remotecontrol/register?token=t0k',
                                  'settings_passphrase': 'eight+chars', 'host_url': 'http://10.0.0.5:8200/'})
    assert env['DUPLICATI_REGISTRATION_URL'] == 'https://console.example/remotecontrol/register?token=t0k'
    assert env['DUPLICATI_AGENT_SETTINGS_PASSPHRASE'] == 'eight+chars'
    assert env['DUPLICATI_HOST_URL'] == 'http://10.0.0.5:8200/'
    assert env['DUPLICATI_PASSWORD'] == '' and env['SETTINGS_ENCRYPTION_KEY'] == ''
    assert len(env) == len(definition['injectors']['env'])


def test_inject_env_refuses_undeclared_inputs(definition):
    with pytest.raises(CredentialTypeError, match='does not declare: registration_link'):
        inject_env(definition, {'registration_link': 'x'})


@pytest.mark.parametrize('change, message', [
    (lambda d: d['injectors']['env'].update(ANSIBLE_HOST_KEY_CHECKING='{{ host_url }}'), 'does not inject'),
    (lambda d: d['injectors']['env'].update(PATH='{{ host_url }}'), 'does not inject'),
    (lambda d: d['injectors']['env'].update(DUPLICATI_X='{{ no_such_field }}'), 'undeclared fields: no_such_field'),
    (lambda d: d['inputs']['fields'].append(dict(d['inputs']['fields'][0])), 'repeat'),
    (lambda d: d['inputs'].update(required=['nothing']), 'do not exist: nothing'),
    (lambda d: d.update(kind='ssh'), 'kind cloud or net'),
])
def test_check_refuses_what_the_controller_refuses(definition, change, message):
    broken = copy.deepcopy(definition)
    change(broken)
    with pytest.raises(CredentialTypeError, match=message):
        check_credential_type(broken)
