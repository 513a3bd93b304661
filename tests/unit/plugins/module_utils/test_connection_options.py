# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared connection options: one spec, env fallbacks, secrets hidden, documented exactly."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.duplicati.fleet.plugins.doc_fragments.server import ModuleDocFragment
from ansible_collections.duplicati.fleet.plugins.module_utils import connection_options

EXPECTED = {
    'host_url': ('str', 'http://127.0.0.1:8200/', 'DUPLICATI_HOST_URL', False),
    'password': ('str', None, 'DUPLICATI_PASSWORD', True),
    'access_token': ('str', None, 'DUPLICATI_ACCESS_TOKEN', True),
    'server_data_folder': ('path', None, None, False),
    'settings_encryption_key': ('str', None, 'SETTINGS_ENCRYPTION_KEY', True),
    'settings_file': ('path', None, None, False),
    'agent_settings_file': ('path', None, None, False),
    'agent_settings_passphrase': ('str', None, None, True),
    'validate_certs': ('bool', True, None, False),
    'ca_path': ('path', None, None, False),
    'host_certificate': ('list', None, 'DUPLICATI_HOST_CERT', False),
    'timeout': ('int', 30, None, False),
}


def test_spec_has_exactly_the_connection_options():
    spec = connection_options.CONNECTION_ARGUMENT_SPEC
    assert sorted(spec) == sorted(EXPECTED)
    for name, (kind, default, env, secret) in EXPECTED.items():
        option = spec[name]
        assert option['type'] == kind, name
        assert option.get('default') == default, name
        assert bool(option.get('no_log')) == secret, name
        if env:
            assert option['fallback'][1] == [env], name
        else:
            assert 'fallback' not in option, name


def test_server_argument_spec_copies_and_refuses_shadowing():
    spec = connection_options.server_argument_spec(name=dict(type='str', required=True))
    assert 'name' in spec and 'host_url' in spec
    spec['host_url']['default'] = 'changed'
    assert connection_options.CONNECTION_ARGUMENT_SPEC['host_url']['default'] == 'http://127.0.0.1:8200/'
    with pytest.raises(ValueError, match='password'):
        connection_options.server_argument_spec(password=dict(type='str'))


def test_connection_params_picks_only_connection_options():
    params = dict((name, 'x') for name in EXPECTED)
    params['name'] = 'backup'
    assert connection_options.connection_params(params) == dict((name, 'x') for name in EXPECTED)


def test_doc_fragment_documents_exactly_the_spec():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
    options = doc['options']
    assert sorted(options) == sorted(EXPECTED)
    for name, (kind, default, env, dummy) in EXPECTED.items():
        assert options[name]['type'] == kind, name
        assert options[name].get('default') == default, name
        text = ' '.join(options[name]['description'])
        if env:
            assert 'E(%s)' % env in text, name
    notes = ' '.join(doc['notes'])
    assert 'Authentication order' in notes
    # the order is the one the Authenticator follows
    order = [notes.index(marker) for marker in ('O(access_token)', 'O(settings_file)', 'O(server_data_folder)', '4. O(password)')]
    assert order == sorted(order)


def _validate(args):
    return ArgumentSpecValidator(connection_options.server_argument_spec()).validate(args)


def test_env_fallbacks_fill_the_options_and_secrets_are_no_log(monkeypatch):
    secrets = dict(DUPLICATI_PASSWORD='pw-from-env-1', DUPLICATI_ACCESS_TOKEN='pre-auth-token-env',
                   SETTINGS_ENCRYPTION_KEY='key-from-env-1')
    monkeypatch.setenv('DUPLICATI_HOST_URL', 'https://nas.example:8200/')
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    result = _validate({'timeout': '7'})
    assert result.error_messages == []
    params = result.validated_parameters
    assert params['host_url'] == 'https://nas.example:8200/'
    assert params['password'] == 'pw-from-env-1'
    assert params['access_token'] == 'pre-auth-token-env'
    assert 'pre_shared_key' not in params  # no Duplicati takes a fixed pre-shared key
    assert params['settings_encryption_key'] == 'key-from-env-1'
    assert params['timeout'] == 7
    assert params['validate_certs'] is True
    # every secret, from the environment too, is masked in the module's output
    assert set(secrets.values()) <= set(result._no_log_values)
    assert 'https://nas.example:8200/' not in result._no_log_values


def test_explicit_option_beats_environment(monkeypatch):
    monkeypatch.setenv('DUPLICATI_HOST_URL', 'https://from-env:8200/')
    result = _validate({'host_url': 'http://10.0.0.5:8200/'})
    assert result.validated_parameters['host_url'] == 'http://10.0.0.5:8200/'


def test_defaults_without_environment(monkeypatch):
    for name in ('DUPLICATI_HOST_URL', 'DUPLICATI_PASSWORD', 'DUPLICATI_ACCESS_TOKEN', 'DUPLICATI_PRE_SHARED_KEY', 'SETTINGS_ENCRYPTION_KEY'):
        monkeypatch.delenv(name, raising=False)
    params = _validate({}).validated_parameters
    assert params['host_url'] == 'http://127.0.0.1:8200/'
    assert params['timeout'] == 30 and params['validate_certs'] is True
    assert params['password'] is None and params['settings_file'] is None


def test_bad_types_are_refused():
    result = _validate({'timeout': 'soon', 'validate_certs': 'maybe'})
    text = ' '.join(str(e) for e in result.errors)
    assert 'timeout' in text and 'validate_certs' in text
