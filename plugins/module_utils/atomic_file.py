# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash-safe file writes and a per-file lock for files on managed hosts.

``write_atomic`` never leaves a partial file behind: the new content goes to a
temporary file in the same directory, created with the final mode from the first
instant (so a secret is never readable by others, not even briefly), is flushed to
disk, given its owner and group, and then renamed over the target with
``os.replace``.  The directory is fsynced so the rename itself survives a crash.
On any error the temporary file is removed and the old file is left untouched.

``file_lock`` serialises two runs that converge the same file on the same host.
"""


import contextlib
import errno
import os
import stat
import time

try:
    import fcntl
    HAS_FCNTL = True
except ImportError:  # pragma: no cover - Windows hosts use PowerShell modules
    HAS_FCNTL = False

try:
    import grp
    import pwd
    HAS_PWD = True
except ImportError:  # pragma: no cover
    HAS_PWD = False

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError

DEFAULT_LOCK_TIMEOUT = 60.0
LOCK_SUFFIX = '.lock'


def resolve_uid(owner):
    """Return the numeric uid for a user name or id, or -1 for ``None``."""
    if owner is None or owner == '':
        return -1
    if isinstance(owner, int):
        return owner
    text = str(owner)
    if text.isdigit():
        return int(text)
    if not HAS_PWD:
        raise DuplicatiError('Cannot resolve the user %r on this host: the pwd module is not available' % text)
    try:
        return pwd.getpwnam(text).pw_uid
    except KeyError:
        raise DuplicatiError('The user %r does not exist on this host' % text)


def resolve_gid(group):
    """Return the numeric gid for a group name or id, or -1 for ``None``."""
    if group is None or group == '':
        return -1
    if isinstance(group, int):
        return group
    text = str(group)
    if text.isdigit():
        return int(text)
    if not HAS_PWD:
        raise DuplicatiError('Cannot resolve the group %r on this host: the grp module is not available' % text)
    try:
        return grp.getgrnam(text).gr_gid
    except KeyError:
        raise DuplicatiError('The group %r does not exist on this host' % text)


def attributes_differ(path, mode=None, owner=None, group=None):
    """Whether the file at ``path`` lacks ``mode`` (an int), ``owner`` or ``group`` (names or ids; None: any)."""
    st = os.stat(path)
    return ((mode is not None and stat.S_IMODE(st.st_mode) != mode)
            or resolve_uid(owner) not in (-1, st.st_uid)
            or resolve_gid(group) not in (-1, st.st_gid))


def user_home(owner):
    """Return the home folder of a user name or id from the password database, or None."""
    if not HAS_PWD or owner is None:
        return None
    try:
        uid = resolve_uid(owner)
        return pwd.getpwuid(uid).pw_dir
    except (KeyError, DuplicatiError):
        return None


def fsync_directory(path):
    """Flush a directory entry change (create, rename) to disk where the OS allows it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _random_temp_path(directory, name):
    return os.path.join(directory, '.%s.%s.tmp' % (name, os.urandom(6).hex()))


def write_atomic(path, data, mode=0o600, owner=None, group=None):
    """Replace ``path`` with ``data`` (bytes, or text written as UTF-8) atomically.

    The file ends up with exactly ``mode`` (not filtered by the umask) and, when
    given, ``owner``/``group`` (names or ids).  Raises ``DuplicatiError`` with the
    reason on failure; then the old file is unchanged and no temporary file is left.
    """
    if isinstance(data, str):
        data = data.encode('utf-8')
    if not isinstance(data, (bytes, bytearray)):
        raise DuplicatiError('write_atomic needs bytes or text, not %s' % type(data).__name__)
    uid = resolve_uid(owner)
    gid = resolve_gid(group)
    path = os.path.abspath(path)
    directory, name = os.path.split(path)
    if not os.path.isdir(directory):
        raise DuplicatiError('Cannot write %s: the folder %s does not exist' % (path, directory))

    tmp = None
    fd = None
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
        for dummy in range(10):
            tmp = _random_temp_path(directory, name)
            try:
                # Created with at most ``mode`` (the umask can only remove bits).
                fd = os.open(tmp, flags, mode & 0o777)
                break
            except OSError as e:
                if e.errno != errno.EEXIST:
                    raise
                tmp = None
        if fd is None:
            raise OSError(errno.EEXIST, 'could not create a unique temporary file', directory)
        view = memoryview(bytes(data))
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        if uid != -1 or gid != -1:
            os.fchown(fd, uid, gid)
        # Exact mode after chown (chown may clear set-id bits); never wider than asked.
        os.fchmod(fd, mode)
        os.close(fd)
        fd = None
        os.replace(tmp, path)
        tmp = None
        fsync_directory(directory)
    except (OSError, IOError) as e:
        raise DuplicatiError('Failed to write %s: %s' % (path, e.strerror or e))
    finally:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def ensure_private_directory(path, owner=None, group=None, mode=0o700):
    """Create ``path`` (and missing parents) with ``mode`` like Duplicati locks a new data folder.

    Existing folders are left exactly as they are.  Returns True if anything was created.
    """
    path = os.path.abspath(path)
    missing = []
    current = path
    while not os.path.isdir(current):
        if os.path.lexists(current):
            raise DuplicatiError('Cannot create the folder %s: %s exists and is not a folder' % (path, current))
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    uid = resolve_uid(owner)
    gid = resolve_gid(group)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, mode)
            if uid != -1 or gid != -1:
                os.chown(folder, uid, gid)
            os.chmod(folder, mode)
        except OSError as e:
            raise DuplicatiError('Failed to create the folder %s: %s' % (folder, e.strerror or e))
        fsync_directory(os.path.dirname(folder))
    return bool(missing)


@contextlib.contextmanager
def file_lock(path, timeout=DEFAULT_LOCK_TIMEOUT, poll_interval=0.05):
    """Hold an exclusive lock on ``<path>.lock`` for the duration of the ``with`` block.

    Two processes converging the same file never interleave.  Waits at most
    ``timeout`` seconds, then raises ``DuplicatiError``.  The lock file is kept (removing
    it would let a third process lock a different inode) and holds no data.
    """
    if not HAS_FCNTL:
        raise DuplicatiError('File locking needs fcntl, which this host does not have')
    lock_path = os.path.abspath(path) + LOCK_SUFFIX
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0), 0o600)
    except OSError as e:
        raise DuplicatiError('Cannot open the lock file %s: %s' % (lock_path, e.strerror or e))
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (OSError, IOError) as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise DuplicatiError('Cannot lock %s: %s' % (lock_path, e.strerror or e))
            if time.monotonic() >= deadline:
                raise DuplicatiError(
                    'Timed out after %s seconds waiting for the lock %s: another run is changing %s on this host; '
                    'retry when it has finished' % (timeout, lock_path, path))
            time.sleep(poll_interval)
        try:
            yield lock_path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
