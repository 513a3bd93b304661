# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Duplicati Agent and Server services: their options files and service managers.

Linux packages (§9.2, §9.3 of the protocol sheet) start the services with systemd:

* ``duplicati-agent.service``: ``ExecStart=/usr/bin/duplicati-agent run $DAEMON_OPTS``
  with ``EnvironmentFile=-/etc/default/duplicati-agent`` (deb) or
  ``-/etc/sysconfig/duplicati-agent`` (rpm);
* ``duplicati.service``: ``ExecStart=/usr/bin/duplicati-server $DAEMON_OPTS`` with
  ``/etc/default/duplicati`` or ``/etc/sysconfig/duplicati``.

``DAEMON_OPTS`` is the only variable in these files. systemd reads the file with its
shell-like environment-file parser and then splits an unbraced ``$DAEMON_OPTS`` into words,
honouring quotes. ``format_daemon_opts`` writes a value that survives both steps (and a
shell that sources the file) for any argument without a newline or NUL;
``parse_daemon_opts`` reads it back.

macOS (§9.4) runs the package's LaunchAgent for the console user, or, with
``macos_scope=system``, a LaunchDaemon written here so that the agent runs without anyone
logged in. There the options are the plist's ``ProgramArguments``.

``plan_actions`` is the one place that decides what to do: start, stop, enable,
disable, and restart only when asked or when the options of a running service changed.
"""


import os
import plistlib
import re

from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError

SERVICE_NAMES = ('agent', 'server')

SYSTEMD_UNITS = {'agent': 'duplicati-agent.service', 'server': 'duplicati.service'}
OPTIONS_BASENAMES = {'agent': 'duplicati-agent', 'server': 'duplicati'}
OPTIONS_DIRS = {'deb': '/etc/default', 'rpm': '/etc/sysconfig'}
OPTIONS_VARIABLE = 'DAEMON_OPTS'

# macOS: the package's LaunchAgents (§9.4) and the LaunchDaemons written for macos_scope=system.
LAUNCHD_PACKAGE_AGENTS = {
    'agent': ('com.duplicati.agent.launchagent', '/Library/LaunchAgents/com.duplicati.agent.launchagent.plist',
              ['/usr/local/duplicati-agent/duplicati-agent', 'run']),
    'server': ('com.duplicati.server.launchagent', '/Library/LaunchAgents/com.duplicati.server.launchagent.plist',
               ['/usr/local/duplicati/duplicati-server']),
}
LAUNCHD_SYSTEM_DAEMONS = {
    'agent': ('com.duplicati.agent.launchdaemon', '/Library/LaunchDaemons/com.duplicati.agent.launchdaemon.plist'),
    'server': ('com.duplicati.server.launchdaemon', '/Library/LaunchDaemons/com.duplicati.server.launchdaemon.plist'),
}

_WHITESPACE = ' \t\n\r'
_BARE_WORD = re.compile(r'^[A-Za-z0-9_@%+=:,./-]+$')
_ASSIGNMENT = re.compile(r'^\s*(?:export\s+)?' + OPTIONS_VARIABLE + r'=')
_ANY_ASSIGNMENT = re.compile(r'^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=')
# The agent service of the deb/rpm packages: root, started in /.
SERVICE_HOME = '/root'


# ---- DAEMON_OPTS quoting --------------------------------------------------------------

def _check_argument(arg):
    if not isinstance(arg, str):
        raise DuplicatiError('Every daemon option must be a string, got %r' % (arg,))
    if arg == '':
        raise DuplicatiError('A daemon option must not be empty')
    if any((ord(ch) < 0x20 and ch != '\t') or ord(ch) == 0x7f for ch in arg):
        raise DuplicatiError('The daemon option %r contains a line break or another control character, '
                             'which an options file cannot hold' % arg[:40])


def _quote_word(arg):
    """One argument as a word of systemd's ``$VAR`` splitting (quotes honoured).

    systemd treats a backslash as an escape even inside single quotes, so a word with a
    backslash or a single quote goes in double quotes with ``\\`` and ``\"`` escaped.
    """
    if _BARE_WORD.match(arg):
        return arg
    if "'" not in arg and '\\' not in arg:
        return "'" + arg + "'"
    return '"' + arg.replace('\\', '\\\\').replace('"', '\\"') + '"'


def _escape_double_quoted(text):
    """Text for inside ``"..."`` of an environment file (and of a POSIX shell)."""
    out = []
    for ch in text:
        if ch in '\\"$`':
            out.append('\\')
        out.append(ch)
    return ''.join(out)


def format_daemon_opts(args):
    """The line ``DAEMON_OPTS="..."`` that hands exactly ``args`` to the service binary."""
    words = []
    for arg in args:
        _check_argument(arg)
        words.append(_quote_word(arg))
    return '%s="%s"' % (OPTIONS_VARIABLE, _escape_double_quoted(' '.join(words)))


def _unquote_assignment_value(raw):
    """The value of ``VAR=raw`` as systemd's environment-file parser reads it."""
    out = []
    i = 0
    raw = raw.strip()
    while i < len(raw):
        ch = raw[i]
        if ch == "'":
            end = raw.find("'", i + 1)
            if end < 0:
                raise DuplicatiError('Unbalanced single quote in the %s value' % OPTIONS_VARIABLE)
            out.append(raw[i + 1:end])
            i = end + 1
        elif ch == '"':
            i += 1
            while True:
                if i >= len(raw):
                    raise DuplicatiError('Unbalanced double quote in the %s value' % OPTIONS_VARIABLE)
                ch = raw[i]
                if ch == '"':
                    i += 1
                    break
                if ch == '\\' and i + 1 < len(raw) and raw[i + 1] in '\\"$`':
                    out.append(raw[i + 1])
                    i += 2
                    continue
                out.append(ch)
                i += 1
        elif ch == '\\' and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
        elif ch == '#' or ch in _WHITESPACE:
            break
        else:
            out.append(ch)
            i += 1
    return ''.join(out)


def split_words(value):
    """Split a ``$VAR`` value into arguments like systemd does (quotes honoured)."""
    words = []
    current = []
    in_word = False
    i = 0
    while i < len(value):
        ch = value[i]
        if ch in _WHITESPACE:
            if in_word:
                words.append(''.join(current))
                current = []
                in_word = False
            i += 1
            continue
        in_word = True
        if ch == "'":
            end = value.find("'", i + 1)
            if end < 0:
                raise DuplicatiError('Unbalanced single quote in the %s value' % OPTIONS_VARIABLE)
            current.append(value[i + 1:end])
            i = end + 1
        elif ch == '"':
            i += 1
            while True:
                if i >= len(value):
                    raise DuplicatiError('Unbalanced double quote in the %s value' % OPTIONS_VARIABLE)
                ch = value[i]
                if ch == '"':
                    i += 1
                    break
                if ch == '\\' and i + 1 < len(value):
                    current.append(value[i + 1])
                    i += 2
                    continue
                current.append(ch)
                i += 1
        elif ch == '\\' and i + 1 < len(value):
            current.append(value[i + 1])
            i += 2
        else:
            current.append(ch)
            i += 1
    if in_word:
        words.append(''.join(current))
    return words


def parse_daemon_opts(text):
    """The argument list of the last ``DAEMON_OPTS=`` line of an options file, or None if absent."""
    found = None
    for line in (text or '').split('\n'):
        if _ASSIGNMENT.match(line):
            raw = line.split('=', 1)[1]
            found = split_words(_unquote_assignment_value(raw))
    return found


def parse_environment_file(text):
    """``{name: value}`` of every assignment of an options file (the last one of a name wins): the environment
    systemd gives the service from its ``EnvironmentFile``."""
    values = {}
    for line in (text or '').split('\n'):
        match = _ANY_ASSIGNMENT.match(line)
        if match:
            try:
                values[match.group(1)] = _unquote_assignment_value(line[match.end():])
            except DuplicatiError:
                continue
    return values


def agent_options_text(module):
    """The text of the Linux agent service's options file (the unit's ``EnvironmentFile``, else the package's),
    '' when there is none."""
    try:
        path = SystemdService(module, SYSTEMD_UNITS['agent']).options_file('agent')
    except DuplicatiError:
        path = options_file_path('agent', detect_package_family())
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return ''


def agent_service_paths(options_text, install_dir=None):
    """``(agent.json, data folder, overridden)`` of the Linux agent service whose options file holds ``options_text``.

    The service runs as root in ``/`` with the file's variables in its environment and ``DAEMON_OPTS`` as its
    arguments. The data folder is ``DataFolderManager.GetDataFolder`` of that process (``--server-datafolder``,
    ``DUPLICATI__SERVER_DATAFOLDER``, ``--portable-mode``, ``DUPLICATI_HOME``, else ``/root/.config/Duplicati``);
    agent.json is ``--agent-settings-file`` when given, else ``Settings.GetSettingsPath`` (Duplicati/Agent/Settings.cs):
    ``DataFolderLocator.GetDefaultStorageFolder("agent.json")``. ``overridden`` says whether the data folder differs
    from the default by an option or a variable.
    """
    env = parse_environment_file(options_text)
    args = parse_daemon_opts(options_text) or []
    folder, overridden = df.resolve_data_folder(df.LINUX, args, env, SERVICE_HOME, install_dir)
    settings_file = df.extract_option(args, None, 'agent-settings-file', df.LINUX)
    if settings_file:
        settings_file = os.path.join('/', settings_file)
    else:
        settings_file = df.agent_settings_path(df.LINUX, args, env, SERVICE_HOME, install_dir)
    return settings_file, folder.rstrip('/') or '/', overridden


def options_file_holds(text, args):
    """Whether an options file ``text`` already holds exactly ``DAEMON_OPTS`` ``args``, so that writing them
    (``render_options_file``) would leave it as it is."""
    try:
        return text is not None and parse_daemon_opts(text) == list(args) and render_options_file(text, args) == text
    except DuplicatiError:
        return False


def render_options_file(old_text, args):
    """The options file with ``DAEMON_OPTS`` set to ``args``; every other line is kept."""
    new_line = format_daemon_opts(args)
    lines = (old_text or '').rstrip('\n').split('\n') if old_text else []
    out = []
    replaced = False
    for line in lines:
        if _ASSIGNMENT.match(line):
            if not replaced:
                out.append(new_line)
                replaced = True
            continue
        out.append(line)
    if not replaced:
        out.append(new_line)
    return '\n'.join(out) + '\n'


# ---- where the options live -----------------------------------------------------------

def detect_package_family(root='/'):
    """``deb`` or ``rpm``: which options folder the installed packages use."""
    def exists(path):
        return os.path.exists(os.path.join(root, path.lstrip('/')))
    if exists('/etc/debian_version'):
        return 'deb'
    for marker in ('/etc/redhat-release', '/etc/fedora-release', '/etc/SuSE-release', '/etc/SUSE-brand', '/etc/system-release'):
        if exists(marker):
            return 'rpm'
    if exists('/etc/default') and not exists('/etc/sysconfig'):
        return 'deb'
    if exists('/etc/sysconfig'):
        return 'rpm'
    return 'deb'


def options_file_path(name, family):
    """``/etc/default/duplicati-agent`` and friends."""
    if name not in SERVICE_NAMES:
        raise DuplicatiError('Unknown Duplicati service %r; use one of %s' % (name, ', '.join(SERVICE_NAMES)))
    if family not in OPTIONS_DIRS:
        raise DuplicatiError('Unknown package family %r; use deb or rpm' % (family,))
    return os.path.join(OPTIONS_DIRS[family], OPTIONS_BASENAMES[name])


def environment_file_from_show(output):
    """The first ``EnvironmentFiles=`` path of ``systemctl show -p EnvironmentFiles`` output, or None."""
    for line in (output or '').splitlines():
        if line.startswith('EnvironmentFiles='):
            value = line.split('=', 1)[1].strip()
            if value:
                return value.split(' ', 1)[0]
    return None


# ---- the decision -----------------------------------------------------------------------

def plan_actions(active, enabled, state=None, want_enabled=None, options_changed=False):
    """The service manager actions that converge a service, in order.

    ``active``/``enabled`` describe the service now. ``state`` is ``started``,
    ``stopped``, ``restarted`` or None (leave running state alone, but restart a running
    service whose options changed, so they take effect). Returns a list drawn from
    ``enable``, ``disable``, ``start``, ``stop``, ``restart``; empty means nothing to do.
    """
    actions = []
    if want_enabled is not None and bool(want_enabled) != bool(enabled):
        actions.append('enable' if want_enabled else 'disable')
    if state == 'started':
        if not active:
            actions.append('start')
        elif options_changed:
            actions.append('restart')
    elif state == 'stopped':
        if active:
            actions.append('stop')
    elif state == 'restarted':
        actions.append('restart')
    elif state is None:
        if active and options_changed:
            actions.append('restart')
    else:
        raise DuplicatiError('Unknown service state %r; use started, stopped or restarted' % (state,))
    return actions


# ---- systemd ---------------------------------------------------------------------------

class SystemdService(object):
    """One systemd unit, driven through ``systemctl`` with the module's ``run_command``.

    Its state is read with one ``systemctl show`` of the four properties the collection needs (``LoadState``,
    ``ActiveState``, ``UnitFileState``, ``EnvironmentFiles``), cached until an action changes it.
    """

    ENABLED_STATES = ('enabled', 'enabled-runtime', 'alias', 'static', 'indirect', 'generated')
    ACTIVE_STATES = ('active', 'activating', 'reloading')
    PROPERTIES = ('LoadState', 'ActiveState', 'UnitFileState', 'EnvironmentFiles')

    def __init__(self, module, unit, systemctl=None):
        self.module = module
        self.unit = unit
        self.systemctl = systemctl or module.get_bin_path('systemctl', required=False)
        if not self.systemctl:
            raise DuplicatiError('systemctl was not found on this host; the Duplicati services need systemd on Linux')
        self._properties = None

    def _run(self, *args):
        return self.module.run_command([self.systemctl] + list(args))

    def show(self, *properties):
        """``{property: value}`` of ``systemctl show -p ...``; a property printed more than once keeps its first value."""
        rc, out, err = self._run('show', self.unit, '--no-pager', '-p', ','.join(properties))
        values = {}
        for line in out.splitlines():
            if '=' in line:
                key, value = line.split('=', 1)
                values.setdefault(key, value)
        return values

    def properties(self):
        if self._properties is None:
            self._properties = self.show(*self.PROPERTIES)
        return self._properties

    def exists(self):
        return self.properties().get('LoadState') not in (None, '', 'not-found')

    def environment_file(self):
        path = environment_file_from_show('EnvironmentFiles=%s' % self.properties().get('EnvironmentFiles', ''))
        return path.lstrip('-') if path else None

    def options_file(self, name):
        """The options file of Duplicati service ``name`` (agent, server): the unit's ``EnvironmentFile``, else the
        package family's default (``/etc/default/...`` or ``/etc/sysconfig/...``)."""
        return (self.environment_file() if self.exists() else None) or options_file_path(name, detect_package_family())

    def options_text(self, name):
        """The text of the options file, or None when it is absent or cannot be read."""
        try:
            with open(self.options_file(name), 'rb') as handle:
                return handle.read().decode('utf-8')
        except (IOError, OSError, UnicodeDecodeError):
            return None

    def daemon_opts(self, name):
        """The ``DAEMON_OPTS`` of the options file, or None when the file is absent or cannot be read."""
        text = self.options_text(name)
        try:
            return parse_daemon_opts(text) if text is not None else None
        except DuplicatiError:
            return None

    def is_active(self):
        return self.properties().get('ActiveState', '') in self.ACTIVE_STATES

    def is_enabled(self):
        return self.properties().get('UnitFileState', '') in self.ENABLED_STATES

    def status(self):
        return {'active': self.is_active(), 'enabled': self.is_enabled()}

    def apply(self, action):
        self._properties = None
        rc, out, err = self._run(action, self.unit)
        if rc != 0:
            raise DuplicatiError('systemctl %s %s failed (exit %d): %s' % (action, self.unit, rc, (err or out).strip()))


# ---- launchd (macOS) -------------------------------------------------------------------

def launchd_plist(label, program_arguments, keep_alive=True):
    """The XML of a launchd job that runs ``program_arguments`` at load."""
    job = {'Label': label, 'ProgramArguments': list(program_arguments), 'RunAtLoad': True}
    if keep_alive:
        job['KeepAlive'] = True
    return plistlib.dumps(job, fmt=plistlib.FMT_XML, sort_keys=True)


def plist_program_arguments(data):
    """``ProgramArguments`` of a plist (bytes), or None when unreadable."""
    try:
        job = plistlib.loads(data)
    except Exception:  # plistlib raises several types for bad input
        return None
    args = job.get('ProgramArguments') if isinstance(job, dict) else None
    return list(args) if isinstance(args, list) else None


def parse_launchctl_disabled(output, label):
    """Whether ``launchctl print-disabled`` lists ``label`` as disabled (None if not listed)."""
    pattern = re.compile(r'"%s"\s*=>\s*(\w+)' % re.escape(label))
    match = pattern.search(output or '')
    if not match:
        return None
    return match.group(1) in ('true', 'disabled')


def console_owner():
    """(uid, user name) of the owner of /dev/console: the user logged in on a Mac, whose ``gui/<uid>`` domain holds
    the package's LaunchAgents. (None, None) when there is no console; the name is None when the uid has no entry."""
    try:
        uid = os.stat('/dev/console').st_uid
    except OSError:
        return None, None
    try:
        import pwd
        return uid, pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return uid, None


class LaunchdService(object):
    """A launchd job in a domain (``gui/<uid>`` for LaunchAgents, ``system`` for LaunchDaemons)."""

    def __init__(self, module, label, plist_path, domain, launchctl=None):
        self.module = module
        self.label = label
        self.plist_path = plist_path
        self.domain = domain
        self.launchctl = launchctl or module.get_bin_path('launchctl', required=False) or '/bin/launchctl'

    @property
    def target(self):
        return '%s/%s' % (self.domain, self.label)

    def _run(self, *args):
        return self.module.run_command([self.launchctl] + list(args))

    def exists(self):
        return os.path.exists(self.plist_path)

    def is_loaded(self):
        rc, out, err = self._run('print', self.target)
        return rc == 0

    def is_active(self):
        rc, out, err = self._run('print', self.target)
        return rc == 0 and re.search(r'^\s*state = running', out, re.M) is not None

    def is_enabled(self):
        rc, out, err = self._run('print-disabled', self.domain)
        disabled = parse_launchctl_disabled(out, self.label)
        return not disabled

    def status(self):
        return {'active': self.is_active(), 'enabled': self.is_enabled()}

    def apply(self, action):
        if action == 'enable':
            commands = [('enable', self.target)]
        elif action == 'disable':
            commands = [('disable', self.target)]
        elif action == 'start':
            commands = [('kickstart', self.target)] if self.is_loaded() else [('bootstrap', self.domain, self.plist_path)]
        elif action == 'stop':
            commands = [('bootout', self.target)]
        elif action == 'restart':
            if self.is_loaded():
                commands = [('bootout', self.target), ('bootstrap', self.domain, self.plist_path)]
            else:
                commands = [('bootstrap', self.domain, self.plist_path)]
        else:
            raise DuplicatiError('Unknown launchd action %r' % (action,))
        for command in commands:
            rc, out, err = self._run(*command)
            if rc != 0:
                raise DuplicatiError('launchctl %s failed (exit %d): %s' % (' '.join(command), rc, (err or out).strip()))
