# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import atomic_file
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import (
    ensure_private_directory, file_lock, resolve_gid, resolve_uid, write_atomic,
)
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_creates_file_with_mode_0600(tmp_path):
    target = tmp_path / 'agent.json'
    write_atomic(str(target), u'{"jwt": "x"}')
    assert target.read_bytes() == b'{"jwt": "x"}'
    assert _mode(str(target)) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ['agent.json']


def test_write_replaces_and_sets_exact_mode_despite_umask(tmp_path):
    target = tmp_path / 'f'
    target.write_bytes(b'old')
    os.chmod(str(target), 0o666)
    old = os.umask(0o077)
    try:
        write_atomic(str(target), b'new', mode=0o640)
    finally:
        os.umask(old)
    assert target.read_bytes() == b'new'
    assert _mode(str(target)) == 0o640


def test_temp_file_never_wider_than_final_mode(tmp_path, monkeypatch):
    seen = []
    real_open = os.open

    def spy_open(path, flags, mode=0o777, *args, **kwargs):
        fd = real_open(path, flags, mode, *args, **kwargs)
        if str(path).endswith('.tmp'):
            seen.append((mode, stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd
    monkeypatch.setattr(os, 'open', spy_open)
    write_atomic(str(tmp_path / 'secret'), b's3cret')
    assert seen, 'the temporary file was not created through os.open'
    requested, actual = seen[0]
    assert requested == 0o600
    assert actual & 0o077 == 0


def test_error_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / 'f'
    target.write_bytes(b'old')

    def broken_replace(src, dst):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(DuplicatiError) as err:
        write_atomic(str(target), b'new')
    assert 'No space left on device' in str(err.value)
    assert target.read_bytes() == b'old'
    assert os.listdir(str(tmp_path)) == ['f']


def test_error_during_write_removes_temp(tmp_path, monkeypatch):
    def broken_fsync(fd):
        raise OSError(5, 'Input/output error')
    monkeypatch.setattr(os, 'fsync', broken_fsync)
    with pytest.raises(DuplicatiError):
        write_atomic(str(tmp_path / 'f'), b'data')
    assert os.listdir(str(tmp_path)) == []


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DuplicatiError) as err:
        write_atomic(str(tmp_path / 'nope' / 'f'), b'x')
    assert 'does not exist' in str(err.value)


def test_rejects_non_bytes(tmp_path):
    with pytest.raises(DuplicatiError):
        write_atomic(str(tmp_path / 'f'), 42)
    assert os.listdir(str(tmp_path)) == []


def test_owner_and_group_resolution():
    assert resolve_uid(None) == -1
    assert resolve_gid(None) == -1
    assert resolve_uid(os.getuid()) == os.getuid()
    assert resolve_uid(str(os.getuid())) == os.getuid()
    import pwd
    import grp
    assert resolve_uid(pwd.getpwuid(os.getuid()).pw_name) == os.getuid()
    assert resolve_gid(grp.getgrgid(os.getgid()).gr_name) == os.getgid()
    with pytest.raises(DuplicatiError) as err:
        resolve_uid('no-such-user-dfleet')
    assert 'does not exist' in str(err.value)
    with pytest.raises(DuplicatiError):
        resolve_gid('no-such-group-dfleet')


def test_chown_to_own_ids(tmp_path):
    target = tmp_path / 'f'
    write_atomic(str(target), b'x', owner=os.getuid(), group=os.getgid())
    st = os.stat(str(target))
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


def test_ensure_private_directory(tmp_path):
    folder = tmp_path / 'a' / 'Duplicati'
    assert ensure_private_directory(str(folder)) is True
    assert _mode(str(folder)) == 0o700
    assert _mode(str(tmp_path / 'a')) == 0o700
    os.chmod(str(folder), 0o755)
    assert ensure_private_directory(str(folder)) is False
    assert _mode(str(folder)) == 0o755  # existing folders are not touched
    (tmp_path / 'file').write_text(u'x')
    with pytest.raises(DuplicatiError):
        ensure_private_directory(str(tmp_path / 'file' / 'sub'))


_WRITER = textwrap.dedent('''
    import sys
    from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import write_atomic
    path = sys.argv[1]
    i = 0
    sys.stdout.write('ready\\n')
    sys.stdout.flush()
    while True:
        i += 1
        write_atomic(path, (('%d:' % (i % 2)) * 20000).encode())
''')


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in sys.path if p)
    return env


def test_crash_safety_kill_at_random_points(tmp_path):
    target = tmp_path / 'state'
    contents = [(('%d:' % n) * 20000).encode() for n in (0, 1)]
    target.write_bytes(contents[0])
    rnd = random.Random(1234)
    for dummy in range(30):
        proc = subprocess.Popen([sys.executable, '-c', _WRITER, str(target)], stdout=subprocess.PIPE, env=_env())
        assert proc.stdout.readline() == b'ready\n'
        time.sleep(rnd.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert target.read_bytes() in contents
    # Killed writers may leave their temporary files, but never a partial target.
    leftovers = [n for n in os.listdir(str(tmp_path)) if n != 'state']
    assert all(n.startswith('.state.') and n.endswith('.tmp') for n in leftovers)


_LOCKER = textwrap.dedent('''
    import sys, time
    from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import file_lock
    path, log, name = sys.argv[1:4]
    with file_lock(path, timeout=30):
        with open(log, 'a') as f:
            f.write(name + ' start\\n')
        time.sleep(0.3)
        with open(log, 'a') as f:
            f.write(name + ' end\\n')
''')


def test_lock_excludes_two_processes(tmp_path):
    target = str(tmp_path / 'agent.json')
    log = str(tmp_path / 'log')
    procs = [subprocess.Popen([sys.executable, '-c', _LOCKER, target, log, name], env=_env()) for name in ('a', 'b')]
    for proc in procs:
        assert proc.wait() == 0
    lines = open(log).read().split()
    # Never interleaved: each start is directly followed by its own end.
    pairs = [tuple(lines[i:i + 4]) for i in range(0, len(lines), 4)]
    assert len(lines) == 8
    assert lines[0] == lines[2] and lines[1] == 'start' and lines[3] == 'end'
    assert lines[4] == lines[6] and lines[5] == 'start' and lines[7] == 'end'
    assert lines[0] != lines[4], pairs
    assert _mode(target + '.lock') == 0o600


def test_lock_times_out_with_clear_error(tmp_path):
    target = str(tmp_path / 'f')
    holder = subprocess.Popen([sys.executable, '-c', _LOCKER, target, str(tmp_path / 'log'), 'h'], env=_env())
    try:
        deadline = time.time() + 10
        while not os.path.exists(str(tmp_path / 'log')) and time.time() < deadline:
            time.sleep(0.01)
        with pytest.raises(DuplicatiError) as err:
            with file_lock(target, timeout=0.1):
                pass
        assert 'Timed out' in str(err.value) and target in str(err.value)
    finally:
        holder.wait()
    with file_lock(target, timeout=1) as lock_path:
        assert lock_path == target + '.lock'


def test_lock_is_reentrant_across_sequential_use(tmp_path):
    target = str(tmp_path / 'f')
    for dummy in range(3):
        with file_lock(target, timeout=1):
            write_atomic(target, b'x')
    assert open(target, 'rb').read() == b'x'
    assert atomic_file.LOCK_SUFFIX == '.lock'
