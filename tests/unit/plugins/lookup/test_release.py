# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release lookup against package indexes written the way ReleaseBuilder writes them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import functools
import hashlib
import http.server
import json
import os
import threading

import pytest

from ansible.errors import AnsibleLookupError

from ansible_collections.duplicati.fleet.plugins.lookup import release
from ansible_collections.duplicati.fleet.tests.emulator.packaging.package_index import write_index

VERSION = '2.3.0.4'
AGENT_DEB = 'duplicati-2.3.0.4_stable_2026-07-09-linux-x64-agent.deb'
AGENT_RPM = 'duplicati-2.3.0.4_stable_2026-07-09-linux-x64-agent.rpm'


@pytest.fixture
def mirror(tmp_path):
    """A mirror folder <tmp>/stable/ holding two packages and the index the emulator's packaging writes."""
    channel = tmp_path / 'stable'
    channel.mkdir()
    packages = {}
    for ident, name, body in (('linux-x64-agent.deb', AGENT_DEB, b'deb package body'),
                              ('linux-x64-agent.rpm', AGENT_RPM, b'rpm package body, longer')):
        (channel / name).write_bytes(body)
        packages[ident] = str(channel / name)
    write_index(str(channel), packages, 'https://updates.duplicati.com/stable', VERSION)
    return tmp_path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_mirror(mirror):
    """The mirror folder served over HTTP."""
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_QuietHandler, directory=str(mirror)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _hex(data, algorithm):
    return hashlib.new(algorithm, data).hexdigest()


def test_index_is_base64_and_lookup_returns_hex(mirror):
    raw_index = json.loads((mirror / 'stable' / 'latest-v2.json').read_text())
    body = (mirror / 'stable' / AGENT_DEB).read_bytes()
    assert raw_index['linux-x64-agent.deb']['sha256'] == base64.b64encode(hashlib.sha256(body).digest()).decode()

    (entry,) = release.resolve(['linux-x64-agent.deb'], base=str(mirror))
    assert entry['sha256'] == _hex(body, 'sha256')
    assert entry['md5'] == _hex(body, 'md5')
    assert entry['sha256_base64'] == raw_index['linux-x64-agent.deb']['sha256']
    assert entry['size'] == len(body)
    assert entry['version'] == VERSION
    assert entry['release_name'] == '2.3.0.4_stable_2026-07-09'
    assert entry['release_channel'] == 'stable'
    assert entry['release_date'] == '2026-07-09'
    assert entry['filename'] == AGENT_DEB
    # the index's own URL, as Duplicati publishes it
    assert entry['url'] == 'https://updates.duplicati.com/stable/' + AGENT_DEB
    assert entry['index_url'] == os.path.join(str(mirror), 'stable', 'latest-v2.json')


def test_url_from_base_points_next_to_the_index(mirror):
    (entry,) = release.resolve(['linux-x64-agent.deb'], base=str(mirror), url_from_base=True)
    assert entry['url'] == 'file://%s/stable/%s' % (mirror, AGENT_DEB)
    (entry,) = release.resolve(['linux-x64-agent.deb'], base='file://%s/' % mirror, url_from_base=True)
    assert entry['url'] == 'file://%s/stable/%s' % (mirror, AGENT_DEB)


def test_several_ids_read_the_index_once(mirror, mocker):
    spy = mocker.spy(release, 'read_index')
    entries = release.resolve(['linux-x64-agent.rpm', 'linux-x64-agent.deb'], base=str(mirror))
    assert [e['filename'] for e in entries] == [AGENT_RPM, AGENT_DEB]
    assert spy.call_count == 1


def test_version_reads_that_release_index(mirror):
    (entry,) = release.resolve(['linux-x64-agent.deb'], base=str(mirror), version=VERSION)
    assert entry['index_url'].endswith('/stable/latest-v2-2.3.0.4.json')
    assert entry['version'] == VERSION
    with pytest.raises(AnsibleLookupError, match='no Duplicati package index .*latest-v2-2.3.0.5.json'):
        release.resolve(['linux-x64-agent.deb'], base=str(mirror), version='2.3.0.5')


def test_http_mirror(http_mirror, mirror):
    (entry,) = release.resolve(['linux-x64-agent.rpm'], base=http_mirror + '/', url_from_base=True)
    assert entry['url'] == '%s/stable/%s' % (http_mirror, AGENT_RPM)
    assert entry['index_url'] == http_mirror + '/stable/latest-v2.json'
    assert entry['sha256'] == _hex((mirror / 'stable' / AGENT_RPM).read_bytes(), 'sha256')


def test_http_missing_channel_is_a_clear_error(http_mirror):
    with pytest.raises(AnsibleLookupError, match=r'no Duplicati package index at .*/canary/latest-v2.json \(HTTP 404\)'):
        release.resolve(['linux-x64-agent.deb'], base=http_mirror, channel='canary')


def test_unknown_package_lists_the_known_ones(mirror):
    with pytest.raises(AnsibleLookupError, match="no package 'win-x64-agent.msi'; it has: linux-x64-agent.deb, linux-x64-agent.rpm"):
        release.resolve(['win-x64-agent.msi'], base=str(mirror))


@pytest.mark.parametrize('bad', ['linux-x64-agent', '../etc/passwd', 'Linux x64', ''])
def test_bad_package_id(mirror, bad):
    with pytest.raises(AnsibleLookupError, match='is not a package id'):
        release.resolve([bad], base=str(mirror))


@pytest.mark.parametrize('base, message', [
    ('relative/folder', 'absolute path'),
    ('ftp://mirror.example/duplicati', 'http'),
    ('', 'must not be empty'),
])
def test_bad_base(base, message):
    with pytest.raises(AnsibleLookupError, match=message):
        release.resolve(['linux-x64-agent.deb'], base=base)


def test_bad_version(mirror):
    with pytest.raises(AnsibleLookupError, match="version must be 'latest' or a Duplicati version"):
        release.resolve(['linux-x64-agent.deb'], base=str(mirror), version='2.3;rm')


def _write_index(mirror, index):
    (mirror / 'stable' / 'latest-v2.json').write_text(json.dumps(index))


def test_hex_checksums_of_other_mirrors_are_accepted(mirror):
    digest = hashlib.sha256(b'x').hexdigest()
    _write_index(mirror, {'linux-x64-agent.deb': {'url': AGENT_DEB, 'filename': AGENT_DEB, 'md5': hashlib.md5(b'x').hexdigest().upper(),
                                                  'sha256': digest, 'size': 1}})
    (entry,) = release.resolve(['linux-x64-agent.deb'], base=str(mirror))
    assert entry['sha256'] == digest
    # a relative url is taken relative to the index
    assert entry['url'] == 'file://%s/stable/%s' % (mirror, AGENT_DEB)


@pytest.mark.parametrize('change, message', [
    ({'sha256': 'not-a-digest'}, 'sha256 .* is neither base64 nor hex'),
    ({'sha256': base64.b64encode(b'short').decode()}, 'sha256 .* is neither base64 nor hex'),
    ({'md5': None}, 'md5 is missing'),
    ({'size': '12'}, 'size is missing'),
    ({'filename': 'agent.deb'}, 'so the version is unknown'),
    ({'filename': '../x/' + AGENT_DEB}, 'not a plain file name'),
    ({'url': ''}, 'url is missing'),
])
def test_malformed_entries(mirror, change, message):
    index = json.loads((mirror / 'stable' / 'latest-v2.json').read_text())
    index['linux-x64-agent.deb'].update(change)
    _write_index(mirror, index)
    with pytest.raises(AnsibleLookupError, match=message):
        release.resolve(['linux-x64-agent.deb'], base=str(mirror))


def test_index_that_is_not_json(mirror):
    (mirror / 'stable' / 'latest-v2.json').write_text('<html>maintenance</html>')
    with pytest.raises(AnsibleLookupError, match='is not valid JSON'):
        release.resolve(['linux-x64-agent.deb'], base=str(mirror))
    _write_index(mirror, ['linux-x64-agent.deb'])
    with pytest.raises(AnsibleLookupError, match='not a JSON object'):
        release.resolve(['linux-x64-agent.deb'], base=str(mirror))


def test_version_index_must_list_that_version(mirror):
    index = json.loads((mirror / 'stable' / 'latest-v2.json').read_text())
    (mirror / 'stable' / 'latest-v2-2.3.1.0.json').write_text(json.dumps(index))
    with pytest.raises(AnsibleLookupError, match='the index of version 2.3.1.0 lists ' + AGENT_DEB):
        release.resolve(['linux-x64-agent.deb'], base=str(mirror), version='2.3.1.0')


def _plugin():
    """The lookup as the plugin loader sets it up: its options declared from DOCUMENTATION."""
    import yaml
    from ansible import constants as C
    name = 'duplicati.fleet.release'
    C.config.initialize_plugin_configuration_definitions('lookup', name, yaml.safe_load(release.DOCUMENTATION)['options'])
    plugin = release.LookupModule()
    plugin._load_name = name
    return plugin


def test_lookup_plugin_options(mirror):
    plugin = _plugin()
    (entry,) = plugin.run(['linux-x64-agent.deb'], variables={}, base=str(mirror), url_from_base=True)
    assert entry['url'] == 'file://%s/stable/%s' % (mirror, AGENT_DEB)
    assert entry['version'] == VERSION
    (entry,) = plugin.run(['linux-x64-agent.rpm'], variables={}, base=str(mirror), version=VERSION)
    assert entry['index_url'].endswith('latest-v2-2.3.0.4.json')
    with pytest.raises(Exception, match='channel'):
        plugin.run(['linux-x64-agent.deb'], variables={}, base=str(mirror), channel='weekly')
