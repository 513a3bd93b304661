# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Python files a package needs to run the stand-in executables.

The packages install a copy of the emulator package (``tests/emulator`` without this
``packaging`` folder) under ``/usr/lib/duplicati/standin/ansible_collections/duplicati/fleet/``.
The emulator is self-contained: it has its own codecs (``tests/emulator/codecs``) and never
imports the collection it tests, so a file that imports ``plugins`` is an error here. The
third-party imports are found by reading the sources and become Debian dependencies.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import sys

PREFIX = 'ansible_collections.duplicati.fleet.'
EMULATOR = 'tests/emulator'
SKIPPED_DIRS = ('__pycache__', 'packaging')
# third-party imports the packages can satisfy, and the Debian package that does
DEBIAN_PYTHON_PACKAGES = {'cryptography': 'python3-cryptography', 'jwt': 'python3-jwt'}


class StandinError(Exception):
    """The stand-in sources are incomplete or import the collection."""


def collection_root():
    """The collection this file belongs to (``.../ansible_collections/duplicati/fleet``)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _emulator_files(root):
    base = os.path.join(root, EMULATOR)
    found = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith('.'))
        for name in sorted(files):
            if name.endswith('.py'):
                found.append(os.path.relpath(os.path.join(folder, name), root))
    return found


def _imports(path):
    """Absolute module names imported anywhere in the file, also inside functions."""
    with open(path, 'rb') as handle:
        tree = ast.parse(handle.read(), filename=path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def standin_files(root=None):
    """(paths relative to the collection root, Debian packages their imports need).

    Raises StandinError when an emulator file imports the collection's ``plugins`` or a
    third-party module that has no Debian package here.
    """
    root = root or collection_root()
    files = _emulator_files(root)
    if not files:
        raise StandinError('no emulator sources under %s' % os.path.join(root, EMULATOR))
    collection, foreign = [], {}
    for path in files:
        for name in _imports(os.path.join(root, path)):
            top = name.split('.')[0]
            if name.startswith(PREFIX + 'plugins'):
                collection.append('%s (imported by %s)' % (name, path))
            elif top not in sys.stdlib_module_names and top not in ('ansible_collections', '__future__'):
                foreign.setdefault(top, path)
    if collection:
        raise StandinError('the emulator imports the collection it tests: %s' % '; '.join(sorted(collection)))
    unknown = sorted('%s (imported by %s)' % (n, p) for n, p in foreign.items() if n not in DEBIAN_PYTHON_PACKAGES)
    if unknown:
        raise StandinError('the stand-in imports modules no Debian package is known for: %s' % '; '.join(unknown))
    return files, sorted(DEBIAN_PYTHON_PACKAGES[n] for n in foreign)
