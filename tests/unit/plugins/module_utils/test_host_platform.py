# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import host_platform

# (ID, ID_LIKE) of the os-release files of real distributions, and the os_family Ansible's facts give them.
DISTRIBUTIONS = [
    ('debian', '', 'Debian'),
    ('ubuntu', 'debian', 'Debian'),
    ('raspbian', 'debian', 'Debian'),
    ('linuxmint', 'ubuntu debian', 'Debian'),
    ('rhel', 'fedora', 'RedHat'),
    ('rocky', 'rhel centos fedora', 'RedHat'),
    ('almalinux', 'rhel centos fedora', 'RedHat'),
    ('fedora', '', 'RedHat'),
    ('amzn', 'fedora', 'RedHat'),
    ('ol', 'fedora', 'RedHat'),
    ('opensuse-leap', 'suse opensuse', 'Suse'),
    ('sles', '', 'Suse'),
    ('arch', '', 'Archlinux'),
    ('alpine', '', 'Alpine'),
    ('nixos', '', 'Linux'),
    ('', '', 'Linux'),
]


@pytest.mark.parametrize('os_id, like, family', DISTRIBUTIONS)
def test_os_family_of_real_distributions(os_id, like, family):
    assert host_platform.os_family_from_os_release({'ID': os_id, 'ID_LIKE': like}) == family


def test_parse_os_release_unquotes_as_a_shell_does():
    text = ('# comment\nNAME="Rocky Linux"\nID=rocky\nID_LIKE="rhel centos fedora"\n'
            "VERSION='9.3 (Blue Onyx)'\nPRETTY_NAME=\"Say \\\"hi\\\" \\$HOME\"\n\nBROKEN\nODD=\"unbalanced\n")
    values = host_platform.parse_os_release(text)
    assert values['NAME'] == 'Rocky Linux' and values['ID'] == 'rocky' and values['ID_LIKE'] == 'rhel centos fedora'
    assert values['VERSION'] == '9.3 (Blue Onyx)'
    assert values['PRETTY_NAME'] == 'Say "hi" $HOME'
    assert values['ODD'] == '"unbalanced'
    assert 'BROKEN' not in values and '# comment' not in values


def test_read_os_release_takes_the_first_file_that_exists(tmp_path):
    second = tmp_path / 'os-release'
    second.write_text('ID=ubuntu\nID_LIKE=debian\n')
    assert host_platform.read_os_release((str(tmp_path / 'missing'), str(second)))['ID'] == 'ubuntu'
    assert host_platform.read_os_release((str(tmp_path / 'missing'),)) == {}


@pytest.mark.parametrize('system, machine, os_release, expected', [
    ('Linux', 'x86_64', {'ID': 'ubuntu', 'ID_LIKE': 'debian'}, {'system': 'Linux', 'os_family': 'Debian', 'architecture': 'x86_64'}),
    ('Linux', 'aarch64', {}, {'system': 'Linux', 'os_family': 'Linux', 'architecture': 'aarch64'}),
    ('Darwin', 'arm64', {'ID': 'debian'}, {'system': 'Darwin', 'os_family': 'Darwin', 'architecture': 'arm64'}),
    ('FreeBSD', 'amd64', {}, {'system': 'FreeBSD', 'os_family': 'FreeBSD', 'architecture': 'amd64'}),
])
def test_host_platform(system, machine, os_release, expected):
    assert host_platform.host_platform(system, machine, os_release) == expected


def test_host_platform_of_this_machine_names_a_system_and_an_architecture():
    facts = host_platform.host_platform()
    assert facts['system'] and facts['architecture'] and facts['os_family']
