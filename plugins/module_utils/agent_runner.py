# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The installed Duplicati Agent: where it is, what it is, and running it to register.

``run_agent_registration`` runs ``duplicati-agent run --agent-register-only`` (§1.1): the
agent registers when its agent.json holds no token, saves agent.json itself and exits 0.
The registration URL and the settings passphrase are secrets and never go on the
command line, where ``ps`` shows them to every local user. They are handed over either

* ``preload`` (default, every Duplicati version): a preload.json (§3) with
  ``{"args": {"agent": ["--agent-registration-url=...", ...]}}`` in a private temporary
  folder (0700, file 0600), named by ``DUPLICATI_PRELOAD_SETTINGS``. That file is read
  last, so it wins over the other preload files, which are still read. It is removed as
  soon as the agent exits; or
* ``environment`` (2.3.0.4 and later): ``DUPLICATI__REGISTER_REMOTE_CONTROL`` holds the URL;
  the passphrase still goes through a private preload file, because no environment
  variable carries it.

The agent's output is returned with both secrets masked.

Also here: the installed binary per OS, the installed version (``autoupdate.manifest``)
and the package type (``package_type_id.txt``) of an install folder.
"""


import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.redaction import MASK, redact

PRELOAD_ENV = 'DUPLICATI_PRELOAD_SETTINGS'
REGISTER_URL_ENV = 'DUPLICATI__REGISTER_REMOTE_CONTROL'
HANDOVERS = ('preload', 'environment')
PACKAGE_TYPE_FILE = 'package_type_id.txt'
MANIFEST_FILE = 'autoupdate.manifest'

# The agent binary each package installs (§9.2-§9.5).
DEFAULT_AGENT_PATHS = {
    'linux': ('/usr/bin/duplicati-agent', '/usr/lib/duplicati/duplicati-agent', '/usr/lib/duplicati-agent/duplicati-agent',
              '/opt/duplicati/duplicati-agent'),
    'macos': ('/usr/local/duplicati-agent/duplicati-agent',),
}


class AgentRunError(DuplicatiError):
    """The agent binary failed, timed out, or could not be started."""


def default_agent_path(os_name, exists=os.path.exists):
    """The first installed agent binary of this OS, or the package's usual path when none is installed."""
    candidates = DEFAULT_AGENT_PATHS.get(os_name) or DEFAULT_AGENT_PATHS['linux']
    for path in candidates:
        if exists(path):
            return path
    return candidates[0]


def agent_install_dir(agent_path):
    """The install folder of an agent binary: where the symlink ``/usr/bin/duplicati-agent`` points."""
    return os.path.dirname(os.path.realpath(agent_path))


def read_package_type_id(install_dir):
    """``UpdaterManager.PackageTypeId``: the first non-blank line of package_type_id.txt, '' if absent."""
    try:
        with open(os.path.join(install_dir, PACKAGE_TYPE_FILE), 'rb') as handle:
            text = handle.read().decode('utf-8-sig', 'replace')
    except (IOError, OSError):
        return ''
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ''


def read_installed_version(install_dir):
    """The ``Version`` of the install folder's autoupdate.manifest (signature lines skipped), or None."""
    try:
        with open(os.path.join(install_dir, MANIFEST_FILE), 'rb') as handle:
            text = handle.read().decode('utf-8-sig', 'replace')
    except (IOError, OSError):
        return None
    body = ''.join(line for line in text.splitlines(True) if not line.startswith('//'))
    try:
        value = json.loads(body).get('Version')
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def mask_secrets(text, url=None, passphrase=None):
    """``text`` with the registration URL (and its parts) and the passphrase masked."""
    text = redact(text, url) if url else ('%s' % (text,) if text is not None else '')
    if passphrase:
        text = text.replace(passphrase, MASK)
    return text


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
        # The agent skips missing and unparsable files silently (§3); so do we.
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


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except OSError:
        return
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass


def run_agent_registration(agent_path, url, settings_file=None, passphrase=None, data_folder=None, handover='preload',
                           timeout=300, environ=None, extra_args=None):
    """Run the agent to register and exit. Returns an ``AgentResult`` (output masked).

    Raises ``AgentRunError`` (with masked output) when the agent cannot be started,
    exits non-zero or runs longer than ``timeout`` seconds.
    """
    if handover not in HANDOVERS:
        raise AgentRunError('Unknown handover %r; use preload or environment' % (handover,))
    if not agent_path or not os.path.isfile(agent_path) or not os.access(agent_path, os.X_OK):
        raise AgentRunError('The Duplicati Agent binary %s was not found or is not executable' % agent_path,
                            hint='Install the duplicati-agent package, set agent_path, or use method=native.')
    env = dict(os.environ if environ is None else environ)
    # Secrets inherited from the caller's environment would reach the agent another way: drop them.
    env.pop(REGISTER_URL_ENV, None)
    argv = build_command(agent_path, settings_file, data_folder, extra_args)
    private = tempfile.mkdtemp(prefix='duplicati-register-')
    try:
        os.chmod(private, 0o700)
        preload_url = url if handover == 'preload' else None
        if handover == 'environment' and url:
            env[REGISTER_URL_ENV] = url
        if preload_url or passphrase:
            document, exclusive = merge_inherited_preload(preload_document(preload_url, passphrase), env.get(PRELOAD_ENV))
            path = os.path.join(private, 'preload.json')
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as handle:
                json.dump(document, handle)
            env[PRELOAD_ENV] = ('!' if exclusive else '') + path
        started = time.monotonic()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=env, close_fds=True, start_new_session=True, cwd='/')
        except OSError as exc:
            raise AgentRunError('Could not start the Duplicati Agent %s: %s' % (agent_path, exc.strerror or exc))
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            raise AgentRunError('The Duplicati Agent did not finish registering within %s seconds; it was stopped. Output: %s' % (
                timeout, mask_secrets(_text(out) + _text(err), url, passphrase).strip()[-2000:]),
                hint='Raise the timeout option, check that the console is reachable, or use method=native.')
        result = AgentResult(proc.returncode, mask_secrets(_text(out), url, passphrase),
                             mask_secrets(_text(err), url, passphrase), argv, time.monotonic() - started)
    finally:
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
