# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build both stand-in packages and their index into one folder."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from cryptography.hazmat.primitives.asymmetric import rsa

from . import standin
from .deb import SPECS, build_deb, dpkg_deb
from .package_index import default_base_url, write_index
from .release import Release


def build_packages(out_dir, version='2.3.0.4', channel='stable', date=None, base_url=None, source_root=None):
    """Build ``duplicati-agent`` and ``duplicati`` .debs into ``out_dir`` and write the
    ``latest-v2.json`` index there. Returns {package id: index entry + ``path``}.

    Raises ReleaseError (bad version/channel/date), StandinError (incomplete sources) or
    BuildError (dpkg-deb missing or failing); nothing is left half-written.
    """
    release = Release(version, channel, date)
    dpkg_deb()  # fail before any work when the tool is missing
    source_root = source_root or standin.collection_root()
    files, python_depends = standin.standin_files(source_root)
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    # one signing key for the build, as the release builder signs every package's manifest alike
    sign_keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048)]
    built = {}
    for spec in SPECS:
        ident, path = build_deb(out_dir, spec, release, (source_root, files), python_depends, sign_keys)
        built[ident] = path
    index = write_index(out_dir, built, base_url or default_base_url(channel), version)
    result = {}
    for ident, entry in index.items():
        result[ident] = dict(entry, path=built[ident])
    return result
