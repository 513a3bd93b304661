# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Duplicati Agent and Server services: what to do with them, whatever runs them.

The work is split by job:

* ``daemon_options.py``: the ``DAEMON_OPTS`` line of the Linux options files (quoting, parsing);
* ``systemd.py``: the Linux units, where their options file is, and their convergence;
* ``launchd.py``: the macOS LaunchAgents and LaunchDaemons, the console user, and their convergence;
* this file: the decision both share. ``plan_actions`` is the one place that decides what to
  do: start, stop, enable, disable, and restart only when asked or when the options of a
  running service changed; ``predict`` says what the service is after those actions.
"""

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError

SERVICE_NAMES = ('agent', 'server')


def read_bytes(path):
    """The content of ``path``, or None when it cannot be read."""
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


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


def predict(status, actions):
    """``(active, enabled)`` of a service in ``status`` after ``actions``; a masked unit counts as not enabled."""
    active, enabled = status['active'], status['enabled']
    for action in actions:
        if action in ('start', 'restart'):
            active = True
        elif action == 'stop':
            active = False
        elif action == 'enable':
            enabled = True
        elif action in ('disable', 'mask'):
            enabled = False
    return active, enabled
