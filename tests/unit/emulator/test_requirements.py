# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/emulator/requirements.txt lists every package outside the standard library that the emulator
imports, directly or through the collection files it imports, so that the documented command starts it
in a fresh environment."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ast
import glob
import os
import re
import sys

EMULATOR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'emulator')
COLLECTION = os.path.dirname(os.path.dirname(EMULATOR))
PREFIX = 'ansible_collections.duplicati.fleet.'
# import name -> distribution name on PyPI
DISTRIBUTIONS = {'jwt': 'pyjwt', 'cryptography': 'cryptography', 'yaml': 'pyyaml', 'ansible': 'ansible-core'}


def _collection_file(module):
    base = os.path.join(COLLECTION, *module[len(PREFIX):].split('.'))
    for candidate in (base + '.py', os.path.join(base, '__init__.py')):
        if os.path.exists(candidate):
            return candidate
    return None


def third_party_imports():
    todo = sorted(glob.glob(os.path.join(EMULATOR, '**', '*.py'), recursive=True))
    seen, found = set(), {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        with open(path) as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module] + ['%s.%s' % (node.module, alias.name) for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith(PREFIX):
                    target = _collection_file(name)
                    if target:
                        todo.append(target)
                    continue
                top = name.split('.')[0]
                if top not in sys.stdlib_module_names and top not in ('__future__', 'ansible_collections'):
                    found.setdefault(top, os.path.relpath(path, COLLECTION))
    return found


def requirements():
    with open(os.path.join(EMULATOR, 'requirements.txt')) as handle:
        return set(re.split(r'[<>=!~ ;\[]', line.strip(), maxsplit=1)[0].lower()
                   for line in handle if line.strip() and not line.startswith('#'))


def test_requirements_cover_every_import():
    imports = third_party_imports()
    assert 'jwt' in imports  # the server's tokens
    unknown = set(imports) - set(DISTRIBUTIONS)
    assert not unknown, 'add these to DISTRIBUTIONS and requirements.txt: %s' % sorted(unknown)
    missing = dict((name, path) for name, path in imports.items() if DISTRIBUTIONS[name] not in requirements())
    assert not missing, missing
