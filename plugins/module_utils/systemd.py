# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Linux services under systemd: their units, options files and convergence.

The packages start ``duplicati-agent.service`` as ``/usr/bin/duplicati-agent run $DAEMON_OPTS``
and ``duplicati.service`` as ``/usr/bin/duplicati-server $DAEMON_OPTS``, with
``EnvironmentFile=-/etc/default/<name>`` (deb) or ``-/etc/sysconfig/<name>`` (rpm); the
``DAEMON_OPTS`` line is written and read by ``daemon_options.py``.
"""

import os

from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.module_utils import secrets
from ansible_collections.duplicati.fleet.plugins.module_utils.atomic_file import write_atomic
from ansible_collections.duplicati.fleet.plugins.module_utils.daemon_options import (
    masked_options_text,
    parse_daemon_opts,
    parse_environment_file,
    render_options_file,
)
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.service_manager import SERVICE_NAMES, plan_actions, predict, read_bytes

SYSTEMD_UNITS = {'agent': 'duplicati-agent.service', 'server': 'duplicati.service'}
OPTIONS_BASENAMES = {'agent': 'duplicati-agent', 'server': 'duplicati'}
OPTIONS_DIRS = {'deb': '/etc/default', 'rpm': '/etc/sysconfig'}
# The agent service of the deb/rpm packages: root, started in /.
SERVICE_HOME = '/root'


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

    def is_active(self):
        return self.properties().get('ActiveState', '') in self.ACTIVE_STATES

    def is_enabled(self):
        return self.properties().get('UnitFileState', '') in self.ENABLED_STATES

    def is_masked(self):
        """Whether the unit is masked (linked to /dev/null): systemd neither starts nor enables it."""
        return self.properties().get('LoadState') == 'masked'

    def status(self):
        return {'active': self.is_active(), 'enabled': self.is_enabled()}

    def apply(self, action):
        self._properties = None
        rc, out, err = self._run(action, self.unit)
        if rc != 0:
            raise DuplicatiError('systemctl %s %s failed (exit %d): %s' % (action, self.unit, rc, (err or out).strip()))


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


def _read_options(path, wanted):
    """``(bytes, text, DAEMON_OPTS)`` of the options file at ``path`` (Nones when absent).

    A file that is not UTF-8 is refused; one whose ``DAEMON_OPTS`` cannot be parsed is an
    error only when no new options replace it."""
    old_bytes = read_bytes(path)
    try:
        old_text = old_bytes.decode('utf-8') if old_bytes is not None else None
    except UnicodeDecodeError as err:
        raise DuplicatiError('Cannot read the options of %s: it is not UTF-8 text (byte %d)' % (path, err.start),
                             hint='Fix or remove the file; the module does not rewrite a file it cannot read.')
    try:
        current = parse_daemon_opts(old_text) if old_text is not None else None
    except DuplicatiError as err:
        if wanted is None:
            raise DuplicatiError('Cannot read the options of %s: %s' % (path, err))
        current = None
    return old_bytes, old_text, current


def _write_options(path, text, existing, secret):
    """Write the options file; it keeps its mode, or gets 0644 (0600 and never more than 0700 with a secret)."""
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise DuplicatiError('Cannot write %s: the folder %s does not exist' % (path, folder))
    mode = os.stat(path).st_mode & 0o7777 if existing else (0o600 if secret else 0o644)
    if secret:
        mode &= 0o700
    write_atomic(path, text, mode=mode)


def _mask_plan(unit, masked, state, enabled):
    """``(masked after the call, [] or ['mask'] or ['unmask'])`` for ``masked`` (None: leave it as it is).

    systemd starts and enables no masked unit ("Unit ... is masked."), so a request to run or enable a unit that
    is (or is to be) masked is refused here, before anything changes."""
    was_masked = unit.is_masked()
    after = was_masked if masked is None else masked
    if after and (state in ('started', 'restarted') or enabled):
        raise DuplicatiError('%s is %smasked, and systemd neither starts nor enables a masked unit'
                             % (unit.unit, '' if was_masked else 'to be '),
                             hint='Set masked=false to unmask it first, or ask for state=stopped and enabled=false.')
    return after, ([] if after == was_masked else ['mask' if after else 'unmask'])


def converge(module, name, state=None, enabled=None, daemon_opts=None, options_file=None, masked=None):
    """Bring service ``name`` (agent, server) to ``state``/``enabled``/``masked`` with ``daemon_opts``; the module's result.

    ``masked=false`` unmasks the unit before the other actions; ``masked=true`` stops it and masks it last.
    In check mode nothing is written or run; the result is the same."""
    unit = SystemdService(module, SYSTEMD_UNITS[name])
    installed = unit.exists()
    if not installed and (state is not None or enabled is not None):
        raise DuplicatiError('The %s service is not installed on this host' % unit.unit,
                             hint='Install the Duplicati package first.')
    masked_after, mask = _mask_plan(unit, masked, state, enabled)
    path = options_file or unit.options_file(name)
    result = {'options_file': path, 'service': unit.unit, 'options_changed': False, 'masked': masked_after}
    old_bytes, old_text, current = _read_options(path, daemon_opts)
    if daemon_opts is not None:
        new_text = render_options_file(old_text, daemon_opts)
        secret = secrets.secret_argument_names(daemon_opts)
        if secret:
            module.warn('daemon_opts hold %s: every local user can read them on the process list. '
                        'Put secrets into preload.json (duplicati.fleet.preload) instead.' % ', '.join(secret))
        if new_text != old_text:
            result['diff'] = {'before': masked_options_text(old_text), 'after': masked_options_text(new_text),
                              'before_header': path, 'after_header': path}
            if not module.check_mode:
                _write_options(path, new_text, old_bytes is not None, bool(secret))
            result['options_changed'] = True
        options_changed = (current or []) != daemon_opts
        current = daemon_opts
    else:
        options_changed = False
    result['daemon_opts'] = secrets.mask_arguments(current) if current is not None else None
    if mask:
        result.setdefault('diff', {})['prepared'] = '%s: %s\n' % (unit.unit, 'unmasked -> masked' if masked else 'masked -> unmasked')
    actions = []
    if installed:
        status = unit.status()
        actions = plan_actions(status['active'], status['enabled'], 'stopped' if masked else state, enabled, options_changed)
    # unmask before anything else, mask after the stop
    actions = actions + mask if masked else mask + actions
    if not module.check_mode:
        for action in actions:
            unit.apply(action)
    if installed:
        result['active'], result['enabled'] = predict(status, actions)
    result['actions'] = actions
    result['changed'] = bool(actions) or result['options_changed']
    return result


def service_state(module, name='agent'):
    """``{name, active, enabled, daemon_opts}`` of service ``name``; Nones when it is not installed.

    An installed unit also gives ``options_text``, the text of its options file (None when unreadable), for a
    comparison with desired options (``daemon_options.options_file_holds``); it is never to be returned, as the
    values of secret options in it are not masked."""
    state = {'name': SYSTEMD_UNITS[name], 'active': None, 'enabled': None, 'daemon_opts': None}
    try:
        unit = SystemdService(module, SYSTEMD_UNITS[name])
    except DuplicatiError:
        return state
    if unit.exists():
        state.update(unit.status())
        state['options_text'] = unit.options_text(name)
        try:
            opts = parse_daemon_opts(state['options_text'])
        except DuplicatiError:
            opts = None
        state['daemon_opts'] = secrets.mask_arguments(opts) if opts is not None else None
    return state
