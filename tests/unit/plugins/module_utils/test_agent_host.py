# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess
import sys

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_host as ah


def test_installed_agent_knowledge(tmp_path):
    install = tmp_path / 'lib'
    install.mkdir()
    (install / 'package_type_id.txt').write_text('\ufeff\n  linux-arm64-agent.deb \n')
    (install / 'autoupdate.manifest').write_text('//SIGNED abc\n{"Version": "2.3.0.4", "ReleaseType": "Stable"}')
    assert ah.read_package_type_id(str(install)) == 'linux-arm64-agent.deb'
    assert ah.read_installed_version(str(install)) == '2.3.0.4'
    assert ah.read_package_type_id(str(tmp_path)) == ''
    assert ah.read_installed_version(str(tmp_path)) is None
    link = tmp_path / 'duplicati-agent'
    (install / 'duplicati-agent').write_text('')
    link.symlink_to(install / 'duplicati-agent')
    assert ah.agent_install_dir(str(link)) == str(install)
    assert ah.default_agent_path('macos', exists=lambda p: False) == '/usr/local/duplicati-agent/duplicati-agent'
    assert ah.default_agent_path('linux', exists=lambda p: p == '/opt/duplicati/duplicati-agent') == '/opt/duplicati/duplicati-agent'


def test_agent_info_loads_neither_launchd_nor_agent_runner():
    """Every run of the role decides a host with one agent_info call. On Linux it does not import (and, from its
    AnsiballZ zip, compile on every call) the launchd code, the code that runs the agent binary, or AES."""
    code = ('import sys\n'
            'import ansible_collections.duplicati.fleet.plugins.modules.agent_info\n'
            'print(" ".join(sorted(m.rsplit(".", 1)[-1] for m in sys.modules if ".module_utils." in m)))\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    loaded = subprocess.check_output([sys.executable, '-c', code], env=env).decode().split()
    assert 'agent_host' in loaded
    assert 'launchd' not in loaded
    assert 'agent_runner' not in loaded
    assert 'aescrypt' not in loaded  # AES only when a value must be decrypted (agent_settings.holds_token)
