# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The macOS services under launchd: the package's LaunchAgents, the collection's LaunchDaemons.

macOS runs the package's LaunchAgent for the console user, or, with ``macos_scope=system``,
a LaunchDaemon written here so that the agent runs without anyone logged in. There the
options are the plist's ``ProgramArguments``.
"""

import os
import plistlib
import re

from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils import secrets
from ansible_collections.duplicati.fleet.plugins.module_utils import atomic_file
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import write_atomic
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.service_manager import plan_actions, predict, read_bytes

# macOS: the package's LaunchAgents and the LaunchDaemons written for macos_scope=system.
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


def console_uid():
    """The uid of the console user, or this process's when nobody is logged in."""
    uid = console_owner()[0]
    return uid if uid is not None else os.getuid()


def console_user_home():
    """The home folder of the console user (where the package's LaunchAgent keeps the agent's data), else this
    process's."""
    uid = console_owner()[0]
    return (atomic_file.user_home(uid) if uid is not None else None) or df.host_home()


def masked_plist(data):
    """A launchd plist for a diff, the values of secret program arguments masked."""
    if not data:
        return ''
    return secrets.mask_text(data.decode('utf-8', 'replace'), secrets.secret_values(plist_program_arguments(data) or []))


def _plist_diff(path, old, new):
    return {'before': masked_plist(old), 'after': masked_plist(new), 'before_header': path, 'after_header': path}


def converge(module, name, state=None, enabled=None, daemon_opts=None, macos_scope='user', masked=None):
    """Bring service ``name`` (agent, server) to ``state``/``enabled`` with ``daemon_opts``; the module's result.

    ``macos_scope=user`` drives the package's LaunchAgent in the console user's domain;
    ``system`` writes a LaunchDaemon and takes the package's LaunchAgent out of the way.
    launchd masks no job, so ``masked=false`` holds already and ``masked=true`` is refused.
    In check mode nothing is written or run; the result is the same."""
    if masked:
        raise DuplicatiError('masked=true is a systemd setting: launchd cannot mask a job',
                             hint='On macOS use enabled=false (launchctl disable) and state=stopped.')
    label, plist, default_args = LAUNCHD_PACKAGE_AGENTS[name]
    package_args = plist_program_arguments(read_bytes(plist) or b'') or list(default_args)
    base = package_args[:len(default_args)]
    result = {'options_changed': False}
    actions = []
    if macos_scope == 'system':
        label, path = LAUNCHD_SYSTEM_DAEMONS[name]
        job = LaunchdService(module, label, path, 'system')
        old = read_bytes(path)
        current = plist_program_arguments(old)[len(base):] if old and plist_program_arguments(old) else None
        new = launchd_plist(label, base + (daemon_opts if daemon_opts is not None else (current or [])))
        if new != old:
            result.update(options_changed=True, diff=_plist_diff(path, old, new))
            if not module.check_mode:
                write_atomic(path, new, mode=0o644, owner=0, group=0)
        package_job = LaunchdService(module, LAUNCHD_PACKAGE_AGENTS[name][0], plist, 'gui/%d' % console_uid())
        if state in ('started', 'restarted') and os.path.exists(plist) and package_job.is_loaded():
            actions.append('bootout package LaunchAgent')
            if not module.check_mode:
                package_job.apply('stop')
                package_job.apply('disable')
    else:
        path = plist
        job = LaunchdService(module, label, path, 'gui/%d' % console_uid())
        if not os.path.exists(path):
            raise DuplicatiError('The launchd job %s is not installed (%s is missing)' % (label, path),
                                 hint='Install the Duplicati package first, or use macos_scope=system.')
        current = package_args[len(base):]
        if daemon_opts is not None and daemon_opts != current:
            old = read_bytes(path)
            new = launchd_plist(label, base + daemon_opts, keep_alive=False)
            result.update(options_changed=True, diff=_plist_diff(path, old, new))
            if not module.check_mode:
                write_atomic(path, new, mode=0o644, owner=0, group=0)
    result['options_file'] = path
    result['service'] = label
    effective = daemon_opts if daemon_opts is not None else current
    result['daemon_opts'] = secrets.mask_arguments(effective) if effective is not None else None
    status = job.status() if job.exists() or module.check_mode else {'active': False, 'enabled': False}
    planned = plan_actions(status['active'], status['enabled'], state, enabled, result['options_changed'])
    if not module.check_mode:
        for action in planned:
            job.apply(action)
    result['active'], result['enabled'] = predict(status, planned)
    result['actions'] = actions + planned
    result['changed'] = bool(result['actions']) or result['options_changed']
    return result


def service_state(module, name='agent', macos_scope='user', uid=None):
    """``{name, active, enabled, daemon_opts}`` of the launchd job of service ``name``; Nones when it is absent."""
    if macos_scope == 'system':
        label, plist = LAUNCHD_SYSTEM_DAEMONS[name]
        domain = 'system'
    else:
        label, plist, dummy = LAUNCHD_PACKAGE_AGENTS[name]
        domain = 'gui/%d' % (uid if uid is not None else os.getuid())
    job = LaunchdService(module, label, plist, domain)
    state = {'name': label, 'active': None, 'enabled': None, 'daemon_opts': None}
    if job.exists():
        state.update(job.status())
    return state
