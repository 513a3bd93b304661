# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What module runs leave behind on the server: token families and a shared stored login.

* Every login inserts a ``TokenFamily`` row (``TokenFamilyStore.CreateTokenFamilyAsync``)
  that only a logout or a JWT reset removes, so a run that logged in for itself alone
  logs out before it exits: the family count is the same after the run as before.
* Runs that share one stored login rotate it one after the other under the settings
  file's lock. The server invalidates a family whose refresh token is more than
  ``MaxRefreshTokenDrift`` rotations behind (``LoginProvider.PerformLoginWithRefreshTokenAsync``),
  so parallel runs that each rotate the token they read would kill the stored login.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.module_utils import basic

from ansible_collections.duplicati.fleet.plugins.module_utils import auth, serverutil_settings
from ansible_collections.duplicati.fleet.plugins.modules import backup_info, server_info
from ansible_collections.duplicati.fleet.tests.emulator.httpbase import Faults
from ansible_collections.duplicati.fleet.tests.unit.plugins import module_process
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import PASSWORD, client, server
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import connection, run_module, state

PARALLEL_RUNS = 6


def test_runs_that_log_in_with_the_password_leave_no_token_family(monkeypatch):
    with server('--seed-backups', '1') as h:
        before = state(h)['token_families']
        ok = run_module(monkeypatch, server_info, connection(h))
        assert not ok['failed'], ok['msg']
        checked = run_module(monkeypatch, server_info, connection(h), check_mode=True)
        assert not checked['failed'], checked['msg']
        failed = run_module(monkeypatch, backup_info, connection(h, backup='no such backup'))
        assert failed['failed']
        assert state(h)['token_families'] == before


def test_a_stored_login_is_not_logged_out_by_the_run(monkeypatch, tmp_path):
    path = str(tmp_path / 'settings.json')
    with server() as h:
        client(h, password=PASSWORD, settings_file=path, persist=True).login()
        before = state(h)['token_families']
        result = run_module(monkeypatch, server_info, dict(host_url=h.url, settings_file=path))
        assert not result['failed'], result['msg']
        assert state(h)['token_families'] == before == 1
        assert client(h, settings_file=path).login() == auth.METHOD_STORED_LOGIN


def test_tokens_obtained_at_run_time_are_no_log_values(monkeypatch):
    seen = []
    original = basic.AnsibleModule.exit_json

    def exit_json(self, **kwargs):
        seen.extend(self.no_log_values)
        return original(self, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    with server() as h:
        with pytest.raises(SystemExit):
            run_module_unpatched(monkeypatch, h)
        kinds = set()
        for value in seen:
            try:
                kinds.add(h.app.tokens.validate(value)['typ'])
            except Exception:  # pylint: disable=broad-except
                continue  # the password, the nonce
        assert kinds == {'AccessToken', 'RefreshToken'}


def run_module_unpatched(monkeypatch, h):
    from ansible.module_utils.testing import patch_module_args
    with patch_module_args(dict(connection(h), _ansible_check_mode=False, _ansible_diff=False)):
        server_info.main()


def test_parallel_runs_share_one_stored_login(tmp_path):
    path = str(tmp_path / 'settings.json')
    # latency makes every run's refresh overlap the others'
    with server('--seed-backups', '1', faults=Faults(latency=0.2)) as h:
        client(h, password=PASSWORD, settings_file=path, persist=True).login()
        first = h.app.tokens.validate(serverutil_settings.load_serverutil_settings(path, None)[0]['RefreshToken'])
        procs = [module_process.start('backup_info', dict(host_url=h.url, settings_file=path), tmp_path) for dummy in range(PARALLEL_RUNS)]
        results = [module_process.result_of(proc) for proc in procs]
        assert [r.get('failed', False) for r in results] == [False] * PARALLEL_RUNS, [r.get('msg') for r in results]
        assert state(h)['token_families'] == 1
        assert client(h, settings_file=path).login() == auth.METHOD_STORED_LOGIN
        entry = serverutil_settings.find_entry(serverutil_settings.load_serverutil_settings(path, None), h.url)
        claims = h.app.tokens.validate(entry['RefreshToken'])
        assert int(claims['cnt']) - int(first['cnt']) == PARALLEL_RUNS + 1  # one rotation per run, and the check above
