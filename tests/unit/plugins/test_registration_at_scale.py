# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""1000 native registrations against a console that fails 20 % of requests and rate-limits.

Driver: the code of the ``agent_registration`` module (``agent_registration.run``, the
same function ``main()`` calls after argument parsing) runs once per host in a pool of
threads, like Ansible forks, each host with its own data folder. Ansible's own per-host
cost (about 0.15-0.2 s per host and task on a 2-core machine, see test-infra §6) would be
10x the registration work here, so the module code is driven directly.

The console answers 20 % of requests with 503 and admits at most ``RATE`` requests per
second (a token bucket; the rest get 429 + ``Retry-After``). Every host must end
registered and the console's ledger must hold exactly one registration per host. The
total time against the floor the rate limit imposes (``HOSTS / RATE`` s; target at most
1.5x) is printed as a figure (``pytest -s``), not asserted: a timed assertion would fail on
a loaded machine without anything being wrong.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils import urls

from ansible_collections.duplicati.fleet.plugins.module_utils import agent_settings
from ansible_collections.duplicati.fleet.plugins.module_utils import data_folder as df
from ansible_collections.duplicati.fleet.plugins.modules import agent_registration
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import running_console
from ansible_collections.duplicati.fleet.tests.emulator.httpbase import Faults

HOSTS = 1000
RATE = 25.0          # requests/s the console admits; floor = HOSTS / RATE = 40 s
ERROR_RATE = 0.2     # share of admitted requests answered 503
FORKS = 100          # hosts registering at the same time
TOKEN = 'scale-token-0123456789abcdef'


class ModuleStandIn(object):
    """What ``agent_registration.run`` reads from its ``AnsibleModule``: params and check mode."""

    check_mode = False

    def __init__(self, params):
        self.params = params


def shared_ssl_context():
    """``urls.make_context`` built once per set of arguments.

    ``open_url`` builds a TLS context (loading the system CA store, ~40 ms of CPU) for every
    request, even a plain http one. On a fleet each host pays that on its own CPU; here the
    1000 hosts share the test machine's cores and the GIL, so it would measure the test
    machine rather than the console's rate limit.
    """
    made = {}
    original = urls.make_context
    lock = threading.Lock()

    def make_context(*args, **kwargs):
        key = repr((args, sorted(kwargs.items())))
        with lock:
            if key not in made:
                made[key] = original(*args, **kwargs)
            return made[key]
    return make_context


def module_params(folder, url):
    """The parameters ``main()`` hands to ``run`` (argument spec defaults filled in)."""
    return dict(registration_url=url, state='present', settings_file=os.path.join(folder, 'agent.json'),
                settings_passphrase=None, data_folder=folder, force=False, method='native', agent_path=os.path.join(folder, 'none'),
                url_handover='preload', owner=None, group=None, timeout=120, retries=8, validate_certs=True, ca_path=None)


def test_thousand_registrations_under_503_and_rate_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(urls, 'make_context', shared_ssl_context())
    faults = Faults(error_rate=ERROR_RATE, rate_limit=RATE, seed=20261122)
    with running_console(faults=faults) as (app, base):
        app.tokens.add('fleet', TOKEN)
        url = base + 'remotecontrol/register?token=' + TOKEN
        folders = [str(tmp_path / ('h%04d' % i)) for i in range(HOSTS)]
        results = {}
        errors = {}
        lock = threading.Lock()

        def register(folder):
            try:
                result = agent_registration.run(ModuleStandIn(module_params(folder, url)))
            except Exception as exc:  # pylint: disable=broad-except
                with lock:
                    errors[folder] = '%s: %s' % (type(exc).__name__, exc)
                return
            with lock:
                results[folder] = result

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=FORKS) as pool:
            list(pool.map(register, folders))
        elapsed = time.monotonic() - start

        floor = HOSTS / RATE
        statuses = collections.Counter(entry[3] for entry in list(app.log) if entry[2] == '/remotecontrol/register')
        attempts = sum(r.get('attempts', 0) for r in results.values())
        print('\nregistration at scale: %d hosts, %d forks, console %.0f req/s with %d%% 503' % (
            HOSTS, FORKS, RATE, ERROR_RATE * 100))
        print('  total %.1f s, floor %.1f s, ratio %.2f (target <= 1.50)' % (elapsed, floor, elapsed / floor))
        print('  requests %d: %s; module attempts %d' % (sum(statuses.values()), dict(sorted(statuses.items())), attempts))

        assert not errors, 'hosts failed to register: %r' % dict(list(errors.items())[:5])
        assert len(results) == HOSTS
        assert all(r['changed'] and r['registered'] for r in results.values())

        ledger = app.ledger.summary()
        assert ledger['count'] == HOSTS
        assert ledger['machines'] == HOSTS
        assert ledger['duplicates'] == {}
        by_registration = dict((entry['registrationId'], entry) for entry in ledger['registrations'])
        assert len(by_registration) == HOSTS

        # every host's agent.json holds a token the console issued for exactly that machine
        seen = set()
        for folder in folders:
            settings = agent_settings.load_agent_settings(os.path.join(folder, 'agent.json'))
            assert agent_settings.is_registered(settings)
            claims = app.issuer.verify(settings['jwt'])
            machine_id = df.read_machine_id(folder)
            assert claims['mid'] == machine_id == results[folder]['machine_id']
            assert by_registration[claims['rid']]['machineId'] == machine_id
            seen.add(claims['rid'])
        assert seen == set(by_registration)

        # the faults really happened: 503s and 429s were answered and retried through
        assert statuses[503] >= HOSTS * ERROR_RATE * 0.5
        assert statuses[429] > 0
        assert statuses[200] == HOSTS
