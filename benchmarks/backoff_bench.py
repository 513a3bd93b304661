# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tail of the registration's exponential backoff under random 503s, at 100 and 1000 hosts.

    python benchmarks/backoff_bench.py [--hosts 100,1000] [--error-rates 0.2,0.5] [--forks 100]
                                       [--rate-limit 0] [--retries 8] [--timeout 120] [--seed 20261201]

The driver of tests/unit/plugins/test_registration_at_scale.py: the code of the agent_registration
module (``agent_registration.run``, what ``main()`` calls after argument parsing) runs once per host,
``--forks`` hosts at a time in threads, each host with its own data folder, against the emulated
console in this process. The console answers a share of requests (``--error-rates``) with 503 before
any handler runs; with ``--rate-limit`` it also admits only that many requests per second (429 with
Retry-After). The client waits ``backoff * 2**n`` seconds (1 s doubling, at most 30 s), half of it fixed
and half jitter, after the n-th failure, for at most ``--retries`` retries and ``--timeout`` seconds.

For each fleet size and error rate it prints the percentiles of each host's own registration time
(from its first request to its saved agent.json), of the requests it needed, and of its completion time
since the start of the run; the hosts lost (registration failed), and the registrations the console's
ledger holds twice. Real time: the waits are slept, not simulated.
"""

from __future__ import absolute_import, division, print_function

import argparse
import collections
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils import urls

from ansible_collections.duplicati.fleet.plugins.modules import agent_registration
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import running_console
from ansible_collections.duplicati.fleet.tests.emulator.httpbase import Faults
from ansible_collections.duplicati.fleet.tests.unit.plugins.test_registration_at_scale import (
    ModuleStandIn, module_params, shared_ssl_context)

TOKEN = 'backoff-token-0123456789abcdef'
PERCENTILES = (50, 90, 99, 100)


def percentile(values, pct):
    """The nearest-rank percentile of ``values`` (pct 100 is the maximum)."""
    ordered = sorted(values)
    if not ordered:
        return float('nan')
    rank = max(1, int(-(-pct * len(ordered) // 100)))
    return ordered[rank - 1]


def run_fleet(hosts, error_rate, args, work):
    """One fleet registering at once; returns a dict of figures."""
    faults = Faults(error_rate=error_rate, rate_limit=args.rate_limit, seed=args.seed)
    with running_console(faults=faults) as (app, base):
        app.tokens.add('fleet', TOKEN)
        url = base + 'remotecontrol/register?token=' + TOKEN
        folders = [os.path.join(work, 'n%d-e%d-h%04d' % (hosts, error_rate * 100, i)) for i in range(hosts)]
        own, done_at, attempts, lost = [], [], [], []
        lock = threading.Lock()
        start = time.monotonic()

        def register(folder):
            params = module_params(folder, url)
            params.update(retries=args.retries, timeout=args.timeout)
            began = time.monotonic()
            try:
                result = agent_registration.run(ModuleStandIn(params))
            except Exception as exc:  # pylint: disable=broad-except
                with lock:
                    lost.append('%s: %s' % (type(exc).__name__, exc))
                return
            ended = time.monotonic()
            with lock:
                own.append(ended - began)
                done_at.append(ended - start)
                attempts.append(result.get('attempts', 0))

        with ThreadPoolExecutor(max_workers=args.forks) as pool:
            list(pool.map(register, folders))
        total = time.monotonic() - start
        statuses = collections.Counter(entry[3] for entry in list(app.log) if entry[2] == '/remotecontrol/register')
        ledger = app.ledger.summary()
    return dict(hosts=hosts, error_rate=error_rate, total=total, own=own, done_at=done_at, attempts=attempts,
                lost=lost, statuses=statuses, registered=ledger['count'], duplicates=len(ledger['duplicates']))


def cells(values, fmt):
    return ' '.join(fmt % percentile(values, p) for p in PERCENTILES)


def report(figures):
    print('%-5s %5s %8s | %-27s | %-19s | %-27s | %4s %4s %s' % (
        'hosts', '503', 'total s', 'own time s p50 p90 p99 max', 'requests p50 p90 p99 max', 'done at s p50 p90 p99 max',
        'lost', 'dup', 'console answers'))
    for f in figures:
        print('%-5d %4d%% %8.1f | %-27s | %-19s | %-27s | %4d %4d %s' % (
            f['hosts'], f['error_rate'] * 100, f['total'], cells(f['own'], '%6.1f'), cells(f['attempts'], '%3d'),
            cells(f['done_at'], '%6.1f'), len(f['lost']), f['duplicates'], dict(sorted(f['statuses'].items()))))
    for f in figures:
        for message in sorted(set(f['lost']))[:3]:
            print('  lost at %d hosts, %d%% 503: %s' % (f['hosts'], f['error_rate'] * 100, message))


def _numbers(kind):
    def parse(text):
        try:
            values = [kind(v) for v in text.split(',') if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError('a list of numbers separated by commas')
        if not values:
            raise argparse.ArgumentTypeError('at least one number')
        return values
    return parse


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--hosts', type=_numbers(int), default=[100, 1000], help='fleet sizes (default 100,1000)')
    parser.add_argument('--error-rates', type=_numbers(float), default=[0.2, 0.5], help='shares of 503 answers (default 0.2,0.5)')
    parser.add_argument('--forks', type=int, default=100, help='hosts registering at the same time (default 100)')
    parser.add_argument('--rate-limit', type=float, default=0.0, help='requests/s the console admits, 0 for no limit')
    parser.add_argument('--retries', type=int, default=8, help='the module option retries (default 8)')
    parser.add_argument('--timeout', type=int, default=120, help='the module option timeout (default 120)')
    parser.add_argument('--seed', type=int, default=20261201, help='seed of the console\'s random 503s')
    args = parser.parse_args()
    if args.forks < 1 or min(args.hosts) < 1 or not all(0 <= e < 1 for e in args.error_rates):
        parser.error('--forks and --hosts must be at least 1, --error-rates between 0 and 1 (not 1)')
    urls.make_context = shared_ssl_context()  # one TLS context per process, as each real host has its own CPU
    print('backoff benchmark: %s, %d cores, Python %s; %d forks, retries %d, timeout %d s, rate limit %s'
          % (platform.platform(), os.cpu_count(), platform.python_version(), args.forks, args.retries, args.timeout,
             '%.0f req/s' % args.rate_limit if args.rate_limit else 'none'), flush=True)
    print('own time: one host from its first request to its saved registration; done at: since the start of the run')
    work = tempfile.mkdtemp(prefix='backoff-bench-')
    try:
        figures = []
        for hosts in args.hosts:
            for error_rate in args.error_rates:
                figures.append(run_fleet(hosts, error_rate, args, work))
                print('  %d hosts, %d%% 503: %.1f s' % (hosts, error_rate * 100, figures[-1]['total']), flush=True)
        print('')
        report(figures)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
