# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The installed Duplicati Agent: where it is, what it is, and running it to register.

``run_agent_registration`` runs ``duplicati-agent run --agent-register-only`` (Duplicati/Agent/Program.cs): the
agent registers when its agent.json holds no token, saves agent.json itself and exits 0.
The registration URL and the settings passphrase are secrets and never go on the
command line, where ``ps`` shows them to every local user. They are handed over either

* ``preload`` (default, every Duplicati version): a preload.json (``PreloadSettingsLoader``) with
  ``{"args": {"agent": ["--agent-registration-url=...", ...]}}``, named by
  ``DUPLICATI_PRELOAD_SETTINGS``. That file is read last, so it wins over the other
  preload files, which are still read. It is a named pipe (0600, in a private 0700 folder)
  that a thread of this process feeds once, when the agent opens it, and then removes: the
  agent reads it like a file (``PreloadSettingsLoader`` checks ``File.Exists``, true for any
  non-directory, and reads it once with ``File.ReadAllText``), and the secrets are never
  written to disk, so a killed run leaves none behind; or
* ``environment`` (2.3.0.4 and later): ``DUPLICATI__REGISTER_REMOTE_CONTROL`` holds the URL;
  the passphrase still goes through a private preload file, because no environment
  variable carries it.

The agent's output is returned with both secrets masked. The agent runs in its own process
group, which is ended on every way out: success, failure, the timeout, SIGTERM, SIGHUP or
SIGINT of this process, and on Linux the death of this process by SIGKILL (the kernel kills
the agent then, ``PR_SET_PDEATHSIG``).

Also here: the installed binary per OS, the installed version (``autoupdate.manifest``)
and the package type (``package_type_id.txt``) of an install folder.
"""


import ctypes
import ctypes.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import resolve_gid, resolve_uid
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.redaction import redact
from ansible_collections.duplicati.fleet.plugins.module_utils.secrets import mask_text

PRELOAD_ENV = 'DUPLICATI_PRELOAD_SETTINGS'
PRELOAD_DEBUG_ENV = 'DUPLICATI_PRELOAD_SETTINGS_DEBUG'
REGISTER_URL_ENV = 'DUPLICATI__REGISTER_REMOTE_CONTROL'
HANDOVERS = ('preload', 'environment')


class AgentRunError(DuplicatiError):
    """The agent binary failed, timed out, or could not be started."""


def mask_secrets(text, url=None, passphrase=None):
    """``text`` with the registration URL (and its parts), the passphrase and credentials in URLs masked."""
    return mask_text(redact(text, url) if text is not None else '', [passphrase] if passphrase else [])


def preload_document(url=None, passphrase=None):
    """The preload.json that hands the secrets to the agent (key ``agent``, ``--name=value`` form)."""
    args = []
    if url:
        args.append('--agent-registration-url=%s' % url)
    if passphrase:
        args.append('--agent-settings-file-passphrase=%s' % passphrase)
    return {'args': {'agent': args}}


def merge_inherited_preload(document, inherited):
    """Our preload document layered over the file the caller named in ``DUPLICATI_PRELOAD_SETTINGS``.

    Only one file can be named there, so the caller's settings are carried into ours
    (ours win for the same argument name, as later preload files do). Returns
    ``(document, exclusive)``; ``exclusive`` keeps the caller's ``!`` prefix (read only this file).
    """
    if not inherited:
        return document, False
    exclusive = inherited.startswith('!')
    path = inherited[1:] if exclusive else inherited
    try:
        with open(path, 'rb') as handle:
            theirs = json.loads(handle.read().decode('utf-8-sig'))
    except (IOError, OSError, ValueError):
        # The agent skips missing and unparsable files silently (``PreloadSettingsLoader.LoadSettings``); so do we.
        return document, exclusive
    if not isinstance(theirs, dict):
        return document, exclusive
    merged = dict(theirs)
    sections = dict(merged.get('args') or {}) if isinstance(merged.get('args'), dict) else {}
    ours = document['args']['agent']
    names = set(arg.split('=', 1)[0].lower() for arg in ours)
    kept = [arg for arg in sections.get('agent') or [] if isinstance(arg, str) and arg.split('=', 1)[0].lower() not in names]
    sections['agent'] = kept + ours
    merged['args'] = sections
    return merged, exclusive


def build_command(agent_path, settings_file=None, data_folder=None, extra_args=None):
    """The agent's argv: nothing secret in it."""
    argv = [agent_path, 'run', '--agent-register-only']
    if settings_file:
        argv.append('--agent-settings-file=%s' % settings_file)
    if data_folder:
        argv.append('--server-datafolder=%s' % data_folder)
    argv.extend(extra_args or [])
    return argv


class AgentResult(object):
    def __init__(self, rc, stdout, stderr, argv, duration):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.argv = argv
        self.duration = duration


class PipeHandover(object):
    """A preload document handed over once through a named pipe at ``path``: the first reader gets
    all of it, then the pipe is removed. Nothing of it is ever on disk."""

    def __init__(self, folder, document):
        self.path = os.path.join(folder, 'preload.json')
        os.mkfifo(self.path, 0o600)
        self.data = json.dumps(document).encode('utf-8')
        self.read = False
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name='preload-handover')
        self._thread.daemon = True

    def start(self):
        self._thread.start()

    def _serve(self):
        try:
            fd = os.open(self.path, os.O_WRONLY)  # waits for the agent to open it
        except OSError:
            return
        try:
            if self._closed:
                return
            view = memoryview(self.data)
            while view:
                view = view[os.write(fd, view):]
            self.read = True
        except OSError:
            pass  # the reader went away
        finally:
            # Gone from the folder before the reader sees the end of the document.
            try:
                os.unlink(self.path)
            except OSError:
                pass
            os.close(fd)

    def close(self):
        self._closed = True
        try:
            # Open the read end ourselves: a writer waiting for a reader wakes up and sees the close.
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            fd = None
        if self._thread.is_alive():
            self._thread.join(5)
        if fd is not None:
            os.close(fd)


def _die_with_parent():
    """``preexec_fn`` on Linux: the kernel sends SIGKILL to the agent when this process dies (even by SIGKILL)."""
    if not sys.platform.startswith('linux'):
        return None
    try:
        prctl = ctypes.CDLL(ctypes.util.find_library('c') or None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec():
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl
            os._exit(1)
    return preexec


class _Stopped(Exception):
    pass


def _raise_stopped(signum, frame):
    raise _Stopped(signum)


def _end_group(proc):
    """End the agent's process group: SIGTERM, then SIGKILL after 5 seconds; leftovers of an exited agent too."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(5)
        except OSError:
            pass
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()


def run_agent_registration(agent_path, url, settings_file=None, passphrase=None, data_folder=None, handover='preload',
                           timeout=300, environ=None, extra_args=None):
    """Run the agent to register and exit. Returns an ``AgentResult`` (output masked).

    Raises ``AgentRunError`` (with masked output) when the agent cannot be started,
    exits non-zero, runs longer than ``timeout`` seconds, or this process is told to stop.
    """
    if handover not in HANDOVERS:
        raise AgentRunError('Unknown handover %r; use preload or environment' % (handover,))
    if not agent_path or not os.path.isfile(agent_path) or not os.access(agent_path, os.X_OK):
        raise AgentRunError('The Duplicati Agent binary %s was not found or is not executable' % agent_path,
                            hint='Install the duplicati-agent package, set agent_path, or use method=native.')
    env = dict(os.environ if environ is None else environ)
    # Secrets inherited from the caller's environment would reach the agent another way: drop them.
    env.pop(REGISTER_URL_ENV, None)
    # In debug mode PreloadSettingsLoader.LoadSettings reads each file twice; the handover is read once.
    env.pop(PRELOAD_DEBUG_ENV, None)
    argv = build_command(agent_path, settings_file, data_folder, extra_args)
    private = tempfile.mkdtemp(prefix='duplicati-register-')
    pipe = None
    proc = None
    handlers = {}
    try:
        os.chmod(private, 0o700)
        preload_url = url if handover == 'preload' else None
        if handover == 'environment' and url:
            env[REGISTER_URL_ENV] = url
        if preload_url or passphrase:
            document, exclusive = merge_inherited_preload(preload_document(preload_url, passphrase), env.get(PRELOAD_ENV))
            pipe = PipeHandover(private, document)
            env[PRELOAD_ENV] = ('!' if exclusive else '') + pipe.path
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                handlers[signum] = signal.signal(signum, _raise_stopped)
        started = time.monotonic()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=env, close_fds=True, start_new_session=True, cwd='/', preexec_fn=_die_with_parent())
        except OSError as exc:
            raise AgentRunError('Could not start the Duplicati Agent %s: %s' % (agent_path, exc.strerror or exc))
        if pipe is not None:
            pipe.start()
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _end_group(proc)
            out, err = proc.communicate()
            raise AgentRunError('The Duplicati Agent did not finish registering within %s seconds; it was stopped. Output: %s' % (
                timeout, mask_secrets(_text(out) + _text(err), url, passphrase).strip()[-2000:]),
                hint='Raise the timeout option, check that the console is reachable, or use method=native.')
        result = AgentResult(proc.returncode, mask_secrets(_text(out), url, passphrase),
                             mask_secrets(_text(err), url, passphrase), argv, time.monotonic() - started)
    except _Stopped as stopped:
        raise AgentRunError('Stopped by signal %d while the Duplicati Agent was registering; the agent was stopped too'
                            % stopped.args[0])
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        if proc is not None:
            _end_group(proc)
        if pipe is not None:
            pipe.close()
        shutil.rmtree(private, ignore_errors=True)
    if result.rc != 0:
        detail = (result.stdout + '\n' + result.stderr).strip()
        raise AgentRunError('The Duplicati Agent failed to register (exit code %d): %s' % (result.rc, agent_message(detail)),
                            hint='Check the registration link and the agent settings passphrase.')
    return result


def _text(data):
    if data is None:
        return ''
    if isinstance(data, bytes):
        return data.decode('utf-8', 'replace')
    return data


def agent_message(output):
    """The ``Message:`` line the agent prints for a user error (exit code 2), else its ``Exception:`` line,
    else the last lines of output."""
    lines = [line.strip() for line in (output or '').splitlines() if line.strip()]
    for prefix in ('Message:', 'Exception:'):
        for line in lines:
            if line.startswith(prefix):
                return line[len(prefix):].strip()
    return ' / '.join(lines[-5:]) if lines else 'no output'


def _saved_registration(settings_file, passphrase):
    """Whether ``settings_file`` holds a registration now (False when it is absent or unreadable)."""
    try:
        return agent_settings.is_registered(agent_settings.load_agent_settings(settings_file, passphrase))
    except DuplicatiError:
        return False


def register_with_agent(agent_path, url, settings_file, passphrase=None, data_folder=None, handover='preload',
                        timeout=300, force=False, owner=None, group=None):
    """Register by running the agent; returns a warning or None. With ``force`` the old file is set aside and
    restored if the agent fails.

    The agent's ``RegisterAsync`` (Duplicati/Agent/Program.cs) saves agent.json as soon as the
    console has claimed the machine, and only then hands claim ``settings`` to its local server
    (``OnControlAsync`` -> ``WaitForServerAsync``), which is started after ``RegisterAsync``
    returns: with such settings ``run --agent-register-only`` never exits. So when the run fails
    or times out, a ``jwt`` the agent saved means it registered: that is reported (with a
    warning) and the old file is not restored over it.
    """
    warning = None
    aside = None
    if force and os.path.exists(settings_file):
        aside = '%s.%s.previous' % (settings_file, os.urandom(4).hex())
        os.replace(settings_file, aside)
    try:
        try:
            run_agent_registration(agent_path, url, settings_file=settings_file, passphrase=passphrase,
                                   data_folder=data_folder, handover=handover, timeout=timeout)
        except AgentRunError as err:
            if not _saved_registration(settings_file, passphrase):
                raise
            warning = ('The Duplicati Agent saved its registration in %s but did not finish (%s); the registration is kept. '
                       'An agent that received settings with the claim waits for its local server to apply them, and that '
                       'server does not run with --agent-register-only: those settings were not applied by this run.'
                       % (settings_file, err.message.rstrip('.')))
        if not agent_settings.is_registered(agent_settings.load_agent_settings(settings_file, passphrase)):
            raise DuplicatiError('The Duplicati Agent exited without an error but %s holds no registration' % settings_file)
    except Exception:
        if aside is not None:
            os.replace(aside, settings_file)
            aside = None
        raise
    finally:
        if aside is not None:
            os.unlink(aside)
    if owner or group:
        os.chown(settings_file, resolve_uid(owner), resolve_gid(group))
    return warning
