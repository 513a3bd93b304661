# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site the ecosystem tests run AWX-style jobs against: the emulated console and the agent stand-in."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import secrets
import subprocess
import sys

import pytest


def _emulator(*args):
    path = [os.environ.get('ANSIBLE_COLLECTIONS_PATH'), os.environ.get('PYTHONPATH')]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in path if p))
    return subprocess.run([sys.executable, '-m', 'ansible_collections.duplicati.fleet.tests.emulator'] + list(args),
                          env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def site(tmp_path):
    """A private work folder, the emulated console with one link, and the agent stand-in."""
    os.chmod(str(tmp_path), 0o700)
    token = secrets.token_urlsafe(24)
    token_file = tmp_path / 'tokens.json'
    token_file.write_text(json.dumps({'awx': token}))
    os.chmod(str(token_file), 0o600)
    state = str(tmp_path / 'console')
    console = json.loads(_emulator('start', 'console', '--state-dir', state, '--token-file', str(token_file),
                                   '--max-lifetime', '600'))
    install = tmp_path / 'install'
    install.mkdir()
    (install / 'package_type_id.txt').write_text('linux-x64-agent.deb\n')
    (install / 'autoupdate.manifest').write_text('{"Version": "2.3.0.4"}')
    agent = tmp_path / 'duplicati-agent'
    agent.write_text('#!/bin/sh\nPYTHONPATH=%s DUPLICATI_EMULATOR_INSTALL_DIR=%s DUPLICATI_EMULATOR_RETRY_SECONDS=0 '
                     'exec %s -m ansible_collections.duplicati.fleet.tests.emulator.agent "$@"\n'
                     % (os.environ.get('ANSIBLE_COLLECTIONS_PATH', ''), install, sys.executable))
    os.chmod(str(agent), 0o755)
    try:
        yield dict(work=tmp_path, console=console['url'], token=token, agent=str(agent),
                   url=console['url'] + 'remotecontrol/register?token=' + token)
    finally:
        _emulator('stop', '--state-dir', state, 'console')
