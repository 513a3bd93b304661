# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every secret-named Duplicati option, and URLs with credentials or tokens, fed through the modules
that take them: none may show in the result, the diff, the ``invocation`` of ``-vvv`` or the line
``AnsibleModule`` logs to syslog/journald when it starts.

The modules run for real (``exit_json`` prints the result as it does for Ansible, with its
``invocation``); ``AnsibleModule.log`` is replaced by a recorder, so the logged text is what
syslog would get.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.duplicati.fleet.plugins.module_utils import secrets
from ansible_collections.duplicati.fleet.plugins.module_utils import agent_host
from ansible_collections.duplicati.fleet.plugins.modules import backup, preload, service
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.test_secrets import (
    DUPLICATI_SECRET_OPTIONS, SECRET_URLS, URL_OPTIONS, secret_for)
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import connection, server
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.test_agent_info import _systemd_module
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules import test_service

SECRETS = [secret_for(name) for name in DUPLICATI_SECRET_OPTIONS]
URL_SECRETS = sorted(set(part for url in SECRET_URLS for part in secrets.url_secrets(url)))
ARGS = (['--%s=%s' % (name.lower().replace('_', '-'), secret_for(name)) for name in DUPLICATI_SECRET_OPTIONS]
        + ['--%s=%s' % (name, url) for name in URL_OPTIONS for url in SECRET_URLS])
COUNTS = {'cases': 0, 'leaks': 0}
unit = test_service.unit  # the systemd unit stand-in of the service tests


def run_real(monkeypatch, capsys, module, args, check_mode=False):
    """The module's printed result and every line it logged."""
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: logged.append(
        msg + ' ' + json.dumps(log_args or {})))
    with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=True, _ansible_verbosity=3)):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out), out + '\n'.join(logged)


def leaks(text):
    COUNTS['cases'] += 1
    found = [s for s in SECRETS + URL_SECRETS if s in text]
    COUNTS['leaks'] += len(found)
    return found


@pytest.mark.parametrize('check_mode', [False, True])
def test_preload_shows_no_secret(monkeypatch, capsys, tmp_path, check_mode):
    args = {'path': str(tmp_path / 'preload.json'),
            'args': {'agent': ARGS},
            'env': {'*': dict((name.upper().replace('-', '_'), secret_for(name)) for name in DUPLICATI_SECRET_OPTIONS)},
            'db': {'server': dict((name.lower().replace('_', '-'), secret_for(name)) for name in DUPLICATI_SECRET_OPTIONS)}}
    result, text = run_real(monkeypatch, capsys, preload, args, check_mode)
    assert result['changed'] and 'diff' in result and 'invocation' in result, result
    assert 'Invoked with' in text
    assert leaks(text) == []


def test_service_shows_no_secret(monkeypatch, capsys, tmp_path, unit):
    path = tmp_path / 'duplicati-agent'
    path.write_text('DAEMON_OPTS="%s"\n' % ' '.join(ARGS[:3]))
    result, text = run_real(monkeypatch, capsys, service, {'name': 'agent', 'daemon_opts': ARGS, 'options_file': str(path)})
    assert result['changed'] and result['diff']['before'] and result['daemon_opts'], result
    assert leaks(text) == []
    assert all(secret_for(name) in path.read_text() for name in DUPLICATI_SECRET_OPTIONS)  # written, only not shown


def test_agent_info_shows_no_secret(monkeypatch, capsys, tmp_path):
    options = tmp_path / 'duplicati-agent'
    options.write_text('DAEMON_OPTS="%s"\n' % ' '.join(ARGS))
    show = 'LoadState=loaded\nActiveState=active\nUnitFileState=enabled\nEnvironmentFiles=%s\n' % options
    state = agent_host.service_state(_systemd_module(show), 'linux')
    # the options file's own text is compared with the desired options and dropped before the result (agent_info.gather)
    assert state.pop('options_text') == options.read_text()
    assert len(state['daemon_opts']) == len(ARGS)
    assert leaks(json.dumps(state)) == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_backup_replace_settings_and_config_show_no_secret(monkeypatch, capsys, check_mode):
    config = {'Backup': {'Name': 'Leaky', 'TargetURL': SECRET_URLS[2], 'Sources': ['/data/'],
                         'Settings': [{'Name': '--' + name.lower().replace('_', '-'), 'Value': secret_for(name)}
                                      for name in DUPLICATI_SECRET_OPTIONS]},
              'Schedule': None, 'DisplayNames': {}}
    replace = {'targeturl': SECRET_URLS[0], 'settings.passphrase': secret_for('passphrase'),
               'settings.auth-password': secret_for('auth-password')}
    with server('--seed-backups', '1') as harness:
        result, text = run_real(monkeypatch, capsys, backup, connection(harness, name='Leaky', config=config,
                                                                        replace_settings=replace), check_mode)
    assert result['changed'] and 'invocation' in result, result
    assert leaks(text) == []


def test_error_messages_mask_credentials_in_urls(monkeypatch, capsys):
    for url in ('http://admin:pa55word@127.0.0.1:1/', 'http://127.0.0.1:1/?token=abcd1234efgh'):
        result, text = run_real(monkeypatch, capsys, backup, {'host_url': url, 'password': 'x', 'name': 'n', 'state': 'absent'})
        assert result['failed'], result
        assert leaks(text) == [], result['msg']


def test_counts():
    """Runs last in this file: how many outputs were searched, how many secrets were found."""
    print('\nsecret leak cases: %d outputs searched for %d secrets each, %d leaks'
          % (COUNTS['cases'], len(SECRETS + URL_SECRETS), COUNTS['leaks']))
    assert COUNTS['leaks'] == 0
