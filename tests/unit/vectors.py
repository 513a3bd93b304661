# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The published test vectors of the folder ``fixtures/`` beside this file (sources in its README.md)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


def load(name):
    """The parsed JSON of ``name`` in ``fixtures/``. A missing file raises, it never skips."""
    with open(os.path.join(HERE, name), encoding='utf-8') as handle:
        return json.load(handle)


def load_bytes(name):
    """The bytes of ``name`` in ``fixtures/``."""
    with open(os.path.join(HERE, name), 'rb') as handle:
        return handle.read()


def aescrypt_cases(name):
    """(password, plaintext bytes, ciphertext bytes) of an AES Crypt vector file."""
    data = load(name)
    return [(data['password'], case['plaintext'].encode('utf-8'), bytes.fromhex(case['ciphertext_hex']))
            for case in data['cases']]
