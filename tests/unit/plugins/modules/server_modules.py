# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the modules in-process (every module's tests use ``run_module``), and the emulated
Duplicati server for the server modules.

``run_module(monkeypatch, module, args, check_mode=False)`` calls ``module.main()`` with
``args`` and returns the ``exit_json``/``fail_json`` payload (``failed`` tells which) with
the warnings and every ``no_log`` value replaced, as ``AnsibleModule`` does before anything
leaves the module; with ``invocation=True`` also the ``invocation`` Ansible adds. ``server(*argv)`` is the emulated server with the test password;
``state(harness)`` is the emulator's own view (``/_emulator/state``), independent of the
modules, to check what really changed.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.warnings import get_warning_messages
from ansible.module_utils.testing import patch_module_args

from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import PASSWORD, calls, server  # noqa: F401 pylint: disable=unused-import


class Exit(Exception):
    pass


def run_module(monkeypatch, module, args, check_mode=False, diff=True, invocation=False):
    """The result of one module run: a dict with ``failed``, ``changed``, ``msg``, ``warnings``, ..."""
    def result(module_self, kwargs, failed):
        if invocation:
            kwargs.setdefault('invocation', {'module_args': module_self.params})
        return Exit(basic.remove_values(dict(kwargs, failed=failed, warnings=list(get_warning_messages())),
                                        module_self.no_log_values))

    def exit_json(self, **kwargs):
        raise result(self, kwargs, False)

    def fail_json(self, **kwargs):
        raise result(self, kwargs, True)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)):
        with pytest.raises(Exit) as caught:
            module.main()
    return caught.value.args[0]


def connection(harness, **extra):
    """The connection options for the emulated server, with the test password unless overridden."""
    args = dict(host_url=harness.url, password=PASSWORD)
    args.update(extra)
    return dict((k, v) for k, v in args.items() if v is not None)


def state(harness):
    """The emulator's own view of its state (backups, runs, pause, queue, token families)."""
    reply = harness.request('GET', '/_emulator/state')
    assert reply.status == 200
    return reply.json()


def plan_result(harness, backup_id, result):
    reply = harness.request('POST', '/_emulator/backup/%s/next-result' % backup_id, json_body={'result': result})
    assert reply.status == 200
