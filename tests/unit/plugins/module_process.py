# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module of this collection as its own process, the way Ansible runs it on a host.

``start(name, args, workdir)`` starts ``python plugins/modules/<name>.py <args file>``
(the args file is private, mode 0600, so secrets never reach a command line) and
returns the ``Popen``; ``run(...)`` waits for it and returns the parsed result.

``slow_writes=True`` makes every ``os.write`` of the module process go out in small
chunks with a pause between them, like a slow disk, so that a ``kill -9`` at a random
moment often lands in the middle of writing a file. ``in_place_writes=True`` replaces
``write_atomic`` by a plain truncate-and-write; the crash tests use it to show that they
would notice a writer that is not crash-safe.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys

from ansible_collections.duplicati.fleet.tests.emulator import COLLECTIONS_ROOT, child_environment

MODULES_DIR = os.path.join(COLLECTIONS_ROOT, 'ansible_collections', 'duplicati', 'fleet', 'plugins', 'modules')

# Runs in the module process before the module: optional slow writes and in-place writes.
_BOOTSTRAP = r'''
import os, runpy, sys, time
chunk = int(os.environ.get('FLEET_TEST_WRITE_CHUNK') or 0)
if chunk:
    _write = os.write
    pause = float(os.environ.get('FLEET_TEST_WRITE_PAUSE') or 0.001)
    def slow_write(fd, data):
        data = memoryview(data)[:chunk]
        time.sleep(pause)
        return _write(fd, data)
    os.write = slow_write
if os.environ.get('FLEET_TEST_IN_PLACE_WRITES'):
    from ansible_collections.duplicati.fleet.plugins.module_utils import atomic_file
    def in_place(path, data, mode=0o600, owner=None, group=None):
        if isinstance(data, str):
            data = data.encode('utf-8')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    atomic_file.write_atomic = in_place
path = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(path, run_name='__main__')
'''


def module_path(name):
    return os.path.join(MODULES_DIR, name + '.py')


def write_args(args, workdir, check_mode=False):
    """A private file with the module arguments, as Ansible hands them over."""
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=True, _ansible_tmpdir=str(workdir))
    fd, path = _private_file(str(workdir))
    with os.fdopen(fd, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': payload}, handle)
    return path


def _private_file(folder):
    for dummy in range(100):
        path = os.path.join(folder, 'args-%s.json' % os.urandom(6).hex())
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), path
        except OSError:
            continue
    raise OSError('cannot create an args file in %s' % folder)


def start(name, args, workdir, slow_writes=False, in_place_writes=False, write_chunk=64, write_pause=0.002, env=None):
    """Start module ``name`` with ``args`` in its own process; returns the ``Popen``."""
    extra = dict(env or {})
    if slow_writes:
        extra.update(FLEET_TEST_WRITE_CHUNK=str(write_chunk), FLEET_TEST_WRITE_PAUSE=str(write_pause))
    if in_place_writes:
        extra['FLEET_TEST_IN_PLACE_WRITES'] = '1'
    argv = [sys.executable, '-c', _BOOTSTRAP, module_path(name), write_args(args, workdir)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            cwd=str(workdir), env=child_environment(**extra))


def result_of(proc, timeout=120):
    """The module's JSON result (with ``rc`` and ``stderr``) once ``proc`` ended."""
    out, err = proc.communicate(timeout=timeout)
    text = out.decode('utf-8', 'replace')
    try:
        result = json.loads(text[text.index('{'):])
    except ValueError:
        result = {'failed': True, 'msg': 'no JSON result', 'stdout': text}
    result['rc'] = proc.returncode
    result['stderr'] = err.decode('utf-8', 'replace')
    return result


def run(name, args, workdir, **kwargs):
    return result_of(start(name, args, workdir, **kwargs))
