# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark of the duplicati_agent role and the server modules, against the emulator.

    python benchmarks/fleet_bench.py [--sizes 10,30] [--forks 10] [--repeat 3] [--rows ping,first,rerun,backup_info,uri,sliced]
                                     [--slices 3] [--pipelining] [--profile] [--work-dir DIR] [--keep]

A simulated fleet of N inventory hosts on this machine (connection local, the venv's Python), each
with its own data folder and preload.json, the agent stand-in of tests/emulator/agent as the
installed agent binary, the package step skipped (``duplicati_agent_package_source: none``, as on
a pre-staged image) and the agent's systemd unit pre-staged under the host's own root for the
``systemctl`` stand-in of tests/emulator/systemd (there is no systemd here; the stand-in records
unit state and runs no service process). Registration is ``method: native`` against the emulated
console; the server modules talk to the emulated server. The rows, each an ansible-playbook run over
the whole fleet:

* ping        - one ``ansible.builtin.ping`` task: the floor of what Ansible costs per host
* first       - first rollout of the role on fresh hosts (preload -> registration -> service -> verify)
* rerun       - the same role again: nothing changes
* backup_info - one ``duplicati.fleet.backup_info`` task per host (password login + list backups)
* uri         - the same with ``ansible.builtin.uri``: POST api/v1/auth/login, GET api/v1/backups
* sliced      - playbooks/rollout.yml on fresh hosts as K concurrent ansible-playbook processes over K slices
                of the inventory (``--slices``, default 3), as an AWX job with ``job_slice_count`` K runs
                it: slice i (1-based) holds the hosts sorted by name ``[i-1::K]``. Each process keeps the
                rollout's serial batches and max_fail_percentage within its slice.

Every row runs with the same inventory, the same forks and the same settings; the rows alternate
within each repeat; CPU and wall time are the median of the repeats, and a ratio is taken between two
rows of the same repeat, the median of those ratios reported. The primary figure is controller CPU:
user + sys of ansible-playbook and every process below it (``RUSAGE_CHILDREN``), which on a local
fleet includes the module processes. Wall time is secondary. Each run is checked: its exit code,
its play recap (no failure, the first rollout changes every host, the re-run none) and, after each
first rollout, the console's ledger (one new registration per host, none twice) and every host's
service (options file written, unit enabled and active). The sliced row is checked the same way over
all its slices, and each slice must have run the rollout's batches, its first batch (the canary) one host.

Targets (ratios of controller CPU at the same N): first <= 4 x ping, rerun (converged hosts) <= 1.5 x ping,
backup_info <= 1.2 x uri. Growth: per-host slope between sizes, which should stay flat.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROWS = ('ping', 'first', 'rerun', 'backup_info', 'uri', 'sliced')
TARGETS = {'first': ('ping', 4.0), 'rerun': ('ping', 1.5), 'backup_info': ('uri', 1.2), 'sliced': ('first', None)}
ROLLOUT_BATCHES = (1, '10%', '30%', '100%')  # the default serial of playbooks/rollout.yml
EMULATOR = 'ansible_collections.duplicati.fleet.tests.emulator'
AGENT_UNIT = 'duplicati-agent.service'
# The agent's unit as the package installs it (tests/emulator/packaging), its options file under the host's root.
AGENT_UNIT_TEXT = '''[Unit]
Description=Duplicati Agent
After=network.target

[Service]
EnvironmentFile=-%(root)s/etc/default/duplicati-agent
ExecStart=%(agent)s run $DAEMON_OPTS
Restart=always

[Install]
WantedBy=multi-user.target
'''
SEED_BACKUPS = 5
RECAP_RE = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)'
                      r'\s+rescued=(\d+)\s+ignored=(\d+)')

PLAYBOOKS = {
    'ping': '''---
- name: Baseline
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
''',
    'role': '''---
- name: Roll the agent out
  hosts: fleet
  gather_facts: false
  roles:
    - role: duplicati.fleet.duplicati_agent
''',
    'backup_info': '''---
- name: List the backups with the module
  hosts: fleet
  gather_facts: false
  tasks:
    - name: List the backups
      duplicati.fleet.backup_info:
        host_url: "{{ bench_server_url }}"
        password: "{{ bench_server_password }}"
      register: bench_backups
      failed_when: bench_backups.backups | length != %(seed)d
''' % {'seed': SEED_BACKUPS},
    'uri': '''---
- name: List the backups with ansible.builtin.uri
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Log in
      ansible.builtin.uri:
        url: "{{ bench_server_url }}api/v1/auth/login"
        method: POST
        body_format: json
        body:
          Password: "{{ bench_server_password }}"
          RememberMe: false
      register: bench_login
      no_log: true
    - name: List the backups
      ansible.builtin.uri:
        url: "{{ bench_server_url }}api/v1/backups"
        headers:
          Authorization: "Bearer {{ bench_login.json.AccessToken }}"
      register: bench_backups
      failed_when: bench_backups.json | length != %(seed)d
''' % {'seed': SEED_BACKUPS},
}


class BenchError(Exception):
    pass


def _write_private(path, text):
    """Write text to a new file readable by its owner only (temp file + fsync + rename)."""
    tmp = path + '.tmp'
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _collections_root(work):
    """The ansible_collections root: ANSIBLE_COLLECTIONS_PATH (scripts/bench.sh syncs the collection
    there) or, run by hand, a symlink tree to this checkout inside the work folder."""
    configured = os.environ.get('ANSIBLE_COLLECTIONS_PATH')
    if configured:
        for root in configured.split(os.pathsep):
            if os.path.isdir(os.path.join(root, 'ansible_collections', 'duplicati', 'fleet')):
                return root
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = os.path.join(work, 'collections')
    os.makedirs(os.path.join(root, 'ansible_collections', 'duplicati'))
    os.symlink(repo, os.path.join(root, 'ansible_collections', 'duplicati', 'fleet'))
    return root


class Fleet(object):
    """The emulators, the secrets, the agent stand-in and one inventory per fleet size."""

    def __init__(self, work, collections, forks, pipelining):
        self.work = work
        self.collections = collections
        self.env = dict(os.environ)
        self.env.update({
            'ANSIBLE_COLLECTIONS_PATH': collections,
            'PYTHONPATH': collections + (os.pathsep + os.environ['PYTHONPATH'] if os.environ.get('PYTHONPATH') else ''),
            'ANSIBLE_FORKS': str(forks),
            'ANSIBLE_PIPELINING': 'True' if pipelining else 'False',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
            'ANSIBLE_LOCAL_TEMP': os.path.join(work, 'ansible-local'),
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
            'ANSIBLE_DEPRECATION_WARNINGS': 'False',
        })
        # PYTHONDONTWRITEBYTECODE too: a controller's Python caches the bytecode of the collection's plugins (the
        # filters, and the module_utils they import) as it does by default, rather than compiling them in every worker.
        for name in ('ANSIBLE_CONFIG', 'ANSIBLE_CALLBACKS_ENABLED', 'ANSIBLE_CALLBACK_WHITELIST', 'PYTHONDONTWRITEBYTECODE'):
            self.env.pop(name, None)
        self.state = os.path.join(work, 'emulator')
        self.console_url = None
        self.server_url = None
        self.started = []

    # ---- set-up ---------------------------------------------------------------------------

    def _emulator(self, args, extra_env=None):
        env = dict(self.env)
        env.update(extra_env or {})
        out = subprocess.check_output([sys.executable, '-m', EMULATOR] + args, env=env, cwd=self.work)
        return json.loads(out.decode('utf-8').strip().splitlines()[-1])

    def start(self):
        os.makedirs(self.state)
        secrets_dir = os.path.join(self.work, 'secrets')
        os.mkdir(secrets_dir, 0o700)
        token = secrets.token_urlsafe(24)
        password = secrets.token_urlsafe(18)
        _write_private(os.path.join(secrets_dir, 'console_tokens.json'), json.dumps({'bench-fleet': token}))
        self.console_url = self._emulator(['start', 'console', '--state-dir', self.state, '--max-lifetime', '86400',
                                           '--token-file', os.path.join(secrets_dir, 'console_tokens.json'),
                                           '--ledger-file', os.path.join(self.work, 'ledger.json')])['url']
        self.started.append('console')
        # the server's password reaches the emulator in its environment, as DUPLICATI__WEBSERVICE_PASSWORD
        self.server_url = self._emulator(['start', 'server', '--state-dir', self.state, '--max-lifetime', '86400',
                                          '--server-datafolder', os.path.join(self.work, 'server-data'),
                                          '--seed-backups', str(SEED_BACKUPS)],
                                         {'DUPLICATI__WEBSERVICE_PASSWORD': password})['url']
        self.started.append('server')
        # secrets reach ansible-playbook as -e @file: a private file, never the command line
        self.secrets_file = os.path.join(secrets_dir, 'vars.json')
        _write_private(self.secrets_file, json.dumps({
            'duplicati_agent_registration_url': '%sremotecontrol/register?token=%s' % (self.console_url, token),
            'duplicati_agent_settings_passphrase': secrets.token_urlsafe(18),
            'bench_server_password': password,
        }))
        # the agent stand-in as the installed agent binary
        install = os.path.join(self.work, 'install')
        os.mkdir(install)
        self.agent_path = os.path.join(install, 'duplicati-agent')
        with open(self.agent_path, 'w') as handle:
            handle.write("#!/bin/sh\nPYTHONPATH='%s' exec '%s' -m %s.agent \"$@\"\n" % (self.env['PYTHONPATH'], sys.executable, EMULATOR))
        os.chmod(self.agent_path, 0o755)
        # the systemctl stand-in: a file of the stdlib only, so it starts as fast as Python can (-S)
        self.bin_dir = os.path.join(self.work, 'bin')
        os.mkdir(self.bin_dir)
        standin = os.path.join(self.collections, 'ansible_collections', 'duplicati', 'fleet', 'tests', 'emulator',
                               'systemd', '__main__.py')
        with open(os.path.join(self.bin_dir, 'systemctl'), 'w') as handle:
            handle.write("#!/bin/sh\nexec '%s' -S '%s' \"$@\"\n" % (sys.executable, standin))
        os.chmod(os.path.join(self.bin_dir, 'systemctl'), 0o755)
        for name, text in PLAYBOOKS.items():
            with open(os.path.join(self.work, name + '.yml'), 'w') as handle:
                handle.write(text)

    def stop(self):
        for component in reversed(self.started):
            subprocess.call([sys.executable, '-m', EMULATOR, 'stop', '--state-dir', self.state, component],
                            env=self.env, cwd=self.work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.started = []

    def inventory(self, size, hosts=None, name=None):
        """inventory-N.yml: N local hosts, each with its own folder under hosts-N/ (``hosts``: only these).

        Each host's values are written out literally, as a real inventory's are: a value like
        ``"{{ bench_host_dir }}/data"`` would be templated again in every task of every host, a cost of the
        harness and not of the role. Each host's interpreter is the wrapper that reset_hosts writes: it puts
        the systemctl stand-in first on PATH with the host's own root. Every row (ping too) runs through it,
        and no playbook sets ``environment``."""
        path = os.path.join(self.work, (name or 'inventory-%d' % size) + '.yml')
        if os.path.exists(path):
            return path
        hosts_dir = os.path.join(self.work, 'hosts-%d' % size)
        lines = [
            '---', 'all:', '  children:', '    fleet:', '      vars:',
            '        ansible_connection: local',
            '        bench_server_url: "%s"' % self.server_url,
            '        duplicati_agent_package_source: none',
            '        duplicati_agent_manage_service: true',
            '        duplicati_agent_registration_method: native',
            '        duplicati_agent_path: "%s"' % self.agent_path,
        ]
        lines.append('      hosts:')
        for host in (hosts or host_names(size)):
            host_dir = os.path.join(hosts_dir, host)
            lines.extend([
                '        %s:' % host,
                '          ansible_python_interpreter: "%s"' % os.path.join(host_dir, 'python'),
                '          duplicati_agent_data_folder: "%s"' % os.path.join(host_dir, 'data'),
                '          duplicati_agent_preload_path: "%s"' % os.path.join(host_dir, 'preload.json'),
            ])
        with open(path, 'w') as handle:
            handle.write('\n'.join(lines) + '\n')
        return path

    def slice_inventories(self, size, slices):
        """One inventory per slice, as an AWX job with job_slice_count=slices hands each slice its hosts:
        the hosts sorted by name, slice i (1-based) taking [i-1::slices]. playbooks/rollout.yml sets no
        ``environment``, so each host's interpreter is a wrapper that puts the systemctl stand-in first on
        PATH with the host's own root."""
        names = sorted(host_names(size))
        return [self.inventory(size, names[i::slices], 'inventory-%d-slice-%d-of-%d' % (size, i + 1, slices))
                for i in range(slices)]

    def reset_hosts(self, size):
        """Fresh hosts: no preload.json, no data folder, no registration; the agent's unit installed, stopped."""
        hosts_dir = os.path.join(self.work, 'hosts-%d' % size)
        if os.path.isdir(hosts_dir):
            shutil.rmtree(hosts_dir)
        os.mkdir(hosts_dir)
        for i in range(1, size + 1):
            root = os.path.join(hosts_dir, 'host-%04d' % i, 'systemd')
            os.makedirs(os.path.join(root, 'lib', 'systemd', 'system'))
            os.makedirs(os.path.join(root, 'etc', 'default'))
            with open(os.path.join(root, 'lib', 'systemd', 'system', AGENT_UNIT), 'w') as handle:
                handle.write(AGENT_UNIT_TEXT % {'root': root, 'agent': self.agent_path})
            python = os.path.join(hosts_dir, 'host-%04d' % i, 'python')
            with open(python, 'w') as handle:
                handle.write("#!/bin/sh\nPATH='%s':\"$PATH\" DUPLICATI_EMULATOR_SYSTEMD_ROOT='%s' exec '%s' \"$@\"\n"
                             % (self.bin_dir, root, sys.executable))
            os.chmod(python, 0o755)

    def check_services(self, size):
        """Every host's agent unit enabled and active, with the role's options file; else BenchError."""
        hosts_dir = os.path.join(self.work, 'hosts-%d' % size)
        bad = []
        for i in range(1, size + 1):
            root = os.path.join(hosts_dir, 'host-%04d' % i, 'systemd')
            try:
                with open(os.path.join(root, 'state', AGENT_UNIT)) as handle:
                    state = handle.read().split()
                with open(os.path.join(root, 'etc', 'default', 'duplicati-agent')) as handle:
                    options = handle.read()
            except (IOError, OSError):
                state, options = [], ''
            if not ('ActiveState=active' in state and 'UnitFileState=enabled' in state and 'DAEMON_OPTS=' in options):
                bad.append('host-%04d' % i)
        if bad:
            raise BenchError('%d hosts have no enabled, active agent service with its options: %s' % (len(bad), ', '.join(bad[:5])))

    def ledger(self):
        with urllib.request.urlopen(self.console_url + '_emulator/ledger', timeout=30) as answer:
            data = json.load(answer)
        return data['count'], data['machines'], len(data['duplicates'])

    # ---- one measured run -----------------------------------------------------------------

    def play(self, size, playbook, log, extra_env=None):
        """Run ansible-playbook over the fleet of ``size`` hosts; return (cpu s, wall s, recap)."""
        argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                '-i', self.inventory(size), '-e', '@' + self.secrets_file, os.path.join(self.work, playbook + '.yml')]
        env = dict(self.env)
        env.update(extra_env or {})
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        with open(log, 'wb') as out:
            rc = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.work)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        recap = _recap(log)
        if rc != 0 or len(recap) != size or any(r['failed'] or r['unreachable'] for r in recap.values()):
            raise BenchError('%s over %d hosts failed (rc %d, %d hosts in the recap); see %s' % (playbook, size, rc, len(recap), log))
        return cpu, wall, recap

    def play_sliced(self, size, slices, log):
        """playbooks/rollout.yml as ``slices`` concurrent ansible-playbook processes, one per slice inventory;
        return (cpu s of all of them, wall s until the last ends, recap of all hosts). Every slice must end
        without failure and must have run the rollout's serial batches over its hosts, the first (the
        canary) of one host."""
        playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        running = []
        try:
            for number, inventory in enumerate(self.slice_inventories(size, slices), 1):
                slice_log = '%s.slice-%d' % (log, number)
                out = open(slice_log, 'wb')
                running.append((inventory, slice_log, out, subprocess.Popen(
                    [playbook, '-i', inventory, '-e', '@' + self.secrets_file, '-e', 'duplicati_hosts=fleet',
                     'duplicati.fleet.rollout'], stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=self.work)))
            codes = [process.wait() for dummy, dummy, dummy, process in running]
        finally:
            for dummy, dummy, out, process in running:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                out.close()
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        recap = {}
        for (inventory, slice_log, dummy, dummy), rc in zip(running, codes):
            mine = _recap(slice_log)
            expected = rollout_batches(len(_inventory_hosts(inventory)))
            batches = _batches(slice_log)
            if rc != 0 or set(mine) != set(_inventory_hosts(inventory)) or any(r['failed'] or r['unreachable'] for r in mine.values()):
                raise BenchError('slice %s failed (rc %d, %d hosts in the recap); see %s' % (inventory, rc, len(mine), slice_log))
            if [len(b) for b in batches] != expected:
                raise BenchError('slice %s ran batches of %s hosts, not %s; see %s'
                                 % (inventory, [len(b) for b in batches], expected, slice_log))
            recap.update(mine)
        if len(recap) != size:
            raise BenchError('the slices covered %d of %d hosts' % (len(recap), size))
        return cpu, wall, recap


def host_names(size):
    return ['host-%04d' % i for i in range(1, size + 1)]


def rollout_batches(hosts, serial=ROLLOUT_BATCHES):
    """The batch sizes Ansible makes of ``hosts`` hosts with ``serial``: a percentage of the play's hosts,
    rounded down but at least 1; the last value repeats until every host had its batch."""
    sizes = []
    left = hosts
    while left > 0:
        value = serial[min(len(sizes), len(serial) - 1)]
        size = (int(int(value[:-1]) / 100.0 * hosts) or 1) if isinstance(value, str) else int(value)
        sizes.append(min(size, left))
        left -= sizes[-1]
    return sizes


def _inventory_hosts(path):
    with open(path) as handle:
        return [line.strip()[:-1] for line in handle if re.match(r'^ {8}host-\d+:$', line.rstrip())]


def _batches(log):
    """The hosts of each serial batch, from the default callback's output (one PLAY header per batch)."""
    batches = []
    with open(log, 'r', errors='replace') as handle:
        for line in handle:
            if line.startswith('PLAY ['):
                batches.append(set())
            match = re.match(r'^(?:ok|changed|skipping|failed|fatal): \[(host-\d+)\]', line)
            if match and batches:
                batches[-1].add(match.group(1))
    return batches


def _recap(log):
    hosts = {}
    in_recap = False
    with open(log, 'r', errors='replace') as handle:
        for line in handle:
            if line.startswith('PLAY RECAP'):
                in_recap = True
                continue
            match = RECAP_RE.match(line) if in_recap else None
            if match:
                keys = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')
                hosts[match.group(1)] = dict(zip(keys, (int(v) for v in match.groups()[1:])))
    return hosts


def run_size(fleet, size, rows, repeat, logs, slices=3):
    """{row: [(cpu, wall), ...]} for one fleet size; every run checked."""
    results = dict((row, []) for row in rows)
    fleet.reset_hosts(size)  # every row runs through the hosts' interpreter wrappers
    for rep in range(1, repeat + 1):
        for row in rows:
            log = os.path.join(logs, '%s-%d-%d.log' % (row, size, rep))
            if row in ('first', 'sliced'):
                fleet.reset_hosts(size)
                count, machines, duplicates = fleet.ledger()
            if row == 'rerun' and 'first' not in rows and rep == 1:
                # a converged fleet to re-run on (the hosts are fresh from the start of run_size, or rolled out)
                fleet.play(size, 'role', log + '.setup')
            if row == 'sliced':
                cpu, wall, recap = fleet.play_sliced(size, slices, log)
            else:
                cpu, wall, recap = fleet.play(size, 'role' if row in ('first', 'rerun') else row, log)
            changed = sum(1 for r in recap.values() if r['changed'])
            if row in ('first', 'sliced'):
                if changed != size:
                    raise BenchError('the %s rollout changed %d of %d hosts; see %s' % (row, changed, size, log))
                time.sleep(0.5)  # the console writes its ledger within 0.2 s
                count2, machines2, duplicates2 = fleet.ledger()
                if count2 - count != size or machines2 - machines != size or duplicates2 != duplicates:
                    raise BenchError('the console saw %d registrations of %d new machines (%d twice) for %d hosts'
                                     % (count2 - count, machines2 - machines, duplicates2 - duplicates, size))
                fleet.check_services(size)
            elif changed:
                raise BenchError('%s changed %d hosts; see %s' % (row, changed, log))
            results[row].append((cpu, wall))
            print('  N=%-4d %-12s run %d: cpu %7.2f s  wall %7.2f s  tasks/host %s'
                  % (size, row, rep, cpu, wall, _tasks_per_host(recap)), flush=True)
    return results


def _tasks_per_host(recap):
    counts = sorted(set(r['ok'] + r['skipped'] for r in recap.values()))
    return '/'.join(str(c) for c in counts)


def profile(fleet, size, logs):
    """Per-task time of the role (first rollout, then re-run) from ansible.posix.profile_tasks."""
    extra = {'ANSIBLE_CALLBACKS_ENABLED': 'ansible.posix.profile_tasks', 'PROFILE_TASKS_TASK_OUTPUT_LIMIT': 'all',
             'PROFILE_TASKS_SORT_ORDER': 'none'}
    fleet.reset_hosts(size)
    for label in ('first', 'rerun'):
        log = os.path.join(logs, 'profile-%s-%d.log' % (label, size))
        cpu, wall, dummy = fleet.play(size, 'role', log, extra)
        print('')
        print('profile of the role, %s, N=%d: cpu %.2f s, wall %.2f s (per-task wall time over all hosts):' % (label, size, cpu, wall))
        in_summary = False
        with open(log, 'r', errors='replace') as handle:
            for line in handle:
                if re.match(r'^=+\s*$', line.strip()) and not in_summary:
                    in_summary = True
                    continue
                if in_summary and re.search(r' -+ [0-9.]+s$', line.rstrip()):
                    print('  ' + line.rstrip())


def _median(pairs, index):
    return statistics.median(p[index] for p in pairs)


def _ratios(mine, theirs):
    """CPU ratios of two rows repeat by repeat (the runs of one repeat are minutes apart, so a drift of the
    machine's speed between repeats cancels out): (median, the ratio of each repeat)."""
    values = [m[0] / t[0] for m, t in zip(mine, theirs)]
    return statistics.median(values), values


def report(sizes, results, args):
    print('')
    print('Fleet benchmark: %s, %d cores, Python %s, ansible-core %s, forks=%d, pipelining=%s, median of %d'
          % (platform.platform(), os.cpu_count(), platform.python_version(), _ansible_version(), args.forks,
             args.pipelining, args.repeat))
    if 'sliced' in args.rows:
        print('sliced = playbooks/rollout.yml as %d concurrent ansible-playbook processes (forks=%d each) over %d slices'
              % (args.slices, args.forks, args.slices))
    print('controller CPU = user+sys of ansible-playbook and its children (s), median of the repeats;')
    print('ratio = CPU / CPU of the reference row in the same repeat: median, and the ratio of each repeat')
    print('')
    print('%-6s %-12s %10s %10s %10s %8s %9s %17s %s' % ('N', 'row', 'cpu s', 'wall s', 'cpu/host', 'vs', 'ratio', 'per repeat', 'target'))
    for size in sizes:
        med = dict((row, (_median(v, 0), _median(v, 1))) for row, v in results[size].items())
        for row in args.rows:
            cpu, wall = med[row]
            ref, target = TARGETS.get(row, ('ping', None))
            if row == 'ping' or ref not in med:
                ratio = vs = spread = '-'
                verdict = ''
            else:
                value, values = _ratios(results[size][row], results[size][ref])
                ratio, spread, vs = '%.2fx' % value, '/'.join('%.2f' % v for v in values), ref
                verdict = '<= %.1fx %s' % (target, 'met' if value <= target else 'MISSED') if target else ''
            print('%-6d %-12s %10.2f %10.2f %10.3f %8s %9s %17s %s' % (size, row, cpu, wall, cpu / size, vs, ratio, spread, verdict))
        print('')
    if len(sizes) > 1:
        print('growth: per-host slope between sizes (controller CPU s per added host; wall s per added host x forks)')
        print('%-12s %s' % ('row', '  '.join('%-24s' % ('N %d->%d' % (a, b)) for a, b in zip(sizes, sizes[1:]))))
        for row in args.rows:
            cells = []
            for a, b in zip(sizes, sizes[1:]):
                cpu_a, wall_a = _median(results[a][row], 0), _median(results[a][row], 1)
                cpu_b, wall_b = _median(results[b][row], 0), _median(results[b][row], 1)
                cells.append('%-24s' % ('%.3f cpu, %.3f wall' % ((cpu_b - cpu_a) / (b - a), (wall_b - wall_a) / (b - a) * args.forks)))
            print('%-12s %s' % (row, '  '.join(cells)))
        print('')
        print('slope ratios (the per-host cost without the fixed start-up), against the row of the target:')
        for row in args.rows:
            ref = TARGETS.get(row, ('ping', None))[0]
            if row == 'ping' or ref not in args.rows:
                continue
            cells = []
            for a, b in zip(sizes, sizes[1:]):
                theirs = (_median(results[b][ref], 0) - _median(results[a][ref], 0)) / (b - a)
                mine = (_median(results[b][row], 0) - _median(results[a][row], 0)) / (b - a)
                cells.append('%-24s' % ('%.2fx %s' % (mine / theirs, ref)))
            print('%-12s %s' % (row, '  '.join(cells)))


def _ansible_version():
    try:
        from ansible.release import __version__
        return __version__
    except ImportError:
        return '?'


def _parse_sizes(text):
    try:
        sizes = sorted(set(int(s) for s in text.split(',') if s.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError('sizes are whole numbers separated by commas, like 10,100')
    if not sizes or sizes[0] < 1 or sizes[-1] > 9999:
        raise argparse.ArgumentTypeError('sizes must be between 1 and 9999')
    return sizes


def _parse_rows(text):
    rows = [r.strip() for r in text.split(',') if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown or not rows:
        raise argparse.ArgumentTypeError('rows are some of %s' % ','.join(ROWS))
    return [r for r in ROWS if r in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--sizes', type=_parse_sizes, default=[10, 30], help='fleet sizes, e.g. 10,100,500 (default 10,30)')
    parser.add_argument('--forks', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=3, help='runs of each row per size; the median is reported')
    parser.add_argument('--rows', type=_parse_rows, default=list(ROWS), help='some of ' + ','.join(ROWS))
    parser.add_argument('--slices', type=int, default=3, help='concurrent ansible-playbook processes of the sliced row (default 3)')
    parser.add_argument('--pipelining', action='store_true', help='ANSIBLE_PIPELINING=True for every row')
    parser.add_argument('--profile', action='store_true', help='then profile the role per task at the largest size')
    parser.add_argument('--work-dir', help='parent of the work folder (default: $DUPLICATI_FLEET_WORK or the temp dir)')
    parser.add_argument('--keep', action='store_true', help='keep the work folder (logs, hosts) afterwards')
    args = parser.parse_args()
    if args.forks < 1 or args.repeat < 1 or args.slices < 1:
        parser.error('--forks, --repeat and --slices must be at least 1')

    parent = args.work_dir or os.environ.get('DUPLICATI_FLEET_WORK') or None
    if parent:
        os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix='fleet-bench-', dir=parent)  # mode 0700
    logs = os.path.join(work, 'logs')
    os.mkdir(logs)
    fleet = Fleet(work, _collections_root(work), args.forks, args.pipelining)
    failed = False

    def _interrupted(signum, frame):
        raise KeyboardInterrupt()

    # stopped by Ctrl-C or kill (even when started in the background, where SIGINT is ignored): the
    # running ansible-playbook is killed and the emulators are stopped
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        fleet.start()
        print('fleet benchmark: sizes %s, forks %d, %d repeats, rows %s; work folder %s'
              % (','.join(map(str, args.sizes)), args.forks, args.repeat, ','.join(args.rows), work), flush=True)
        results = {}
        for size in args.sizes:
            results[size] = run_size(fleet, size, args.rows, args.repeat, logs, args.slices)
            if not args.keep:  # --keep leaves the hosts as the last row left them, to look at or time
                fleet.reset_hosts(size)
        report(args.sizes, results, args)
        if args.profile:
            profile(fleet, args.sizes[-1], logs)
    except (BenchError, subprocess.CalledProcessError, OSError) as err:
        failed = True
        print('fleet benchmark failed: %s' % err, file=sys.stderr)
    except KeyboardInterrupt:
        failed = True
        print('fleet benchmark interrupted', file=sys.stderr)
    finally:
        fleet.stop()
        if args.keep or failed:
            print('work folder kept: %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
