# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host URL without a port: the refresh cookie is ``RefreshToken_0``.

The server names the refresh cookie ``RefreshToken_{Request.Host.Port ?? 0}``
(``Auth.cs``, ``GetCookieName``), and a client leaves the port out of the ``Host`` header
when the URL has none. To reach the emulated server at ``http://127.0.0.1/`` the test
binds it to port 80 inside a network namespace of its own (``unshare --net``), where
nothing else listens, and runs the whole exchange there: a stored login, its rotation
on the next run, and a logout that really ends the token family.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.duplicati.fleet.tests.emulator import child_environment

SCRIPT = r'''
import json, subprocess, sys
subprocess.check_call(['ip', 'link', 'set', 'lo', 'up'])
from ansible_collections.duplicati.fleet.plugins.module_utils import serverutil_settings
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import PASSWORD, client, server


def entry(path, url):
    return serverutil_settings.find_entry(serverutil_settings.load_serverutil_settings(path, None), url)


def exchange(h, url, path, host_header):
    out = {}
    first = client(h, host_url=url, password=PASSWORD, settings_file=path, persist=True)
    out['login'] = first.login()
    out['cookie'] = first.transport.refresh_cookie_name
    stored = entry(path, url)
    out['second'] = client(h, host_url=url, settings_file=path).login()
    rotated = entry(path, url)
    out['rotated'] = rotated['RefreshToken'] != stored['RefreshToken']
    out['families_before_logout'] = h.request('GET', '/_emulator/state').json()['token_families']
    out['logout'] = client(h, host_url=url, settings_file=path).logout()
    out['families_after_logout'] = h.request('GET', '/_emulator/state').json()['token_families']
    reply = h.request('POST', '/api/v1/auth/refresh', json_body={'Nonce': rotated['RefreshNonce']},
                      headers={'Cookie': '%s=%s' % (out['cookie'], rotated['RefreshToken'])}, host_header=host_header)
    out['old_token_after_logout'] = reply.status
    return out


def server_login_twice(url, path):
    import os
    from ansible_collections.duplicati.fleet.tests.unit.plugins import module_process
    args = dict(host_url=url, password=PASSWORD, settings_file=path)
    runs = [module_process.run('server_login', args, os.path.dirname(path)) for dummy in range(2)]
    return [(run.get('failed', False), run.get('changed')) for run in runs]


with server(port=80) as h:
    print(json.dumps({
        'portless': exchange(h, 'http://127.0.0.1/', sys.argv[1] + '-portless', '127.0.0.1'),
        'explicit': exchange(h, 'http://127.0.0.1:80/', sys.argv[1] + '-explicit', '127.0.0.1:80'),
        'server_login': server_login_twice('http://127.0.0.1/', sys.argv[1] + '-module'),
    }))
'''


def _can_unshare():
    if not shutil.which('unshare') or not shutil.which('ip'):
        return False
    return subprocess.call(['unshare', '-rn', 'true'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


@pytest.mark.skipif(not _can_unshare(), reason='needs unshare --net (a network namespace) and ip')
def test_stored_login_rotation_and_logout_without_a_port(tmp_path):
    path = str(tmp_path / 'settings.json')
    env = child_environment()
    env['PYTHONPATH'] = os.pathsep.join([env['PYTHONPATH']] + [p for p in sys.path if p])
    proc = subprocess.run(['unshare', '-rn', sys.executable, '-c', SCRIPT, path], capture_output=True, env=env, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')
    results = json.loads(proc.stdout.decode('utf-8').strip().splitlines()[-1])
    # urllib sends the URL's host[:port] as written: no port, RefreshToken_0; an explicit :80, RefreshToken_80
    assert results['portless']['cookie'] == 'RefreshToken_0'
    assert results['explicit']['cookie'] == 'RefreshToken_80'
    # server_login stores the login once, then finds it working (before: changed on every run)
    assert results.pop('server_login') == [[False, True], [False, False]]
    for out in results.values():
        assert out['login'] == 'password'
        # the stored login is accepted (before: refused every run, so server_login changed forever)
        assert out['second'] == 'settings_file'
        assert out['rotated'] is True
        # logout reaches the family (before: the server saw no cookie and revoked nothing)
        assert out['logout'] is True
        assert out['families_after_logout'] == out['families_before_logout'] - 1
        assert out['old_token_after_logout'] == 401
