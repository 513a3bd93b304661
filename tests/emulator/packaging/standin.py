# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Python files a package needs to run the stand-in executables.

The packages install a copy of the emulator package (``tests/emulator`` without this
``packaging`` folder) and of every ``plugins/module_utils`` file it imports, directly or
through another module_utils file (the codecs: aescrypt, encrypted_field, errors, ...),
under ``/usr/lib/duplicati/standin/ansible_collections/duplicati/fleet/``. The imports
are found by reading the sources, so a new import is picked up without a list to keep.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import sys

PREFIX = 'ansible_collections.duplicati.fleet.'
MODULE_UTILS = 'plugins/module_utils'
EMULATOR = 'tests/emulator'
SKIPPED_DIRS = ('__pycache__', 'packaging')
# third-party imports the packages can satisfy, and the Debian package that does
DEBIAN_PYTHON_PACKAGES = {'cryptography': 'python3-cryptography', 'jwt': 'python3-jwt'}


class StandinError(Exception):
    """The stand-in sources are incomplete."""


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
    """(module_utils names, other top-level module names) imported anywhere in the file,
    also inside functions."""
    with open(path, 'rb') as handle:
        tree = ast.parse(handle.read(), filename=path)
    utils, others = set(), set()
    prefix = PREFIX + 'plugins.module_utils'
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(prefix + '.'):
                    utils.add(alias.name[len(prefix) + 1:].split('.')[0])
                else:
                    others.add(alias.name.split('.')[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == prefix:
                utils.update(alias.name for alias in node.names)
            elif node.module.startswith(prefix + '.'):
                utils.add(node.module[len(prefix) + 1:].split('.')[0])
            else:
                others.add(node.module.split('.')[0])
    return utils, others


def _third_party(names):
    return {n for n in names if n not in sys.stdlib_module_names and n not in ('ansible_collections', '__future__')}


def standin_files(root=None):
    """(paths relative to the collection root, Debian packages their imports need).

    Raises StandinError when an imported module_utils file is missing or a third-party
    import has no Debian package here.
    """
    root = root or collection_root()
    files = _emulator_files(root)
    if not files:
        raise StandinError('no emulator sources under %s' % os.path.join(root, EMULATOR))
    wanted, done, missing, foreign = [], set(), [], {}
    queue = list(files)
    while queue:
        path = queue.pop()
        utils, others = _imports(os.path.join(root, path))
        for name in _third_party(others):
            foreign.setdefault(name, path)
        for name in sorted(utils):
            if name in done:
                continue
            done.add(name)
            relative = '%s/%s.py' % (MODULE_UTILS, name)
            if not os.path.isfile(os.path.join(root, relative)):
                missing.append('%s (imported by %s)' % (relative, path))
                continue
            wanted.append(relative)
            queue.append(relative)
    if missing:
        raise StandinError('the stand-in imports files that do not exist: %s' % '; '.join(sorted(missing)))
    unknown = sorted('%s (imported by %s)' % (n, p) for n, p in foreign.items() if n not in DEBIAN_PYTHON_PACKAGES)
    if unknown:
        raise StandinError('the stand-in imports modules no Debian package is known for: %s' % '; '.join(unknown))
    depends = sorted(DEBIAN_PYTHON_PACKAGES[n] for n in foreign)
    return files + sorted(wanted), depends
