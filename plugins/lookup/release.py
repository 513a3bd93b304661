# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r'''
---
name: release
short_description: Find a Duplicati package (URL, checksum, version) in a release channel
version_added: 0.1.0
description:
  - Reads the package index C(latest-v2.json) of a Duplicati release channel, as Duplicati publishes it at
    C(https://updates.duplicati.com/<channel>/latest-v2.json), and returns the download URL, the SHA-256 checksum
    and the version of each package asked for.
  - The index maps a package id (C(<os>-<arch>-<interface>.<extension>), for example C(linux-x64-agent.deb)) to
    C(url), C(filename), C(md5), C(sha256) and C(size). Duplicati writes the two checksums as base64 of the digest;
    this lookup returns them as hex, the form M(ansible.builtin.get_url) takes.
  - The version is not a field of the index. It is read from the package file name,
    C(duplicati-<version>_<channel>_<date>-<package id>).
  - With O(version), the index of that release (C(latest-v2-<version>.json)) is read instead of the newest one.
  - O(base) may point at a mirror, an C(https) or C(http) URL, a C(file://) URL or a plain folder, for
    air-gapped sites. The folder holds one sub-folder per channel, each with its C(latest-v2.json).
author:
  - duplicati.fleet maintainers (!UNKNOWN)
options:
  _terms:
    description: Package ids, for example C(linux-x64-agent.deb), C(linux-arm64-agent.rpm), C(win-x64-agent.msi).
    required: true
    type: list
    elements: str
  channel:
    description: The release channel.
    type: str
    default: stable
    choices: [stable, beta, experimental, canary, nightly, debug]
  version:
    description:
      - The release to read, for example C(2.3.0.4), or V(latest) for the newest release of O(channel).
    type: str
    default: latest
  base:
    description:
      - Where the channels are, without the channel name. A URL (C(https://), C(http://), C(file://)) or a plain
        absolute path of a mirror folder.
    type: str
    default: https://updates.duplicati.com
  url_from_base:
    description:
      - Return the package URL next to the index (C(<base>/<channel>/<file name>)) instead of the C(url) the index
        holds.
      - Needed for a mirror that copied Duplicati's C(latest-v2.json) unchanged, whose URLs still point at
        C(updates.duplicati.com).
    type: bool
    default: false
  validate_certs:
    description: Verify the TLS certificate of an C(https) O(base).
    type: bool
    default: true
  ca_path:
    description: A PEM file of CA certificates to verify the TLS certificate of O(base) with.
    type: path
  timeout:
    description: Seconds to wait for the index.
    type: int
    default: 30
notes:
  - The index is read once per call, however many package ids are asked for.
  - A package id missing from the index is an error that lists the ids the index has.
seealso:
  - module: ansible.builtin.get_url
'''

EXAMPLES = r'''
- name: Download the newest stable agent package for Debian on x64, checked against the index
  ansible.builtin.get_url:
    url: "{{ pkg.url }}"
    checksum: "sha256:{{ pkg.sha256 }}"
    dest: "/var/cache/{{ pkg.filename }}"
    mode: '0644'
  vars:
    pkg: "{{ lookup('duplicati.fleet.release', 'linux-x64-agent.deb') }}"

- name: One release of the beta channel
  ansible.builtin.debug:
    msg: "{{ lookup('duplicati.fleet.release', 'linux-x64-agent.rpm', channel='beta', version='2.3.1.0') }}"

- name: From a mirror folder on the controller (air-gapped site)
  ansible.builtin.debug:
    msg: "{{ lookup('duplicati.fleet.release', 'linux-arm64-agent.deb', base='/srv/mirror/duplicati', url_from_base=true) }}"

- name: Several packages at once
  ansible.builtin.debug:
    msg: "{{ query('duplicati.fleet.release', 'linux-x64-agent.deb', 'win-x64-agent.msi') | map(attribute='url') }}"
'''

RETURN = r'''
_list:
  description: One entry per package id asked for.
  type: list
  elements: dict
  contains:
    package_id:
      description: The package id.
      type: str
      sample: linux-x64-agent.deb
    url:
      description: Where to download the package.
      type: str
      sample: https://updates.duplicati.com/stable/duplicati-2.3.0.4_stable_2026-07-09-linux-x64-agent.deb
    filename:
      description: The package file name.
      type: str
      sample: duplicati-2.3.0.4_stable_2026-07-09-linux-x64-agent.deb
    sha256:
      description: SHA-256 of the package, hex.
      type: str
    sha256_base64:
      description: SHA-256 of the package as the index holds it (base64).
      type: str
    md5:
      description: MD5 of the package, hex.
      type: str
    size:
      description: Size of the package in bytes.
      type: int
    version:
      description: The Duplicati version of the package.
      type: str
      sample: 2.3.0.4
    release_name:
      description: The release name, C(<version>_<channel>_<date>).
      type: str
      sample: 2.3.0.4_stable_2026-07-09
    release_channel:
      description: The channel named in the file name.
      type: str
      sample: stable
    release_date:
      description: The release date named in the file name.
      type: str
      sample: '2026-07-09'
    index_url:
      description: The index that was read.
      type: str
      sample: https://updates.duplicati.com/stable/latest-v2.json
'''

import base64
import binascii
import json
import os
import re

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native, to_text
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote, urljoin, urlsplit
from ansible.module_utils.urls import ConnectionError, SSLValidationError, open_url
from ansible.plugins.lookup import LookupBase

INDEX_NAME = 'latest-v2.json'
DIGEST_SIZES = {'sha256': 32, 'md5': 16}
# duplicati-<version>_<channel>_<yyyy-MM-dd>-<os>-<arch>-<iface>.<ext>: ``BuildPackage`` of ReleaseBuilder/Build/Command.CreatePackage.cs
# (``ReleaseName`` of Build/Command.cs, ``PackageTargetString`` of PackageTarget.cs)
FILENAME_RE = re.compile(r'^duplicati-(?P<version>\d+(?:\.\d+){1,3})_(?P<channel>[A-Za-z]+)_(?P<date>\d{4}-\d{2}-\d{2})-(?P<package>.+)$')
VERSION_RE = re.compile(r'^\d+(?:\.\d+){1,3}$')
PACKAGE_ID_RE = re.compile(r'^[a-z0-9]+-[a-z0-9]+-[a-z0-9]+\.[a-z0-9]+$')


def index_name(version):
    """``latest-v2.json`` or the index of one release, ``latest-v2-<version>.json``."""
    if version in (None, '', 'latest'):
        return INDEX_NAME
    if not VERSION_RE.match(version):
        raise AnsibleLookupError("version must be 'latest' or a Duplicati version such as 2.3.0.4, not %r" % version)
    return 'latest-v2-%s.json' % version


def channel_location(base, channel):
    """The channel folder as a URL (with a trailing ``/``) or an absolute path."""
    base = (base or '').strip()
    if not base:
        raise AnsibleLookupError('base must not be empty')
    scheme = urlsplit(base).scheme.lower()
    if scheme in ('http', 'https', 'file'):
        return base.rstrip('/') + '/' + channel + '/'
    if scheme and len(scheme) > 1:
        raise AnsibleLookupError('base must be an http(s):// or file:// URL or an absolute path, not %r' % base)
    if not os.path.isabs(base):
        raise AnsibleLookupError('base must be an absolute path when it is not a URL: %r' % base)
    return os.path.join(base, channel) + os.sep


def _local_path(location):
    """The local file of a ``file://`` URL or plain path; None for http(s)."""
    parts = urlsplit(location)
    if parts.scheme.lower() == 'file':
        if parts.netloc not in ('', 'localhost'):
            raise AnsibleLookupError('file:// URLs must name a local file: %r' % location)
        return unquote(parts.path)
    if parts.scheme.lower() in ('http', 'https'):
        return None
    return location


def read_index(location, validate_certs=True, ca_path=None, timeout=30):
    """The parsed index at ``location`` (URL or path)."""
    path = _local_path(location)
    try:
        if path is not None:
            with open(path, 'rb') as handle:
                raw = handle.read()
        else:
            response = open_url(location, method='GET', validate_certs=validate_certs, ca_path=ca_path, timeout=timeout,
                                follow_redirects='safe', http_agent='duplicati.fleet release lookup')
            raw = response.read()
    except HTTPError as err:
        if err.code == 404:
            raise AnsibleLookupError('There is no Duplicati package index at %s (HTTP 404): check the channel, version and base' % location)
        raise AnsibleLookupError('Failed to read the Duplicati package index %s: HTTP %s %s' % (location, err.code, to_native(err.reason)))
    except SSLValidationError as err:
        raise AnsibleLookupError('Failed to read the Duplicati package index %s: the TLS certificate was not accepted (%s); '
                                 'give its CA in ca_path' % (location, to_native(err)))
    except (URLError, ConnectionError, OSError, IOError) as err:
        if path is not None and getattr(err, 'errno', None) == 2:
            raise AnsibleLookupError('There is no Duplicati package index at %s: check the channel, version and base' % path)
        raise AnsibleLookupError('Failed to read the Duplicati package index %s: %s' % (location, to_native(err)))
    try:
        index = json.loads(to_text(raw, errors='surrogate_or_strict').lstrip(u'\ufeff'))
    except ValueError as err:
        raise AnsibleLookupError('The Duplicati package index %s is not valid JSON: %s' % (location, to_native(err)))
    if not isinstance(index, dict):
        raise AnsibleLookupError('The Duplicati package index %s is not a JSON object of package ids' % location)
    return index


def digest_hex(value, algorithm, where):
    """A checksum of the index as hex; Duplicati writes base64, a mirror may write hex."""
    size = DIGEST_SIZES[algorithm]
    if not isinstance(value, str) or not value:
        raise AnsibleLookupError('%s: %s is missing' % (where, algorithm))
    if len(value) == size * 2 and re.match(r'^[0-9a-fA-F]+$', value):
        return value.lower()
    try:
        raw = base64.b64decode(value.encode('ascii'), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b''
    if len(raw) != size:
        raise AnsibleLookupError('%s: %s %r is neither base64 nor hex of a %d-byte digest' % (where, algorithm, value, size))
    return binascii.hexlify(raw).decode('ascii')


def parse_filename(filename):
    match = FILENAME_RE.match(filename or '')
    if not match:
        return None
    return match.groupdict()


def package_entry(index, package_id, location, channel_dir, url_from_base=False, version=None):
    """The result for one package id of ``index`` (read from ``location``)."""
    if package_id not in index:
        known = ', '.join(sorted(str(k) for k in index)) or 'none'
        raise AnsibleLookupError('The Duplicati package index %s has no package %r; it has: %s' % (location, package_id, known))
    entry = index[package_id]
    where = '%s, package %s' % (location, package_id)
    if not isinstance(entry, dict):
        raise AnsibleLookupError('%s: the entry is not an object' % where)
    filename = entry.get('filename')
    if not isinstance(filename, str) or not filename or '/' in filename or '\\' in filename:
        raise AnsibleLookupError('%s: filename is missing or not a plain file name' % where)
    named = parse_filename(filename)
    if named is None:
        raise AnsibleLookupError('%s: the file name %r does not follow duplicati-<version>_<channel>_<date>-<package>, '
                                 'so the version is unknown' % (where, filename))
    if version not in (None, '', 'latest') and named['version'] != version:
        raise AnsibleLookupError('%s: the index of version %s lists %s' % (where, version, filename))
    size = entry.get('size')
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise AnsibleLookupError('%s: size is missing or not a number of bytes' % where)
    if url_from_base:
        url = urljoin(channel_url(channel_dir), quote(filename))
    else:
        url = entry.get('url')
        if not isinstance(url, str) or not url:
            raise AnsibleLookupError('%s: url is missing' % where)
        if not urlsplit(url).scheme:
            url = urljoin(channel_url(channel_dir), url)
    sha256 = digest_hex(entry.get('sha256'), 'sha256', where)
    return {
        'package_id': package_id,
        'url': url,
        'filename': filename,
        'sha256': sha256,
        'sha256_base64': base64.b64encode(binascii.unhexlify(sha256)).decode('ascii'),
        'md5': digest_hex(entry.get('md5'), 'md5', where),
        'size': size,
        'version': named['version'],
        'release_name': '%s_%s_%s' % (named['version'], named['channel'], named['date']),
        'release_channel': named['channel'],
        'release_date': named['date'],
        'index_url': location,
    }


def channel_url(channel_dir):
    """The channel folder as a URL; a plain folder becomes a ``file://`` URL (which get_url reads)."""
    if urlsplit(channel_dir).scheme.lower() in ('http', 'https', 'file'):
        return channel_dir
    return 'file://' + quote(channel_dir.replace(os.sep, '/'))


def resolve(package_ids, channel='stable', version='latest', base='https://updates.duplicati.com', url_from_base=False,
            validate_certs=True, ca_path=None, timeout=30):
    """The entries of ``package_ids``, reading the index once."""
    if not package_ids:
        raise AnsibleLookupError('Name at least one package id, for example linux-x64-agent.deb')
    for package_id in package_ids:
        if not isinstance(package_id, str) or not PACKAGE_ID_RE.match(package_id):
            raise AnsibleLookupError('%r is not a package id of the form <os>-<arch>-<interface>.<extension>, '
                                     'for example linux-x64-agent.deb' % (package_id,))
    if timeout is None or timeout <= 0:
        raise AnsibleLookupError('timeout must be a positive number of seconds')
    channel_dir = channel_location(base, channel)
    location = channel_dir + index_name(version)
    index = read_index(location, validate_certs=validate_certs, ca_path=ca_path, timeout=timeout)
    return [package_entry(index, p, location, channel_dir, url_from_base=url_from_base, version=version) for p in package_ids]


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return resolve(
            [to_text(t) for t in terms],
            channel=self.get_option('channel'),
            version=to_text(self.get_option('version')),
            base=self.get_option('base'),
            url_from_base=self.get_option('url_from_base'),
            validate_certs=self.get_option('validate_certs'),
            ca_path=self.get_option('ca_path'),
            timeout=self.get_option('timeout'),
        )
