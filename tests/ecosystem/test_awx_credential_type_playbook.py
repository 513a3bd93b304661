# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/awx_credential_type.yml creates the credential type from extensions/awx/credential_type.yml
with awx.awx.credential_type, against a stand-in of the controller's API; the files in the shape of the
controller's form hold the same inputs and injectors."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import secrets
import subprocess

import pytest
import yaml

from ansible_collections.duplicati.fleet.tests.ecosystem.awx_credential import COLLECTION_ROOT, load_credential_type
from ansible_collections.duplicati.fleet.tests.ecosystem.fake_controller import FakeController

AWX_DIR = os.path.join(COLLECTION_ROOT, 'extensions', 'awx')


def _yaml(name):
    with open(os.path.join(AWX_DIR, name)) as handle:
        return yaml.safe_load(handle)


def test_the_form_files_match_the_definition():
    definition = load_credential_type()
    assert _yaml('credential_type_inputs.yml') == definition['inputs']
    assert _yaml('credential_type_injectors.yml') == definition['injectors']


def _play(controller, token):
    env = dict(os.environ, CONTROLLER_HOST=controller.url, CONTROLLER_OAUTH_TOKEN=token, CONTROLLER_VERIFY_SSL='false',
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
    return subprocess.run(['ansible-playbook', 'duplicati.fleet.awx_credential_type'], env=env, check=False,
                          capture_output=True, text=True, cwd=str(COLLECTION_ROOT))


def test_the_playbook_creates_the_credential_type_once():
    pytest.importorskip('ansible_collections.awx.awx')
    token = secrets.token_hex(16)
    definition = load_credential_type()
    with FakeController(token) as controller:
        first = _play(controller, token)
        assert first.returncode == 0, first.stdout + first.stderr
        assert 'changed=1' in first.stdout, first.stdout
        posted = [body for method, dummy, body in controller.requests if method == 'POST']
        assert len(posted) == 1
        # exactly the file's content, its Jinja2 injector templates untouched (the controller renders them per job)
        for key in ('name', 'description', 'kind', 'inputs', 'injectors'):
            assert posted[0][key] == definition[key], key
        assert posted[0]['injectors']['env']['DUPLICATI_REGISTRATION_URL'] == '{{ registration_url }}'

        second = _play(controller, token)
        assert second.returncode == 0, second.stdout + second.stderr
        assert 'changed=0' in second.stdout, second.stdout
        assert [m for m, dummy, dummy2 in controller.requests].count('POST') == 1
        assert 'PATCH' not in [m for m, dummy, dummy2 in controller.requests]
