# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python -m ansible_collections.duplicati.fleet.tests.emulator.systemd VERB [UNIT] [--no-pager] [-p PROPS]``.

``mask`` links ``etc/systemd/system/UNIT`` to ``/dev/null`` (also for a unit that is not installed yet; a real file
there is refused) and ``unmask`` removes that link, as systemctl does (systemd's ``unit_file_mask`` and
``unit_file_unmask``, src/shared/install.c). Neither starts nor stops the unit, and the enablement is kept behind
the mask, so an unmasked unit is as enabled as before. A masked unit reports ``LoadState=masked`` and
``UnitFileState=masked`` (``is-enabled`` prints ``masked``, exit 1); ``enable`` refuses it ("Unit file ... is
masked.") and so does every job but ``stop`` (systemd's ``bus_unit_validate_load_state``: "Unit ... is masked.").
"""

import os
import sys

ROOT_ENV = 'DUPLICATI_EMULATOR_SYSTEMD_ROOT'
UNIT_DIRS = ('etc/systemd/system', 'lib/systemd/system')
ACTIONS = ('start', 'stop', 'restart', 'try-restart', 'reload-or-restart', 'enable', 'disable')
MASK_TARGET = '/dev/null'
# verbs that run a job and, like systemctl, say "Failed to <verb> UNIT" for an unknown unit
JOB_VERBS = {'start': 'start', 'stop': 'stop', 'restart': 'restart', 'try-restart': 'try-restart',
             'reload-or-restart': 'reload-or-restart'}


class Host(object):
    def __init__(self, root):
        self.root = root

    def mask_path(self, unit):
        return os.path.join(self.root, UNIT_DIRS[0], unit)

    def masked(self, unit):
        path = self.mask_path(unit)
        return os.path.islink(path) and os.readlink(path) == MASK_TARGET

    def unit_file(self, unit):
        if self.masked(unit):
            return self.mask_path(unit)
        for folder in UNIT_DIRS:
            path = os.path.join(self.root, folder, unit)
            if os.path.isfile(path):
                return path
        return None

    def _state_path(self, unit):
        return os.path.join(self.root, 'state', unit)

    def state(self, unit):
        """``{'active': bool, 'enabled': bool}`` from ``<root>/state/<unit>`` (``ActiveState=``/``UnitFileState=`` lines)."""
        values = {}
        try:
            with open(self._state_path(unit)) as handle:
                for line in handle:
                    key, sep, value = line.strip().partition('=')
                    values[key] = value
        except (IOError, OSError):
            pass
        return {'active': values.get('ActiveState') == 'active', 'enabled': values.get('UnitFileState') == 'enabled'}

    def save(self, unit, state):
        folder = os.path.dirname(self._state_path(unit))
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, '.%s.%d.tmp' % (unit, os.getpid()))
        active = 'active' if state['active'] else 'inactive'
        enabled = 'enabled' if state['enabled'] else 'disabled'
        with open(tmp, 'w') as handle:
            handle.write('ActiveState=%s\nUnitFileState=%s\n' % (active, enabled))
        os.replace(tmp, self._state_path(unit))

    def directives(self, unit):
        """(key, value) of the [Service] section of the unit file, in order (none for a masked unit)."""
        path = self.unit_file(unit)
        result, section = [], None
        if self.masked(unit):
            return result
        with open(path) as handle:
            for line in handle:
                line = line.strip()
                if not line or line[0] in '#;':
                    continue
                if line.startswith('[') and line.endswith(']'):
                    section = line[1:-1]
                elif '=' in line and section == 'Service':
                    key, value = line.split('=', 1)
                    result.append((key.strip(), value.strip()))
        return result

    def properties(self, unit):
        if not self.unit_file(unit):
            return {'Id': unit, 'LoadState': 'not-found', 'ActiveState': 'inactive', 'SubState': 'dead',
                    'UnitFileState': '', 'EnvironmentFiles': '', 'ExecStart': ''}
        state = self.state(unit)
        env_files = []
        exec_start = ''
        for key, value in self.directives(unit):
            if key == 'EnvironmentFile':
                ignore = value.startswith('-')
                env_files.append('%s (ignore_errors=%s)' % (value.lstrip('-'), 'yes' if ignore else 'no'))
            elif key == 'ExecStart':
                exec_start = '{ path=%s ; argv[]=%s ; ignore_errors=no }' % (value.split()[0] if value else '', value)
        masked = self.masked(unit)
        return {'Id': unit, 'LoadState': 'masked' if masked else 'loaded', 'ActiveState': 'active' if state['active'] else 'inactive',
                'SubState': 'running' if state['active'] else 'dead',
                'UnitFileState': 'masked' if masked else 'enabled' if state['enabled'] else 'disabled',
                # systemd prints one EnvironmentFiles= line per file
                'EnvironmentFiles': env_files, 'ExecStart': exec_start}


def _parse(argv):
    verb, units, props = None, [], []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ('--no-pager', '--quiet', '-q', '--no-block', '--system'):
            continue
        if arg in ('-p', '--property'):
            props.extend(p for p in (args.pop(0) if args else '').split(',') if p)
        elif arg.startswith('--property='):
            props.extend(p for p in arg.split('=', 1)[1].split(',') if p)
        elif arg.startswith('-'):
            raise SystemExit('systemctl: unrecognized option \'%s\'' % arg)
        elif verb is None:
            verb = arg
        else:
            units.append(arg if '.' in arg else arg + '.service')
    return verb, units, props


def main(argv=None, out=sys.stdout, err=sys.stderr):
    root = os.environ.get(ROOT_ENV)
    if not root:
        err.write('%s is not set: the systemctl stand-in needs the root folder of its emulated host\n' % ROOT_ENV)
        return 1
    host = Host(root)
    try:
        verb, units, props = _parse(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        err.write('%s\n' % exc)
        return 1
    if verb == 'daemon-reload':
        return 0
    if verb is None or not units:
        err.write('Too few arguments.\n')
        return 1
    rc = 0
    for unit in units:
        if verb == 'show':
            values = host.properties(unit)
            for name in props or sorted(values):
                value = values.get(name, '')
                for one in (value if isinstance(value, list) else [value]):
                    out.write('%s=%s\n' % (name, one))
                if isinstance(value, list) and not value:
                    out.write('%s=\n' % name)
        elif verb == 'is-active':
            active = host.unit_file(unit) and host.state(unit)['active']
            out.write('active\n' if active else 'inactive\n')
            rc = rc or (0 if active else 3)
        elif verb == 'mask':
            path = host.mask_path(unit)
            if not host.masked(unit):
                if os.path.lexists(path):
                    err.write('Failed to mask unit: File %s already exists.\n' % path)
                    return 1
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.symlink(MASK_TARGET, path)
                err.write('Created symlink %s \u2192 %s.\n' % (path, MASK_TARGET))
        elif verb == 'unmask':
            if host.masked(unit):
                os.unlink(host.mask_path(unit))
                err.write('Removed "%s".\n' % host.mask_path(unit))
        elif verb == 'is-enabled':
            if host.masked(unit):
                out.write('masked\n')
                rc = rc or 1
                continue
            if not host.unit_file(unit):
                err.write('Failed to get unit file state for %s: No such file or directory\n' % unit)
                rc = 1
                continue
            enabled = host.state(unit)['enabled']
            out.write('enabled\n' if enabled else 'disabled\n')
            rc = rc or (0 if enabled else 1)
        elif verb in ACTIONS:
            if not host.unit_file(unit):
                if verb in JOB_VERBS:
                    err.write('Failed to %s %s: Unit %s not found.\n' % (JOB_VERBS[verb], unit, unit))
                    return 5
                err.write('Failed to %s unit: Unit file %s does not exist.\n' % (verb, unit))
                return 1
            state = host.state(unit)
            if host.masked(unit) and verb != 'stop' and (verb in JOB_VERBS or verb == 'enable'):
                if verb == 'enable':
                    err.write('Failed to enable unit: Unit file %s is masked.\n' % host.mask_path(unit))
                else:
                    err.write('Failed to %s %s: Unit %s is masked.\n' % (JOB_VERBS[verb], unit, unit))
                return 1
            if verb == 'enable':
                if not state['enabled']:
                    err.write('Created symlink %s/etc/systemd/system/multi-user.target.wants/%s \u2192 %s.\n'
                              % (root, unit, host.unit_file(unit)))
                state['enabled'] = True
            elif verb == 'disable':
                if state['enabled']:
                    err.write('Removed "%s/etc/systemd/system/multi-user.target.wants/%s".\n' % (root, unit))
                state['enabled'] = False
            elif verb == 'stop':
                state['active'] = False
            elif verb == 'try-restart':
                pass
            else:
                state['active'] = True
            host.save(unit, state)
        else:
            err.write('Unknown command verb \'%s\'.\n' % verb)
            return 1
    return rc


if __name__ == '__main__':
    sys.exit(main())
