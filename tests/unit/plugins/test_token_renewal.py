# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An access token that expires in the middle of ``backup_run wait=true`` is renewed.

The emulated server hands out access tokens that live ``TOKEN_SECONDS`` (set with
``--access-token-minutes`` as a fraction of a minute), while the backup run lasts
``RUN_SECONDS``, longer than a token lifetime plus the 5 s of clock skew the server
allows when it validates a token. The module must wait the run out and report
its result, renewing its login on the way without the caller noticing:

* as shipped, the client renews a token before it expires (a safety margin);
* when the host's clock is an hour behind the server's, the client thinks the token
  still valid; the server refuses it with 401 and the client renews and repeats the call.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.duplicati.fleet.plugins.module_utils import auth
from ansible_collections.duplicati.fleet.plugins.modules import backup_run
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import connection, run_module, server, state

TOKEN_SECONDS = 1.5
RUN_SECONDS = 8.0      # longer than a token's lifetime plus the server's 5 s validation skew


def waited_run(monkeypatch):
    argv = ('--seed-backups', '1', '--run-duration', str(RUN_SECONDS), '--access-token-minutes', str(TOKEN_SECONDS / 60.0))
    with server(*argv) as harness:
        began = time.monotonic()
        result = run_module(monkeypatch, backup_run, connection(harness, backup='1', wait=True, poll_interval=1))
        elapsed = time.monotonic() - began
        log = [(entry[1], entry[2], entry[3]) for entry in list(harness.app.log)]
        after = state(harness)
    return result, elapsed, log, after


def test_token_is_renewed_before_it_expires(monkeypatch):
    result, elapsed, log, after = waited_run(monkeypatch)
    assert result['failed'] is False, result.get('msg')
    assert result['result'] == 'Success' and after['runs_finished'] == 1
    assert elapsed > 2 * TOKEN_SECONDS
    polls = [entry for entry in log if entry[1] == '/api/v1/serverstate']
    renewals = [entry for entry in log if entry[1] in ('/api/v1/auth/refresh', '/api/v1/auth/login') and entry[2] == 200]
    assert len(polls) >= 3
    assert len(renewals) >= 2, 'the login was never renewed: %r' % log
    assert all(status == 200 for dummy, dummy, status in polls)


def test_expired_token_refused_by_the_server_is_renewed_and_the_call_repeated(monkeypatch):
    token_expiry = auth.token_expiry

    def clock_an_hour_behind(token):
        expiry = token_expiry(token)
        return None if expiry is None else expiry + 3600

    monkeypatch.setattr(auth, 'token_expiry', clock_an_hour_behind)
    result, elapsed, log, after = waited_run(monkeypatch)
    assert result['failed'] is False, result.get('msg')
    assert result['result'] == 'Success' and after['runs_finished'] == 1
    refused = [i for i, entry in enumerate(log) if entry[1] == '/api/v1/serverstate' and entry[2] == 401]
    assert refused, 'the token never expired during the wait: %r' % log
    for index in refused:
        # each refusal is followed by a renewal and the same call again, answered
        following = log[index + 1:index + 3]
        assert following[0][1] in ('/api/v1/auth/refresh', '/api/v1/auth/login') and following[0][2] == 200, log
        assert following[1] == ('GET', '/api/v1/serverstate', 200), log
