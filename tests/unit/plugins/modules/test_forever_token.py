# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.duplicati.fleet.plugins.modules import forever_token, server_info
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import calls, connection, run_module, server


def test_issue_use_and_refuse_a_second(monkeypatch):
    with server('--webservice-enable-forever-token') as harness:
        check = run_module(monkeypatch, forever_token, connection(harness), check_mode=True)
        assert calls(harness, 'POST', '/api/v1/auth/issue-forever-token') == 0
        issued = run_module(monkeypatch, forever_token, connection(harness))
        used = run_module(monkeypatch, server_info, dict(host_url=harness.url, access_token=issued['token']))
        second = run_module(monkeypatch, forever_token, connection(harness))
    assert check['changed'] is True and 'token' not in check
    assert issued['changed'] is True and issued['token'].count('.') == 2
    assert used['failed'] is False and used['program_state'] == 'Running'
    assert second['failed'] is True and 'Restart the server' in second['msg']


def test_not_enabled_says_how_to_enable(monkeypatch):
    with server() as harness:
        result = run_module(monkeypatch, forever_token, connection(harness))
    assert result['failed'] is True
    assert '--webservice-enable-forever-token' in result['msg']
