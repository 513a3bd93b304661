# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared test support for the REST client tests: the emulated server and clients for it.

``server(*argv)`` runs the emulated Duplicati server in a thread with real server options;
``client(harness, **params)`` connects to it with the shared connection options and an
injected sleep (retries never really wait unless asked); ``calls(harness, method, path)``
counts the requests the server saw.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import time

from ansible_collections.duplicati.fleet.plugins.module_utils.client import connect
from ansible_collections.duplicati.fleet.tests.emulator.server.testing import running_server

PASSWORD = 'correct horse battery'


class Sleeps(object):
    """Records the waits a client asks for; ``real=True`` also waits."""

    def __init__(self, real=False):
        self.calls = []
        self.real = real

    def __call__(self, seconds):
        self.calls.append(seconds)
        if self.real:
            time.sleep(seconds)


@contextlib.contextmanager
def server(*argv, **kwargs):
    """The emulated server with the test password (unless ``--webservice-password`` is given)."""
    argv = list(argv)
    if not any(a.startswith('--webservice-password') for a in argv):
        argv += ['--webservice-password', PASSWORD]
    with running_server(*argv, **kwargs) as harness:
        yield harness


def client(harness, persist=False, clock=None, sleep=None, **params):
    params.setdefault('host_url', harness.url)
    return connect(params, persist=persist, clock=clock, probe_data_folder=False,
                   sleep=sleep or Sleeps(), jitter=lambda: 0.5)


def calls(harness, method, path, status=None):
    """How many ``method path`` requests the server saw (with ``status``, if given)."""
    return len([entry for entry in list(harness.app.log)
                if entry[1] == method and entry[2] == path and (status is None or entry[3] == status)])


def log_since(harness, mark):
    """``(method, path, status)`` of the requests after ``mark = len(harness.app.log)``."""
    return [(entry[1], entry[2], entry[3]) for entry in list(harness.app.log)[mark:]]
