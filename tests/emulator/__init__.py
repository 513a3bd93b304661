# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Duplicati emulator: server REST API, console registration service, agent stand-in.

It behaves on the wire like the real Duplicati, as Duplicati's C# source shows it (each module names
the source file and symbol it follows), so that what passes against it
works against the real thing. Run ``python -m ansible_collections.duplicati.fleet.tests.emulator --help``.
"""

import os

# The folder that holds ansible_collections/ (this file is .../ansible_collections/duplicati/fleet/tests/emulator/).
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *(['..'] * 5)))


def child_environment(base=None, **extra):
    """An environment for a child ``python -m ansible_collections.duplicati.fleet...``: ``base``
    (default: this process's environment) with this collection on PYTHONPATH. ansible-test
    puts the collection on ``sys.path`` only, never in the environment."""
    env = dict(os.environ if base is None else base)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (COLLECTIONS_ROOT, env.get('PYTHONPATH')) if p)
    env.update(extra)
    return env
