# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the README, the guides and the playbooks promise a new user: every guide linked, one
example host for the registration link (the one Duplicati's source uses), no placeholder URLs,
the playbooks become root, deregister.yml promises only what it does, the rpm signature check on."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re

import yaml

from ansible_collections.duplicati.fleet.plugins.module_utils.registration import DEFAULT_REGISTRATION_URL

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
USER_DOCS = ['README.md', 'galaxy.yml', 'playbooks/*.yml', 'playbooks/README.md', 'roles/*/README.md',
             'roles/*/meta/argument_specs.yml', 'docs/docsite/*.yml', 'docs/docsite/rst/*.rst', 'plugins/modules/*.py',
             'plugins/lookup/*.py', 'extensions/awx/*.yml']
REGISTRATION_LINK = re.compile(r'https?://([A-Za-z0-9.-]+)/remotecontrol/register')


def _read(path):
    with open(os.path.join(ROOT, path)) as handle:
        return handle.read()


def _user_docs():
    for pattern in USER_DOCS:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            yield os.path.relpath(path, ROOT), _read(path)


def test_the_readme_links_every_guide():
    guides = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'docs/docsite/rst/*.rst')))
    assert len(guides) >= 6
    readme = _read('README.md')
    linked = set(re.findall(r'\]\((docs/docsite/rst/[^)]+\.rst)\)', readme))
    assert set(guides) <= linked, set(guides) - linked
    assert all(os.path.exists(os.path.join(ROOT, path)) for path in linked)


def test_one_example_host_for_the_registration_link():
    expected = REGISTRATION_LINK.match(DEFAULT_REGISTRATION_URL).group(1)
    assert expected == 'api.duplicati.com'  # RegisterForRemote.DefaultRegisterationUrl in Duplicati's source
    seen = {}
    for path, text in _user_docs():
        for host in REGISTRATION_LINK.findall(text):
            seen.setdefault(host, []).append(path)
    assert 'README.md' in seen.get(expected, [])
    assert set(seen) == {expected}, seen


def test_no_placeholder_urls():
    for path, text in _user_docs():
        assert 'example.invalid' not in text, path
    galaxy = yaml.safe_load(_read('galaxy.yml'))
    for key in ('repository', 'documentation', 'homepage', 'issues'):
        if galaxy.get(key):
            assert galaxy[key].startswith('https://') and 'example' not in galaxy[key], key


def test_the_first_rollout_path_is_in_the_readme():
    readme = _read('README.md')
    section = readme.split('## First rollout on real hosts', 1)[1].split('\n## ', 1)[0]
    for needed in ('become: true', '-K', 'inventory.yml', 'ansible-vault', 'Add registration url', '--check --diff',
                   'ssh', 'https_proxy', 'no_proxy'):
        assert needed in section, needed


def test_the_agent_playbooks_become_root():
    for name in ('rollout', 'deregister'):
        plays = yaml.safe_load(_read('playbooks/%s.yml' % name))
        assert all(play.get('become') is True for play in plays), name


def test_deregister_promises_only_what_it_does():
    # agent_registration state=absent removes agent.json, as `duplicati-agent clear` does; nothing reaches the console
    for path in ('playbooks/deregister.yml', 'playbooks/README.md', 'README.md'):
        text = ' '.join(_read(path).split())
        assert 'entry stays' in text, path
        assert 'out of the console' not in text.lower(), path


def test_the_rpm_signature_is_checked_by_default():
    defaults = yaml.safe_load(_read('roles/duplicati_agent/defaults/main.yml'))
    spec = yaml.safe_load(_read('roles/duplicati_agent/meta/argument_specs.yml'))
    option = spec['argument_specs']['main']['options']['duplicati_agent_rpm_disable_gpg_check']
    assert defaults['duplicati_agent_rpm_disable_gpg_check'] is False
    assert option['default'] is False
    # and the docs say how to turn it off for an unsigned mirror
    assert 'duplicati_agent_rpm_disable_gpg_check: true' in _read('roles/duplicati_agent/README.md')
    assert 'duplicati_agent_rpm_disable_gpg_check: true' in _read('docs/docsite/rst/guide_fleet_rollout.rst')
