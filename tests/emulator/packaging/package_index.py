# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``latest-v2.json``: the package index next to the packages (``ReleaseBuilder/Build/Command.cs``).

It maps each package id to ``{url, filename, md5, sha256, size}``
(``ReleaseBuilder/Build/Command.Upload.cs`` ``CreatePackageJson``). The two hashes are
**base64** of the binary digest, not hex (``Command.cs CalculateHash`` returns
``Convert.ToBase64String``). The url is ``<base url>/<url-encoded file name>``; the
real base is ``https://updates.duplicati.com/<channel>``. ReleaseBuilder writes the same
content as ``latest-v2-<version>.json`` too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import tempfile
from urllib.parse import quote_plus

INDEX_NAME = 'latest-v2.json'


def default_base_url(channel):
    return 'https://updates.duplicati.com/%s' % channel


def _digests(path):
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            md5.update(block)
            sha256.update(block)
    return base64.b64encode(md5.digest()).decode('ascii'), base64.b64encode(sha256.digest()).decode('ascii')


def index_entry(path, base_url):
    filename = os.path.basename(path)
    md5, sha256 = _digests(path)
    # HttpUtility.UrlEncode: form encoding, the same as quote_plus for these names
    return {'url': '%s/%s' % (base_url.rstrip('/'), quote_plus(filename)), 'filename': filename,
            'md5': md5, 'sha256': sha256, 'size': os.path.getsize(path)}


def _write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(prefix='.index-', suffix='.tmp', dir=os.path.dirname(path))
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_index(out_dir, packages, base_url, version):
    """``packages``: {package id: file path}. Writes latest-v2.json and
    latest-v2-<version>.json; returns the index."""
    index = {ident: index_entry(path, base_url) for ident, path in sorted(packages.items())}
    text = json.dumps(index, indent=2)
    for name in (INDEX_NAME, 'latest-v2-%s.json' % version):
        _write_atomic(os.path.join(out_dir, name), text)
    return index
