# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's argument handling, fuzzed.

For each module in ``plugins/modules/`` its real ``argument_spec`` is read (by stopping
``AnsibleModule`` as it is built) and hypothesis draws arguments from it: each option
absent, a valid-looking value or a value of the wrong type, plus now and then an unknown
option. The module runs in-process against the emulated server. Whatever the input:

* the module ends in ``exit_json`` or ``fail_json``, never in an uncaught exception;
* a failure carries a message and no traceback;
* a failure changed nothing: not a file in the module's sandbox folder, not the emulated
  server's backups, run queue, pause state or password.

Paths always point into a fresh sandbox (relative paths resolve there too), so no
example can touch the host's real Duplicati folders. ``systemctl``/``launchctl`` and the
agent binary are never run: the modules find no such tools.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import importlib
import os
import pkgutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ansible.module_utils import basic

from ansible_collections.duplicati.fleet.plugins import modules as modules_package
from ansible_collections.duplicati.fleet.tests.unit.plugins.modules.server_modules import PASSWORD, run_module, server

MODULE_NAMES = sorted(name for dummy, name, is_package in pkgutil.iter_modules(modules_package.__path__) if not is_package)
EXAMPLES = 20
OMIT = object()


class SpecCaptured(Exception):
    pass


def argument_spec(module):
    """The ``argument_spec`` (and other AnsibleModule arguments) the module builds in ``main()``."""
    original = basic.AnsibleModule.__init__

    def capture(self, *args, **kwargs):
        raise SpecCaptured(kwargs.get('argument_spec', args[0] if args else None))

    basic.AnsibleModule.__init__ = capture
    try:
        module.main()
    except SpecCaptured as captured:
        return captured.args[0]
    finally:
        basic.AnsibleModule.__init__ = original
    raise AssertionError('%s.main() built no AnsibleModule' % module.__name__)


# ---- strategies -----------------------------------------------------------------------------

WRONG = st.one_of(st.none(), st.integers(-3, 3), st.text(max_size=8), st.lists(st.integers(0, 3), max_size=2),
                  st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2), st.booleans())
TEXT = st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=16)


def sandbox_path(sandbox):
    relative = st.sampled_from(['file.json', 'sub/file.json', 'agent.json', 'preload.json', 'settings.json', 'folder', ''])
    return st.one_of(relative.map(lambda rel: os.path.join(sandbox, rel)), relative, st.integers(0, 3), st.lists(TEXT, max_size=2))


def valid_looking(name, option, sandbox, urls):
    kind = option.get('type', 'str')
    if option.get('choices'):
        return st.sampled_from(list(option['choices']))
    if name == 'host_url':
        return st.sampled_from([urls['server'], 'not a url', 'ftp://127.0.0.1/', 'http://127.0.0.1:1/'])
    if name == 'password':
        return st.sampled_from([PASSWORD, 'wrong password', ''])
    if name == 'registration_url':
        return st.sampled_from(['not a url', 'ftp://console/register?token=x', 'http://exa mple/', ''])
    if name in ('poll_interval', 'wait_timeout', 'timeout', 'retries'):
        return st.integers(-2, 2)
    if kind == 'path':
        return sandbox_path(sandbox)
    if kind == 'bool':
        return st.one_of(st.booleans(), st.sampled_from(['yes', 'no', 'maybe']))
    if kind == 'int':
        return st.integers(-3, 5)
    if kind == 'list':
        return st.lists(TEXT, max_size=3)
    if kind == 'dict':
        return st.dictionaries(st.sampled_from(['agent', 'server', '*', 'nope', '']),
                               st.one_of(st.dictionaries(TEXT, TEXT, max_size=2), st.lists(TEXT, max_size=2), TEXT), max_size=2)
    return TEXT


def arguments(spec, sandbox, urls):
    fields = {}
    for name, option in sorted(spec.items()):
        # mostly plausible values, so that examples get past the type checks into the module's own validation
        choices = [valid_looking(name, option, sandbox, urls)] * 6 + [WRONG]
        if option.get('type') != 'path':  # a missing path would mean the host's real Duplicati folders
            choices += [st.just(OMIT)] * 2
        fields[name] = st.one_of(*choices)
    extra = st.one_of(st.just({}), st.dictionaries(st.sampled_from(['unknown_option', 'passwrd']), TEXT, max_size=1))
    return st.tuples(st.fixed_dictionaries(fields), extra).map(
        lambda pair: dict([(k, v) for k, v in pair[0].items() if v is not OMIT] + list(pair[1].items())))


# ---- what must not change ---------------------------------------------------------------------

def files(folder):
    seen = {}
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = os.path.join(root, name)
            info = os.lstat(path)
            digest = None
            if os.path.isfile(path):
                with open(path, 'rb') as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            seen[os.path.relpath(path, folder)] = (info.st_mode, digest)
    return seen


def server_view(harness):
    app = harness.app
    snap = app.runner.snapshot()
    return {'backups': dict((ident, app.db.get_backup(ident)) for ident in app.db.backup_ids()),
            'runs_started': app.runner.runs_started, 'paused': snap['paused'], 'queue': [t.task_id for t in snap['queue']],
            'password': app.verify_password(PASSWORD)}


@pytest.fixture(scope='module')
def emulated_server():
    with server('--seed-backups', '2', '--run-duration', '0.1') as harness:
        yield harness


@pytest.fixture
def no_service_tools(monkeypatch):
    """No systemctl, launchctl or agent binary: a module that would run one fails instead."""
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, *args, **kwargs: None)

    def run_command(self, args, *more, **kwargs):
        return 127, '', 'fuzzing: %s is not run' % (args[0] if isinstance(args, list) and args else args)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)


@pytest.mark.parametrize('name', MODULE_NAMES)
def test_rejected_arguments_fail_cleanly_and_change_nothing(name, monkeypatch, tmp_path, emulated_server, no_service_tools):
    module = importlib.import_module('%s.%s' % (modules_package.__name__, name))
    spec = argument_spec(module)
    assert spec, '%s has no argument_spec' % name
    root = str(tmp_path)
    sandbox = os.path.join(root, 'sandbox')
    os.mkdir(sandbox)
    monkeypatch.chdir(sandbox)
    urls = {'server': emulated_server.url}
    outcomes = {'failed': 0, 'passed': 0, 'messages': []}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(arguments(spec, sandbox, urls))
    def check(args):
        before_files = files(sandbox)
        before_server = server_view(emulated_server)
        result = run_module(monkeypatch, module, args)
        if not result['failed']:
            outcomes['passed'] += 1
            if not emulated_server.app.verify_password(PASSWORD):
                emulated_server.app.set_password(PASSWORD)
            return
        outcomes['failed'] += 1
        message = result.get('msg')
        outcomes['messages'].append(str(message)[:70])
        assert isinstance(message, str) and message.strip(), 'failed without a message: %r' % result
        assert 'Traceback' not in message and 'exception' not in result, 'a traceback reached the user: %r' % result
        assert files(sandbox) == before_files, 'a rejected run changed files: %r -> %r' % (args, message)
        assert server_view(emulated_server) == before_server, 'a rejected run changed the server: %r -> %r' % (args, message)

    check()
    print('\n%s: %d rejected, %d accepted; for example: %s' % (name, outcomes['failed'], outcomes['passed'],
                                                               ' | '.join(sorted(set(outcomes['messages']))[:4])))
    assert outcomes['failed'] > 0


def test_every_module_is_fuzzed():
    assert len(MODULE_NAMES) >= 13
    assert 'agent_registration' in MODULE_NAMES and 'backup_run' in MODULE_NAMES


# ---- hostile strings --------------------------------------------------------------------------

HUGE = 1024 * 1024
# How Ansible hands over bytes that are not UTF-8: lone surrogates (surrogateescape).
NOT_UTF8 = u'caf\udce9-\udcff\udcfe'
HOSTILE = {
    'huge': 'A' * HUGE,
    'huge-url': 'http://' + 'a' * (HUGE // 2) + '?token=' + 'b' * (HUGE // 2),
    'not-utf8': NOT_UTF8,
    'control': u'x\x00y\x1b[31m\r\nz\x7f\u202e',
    'nul': u'\x00',
    'newline': u'--a=1\n--b=2',
}
COUNTS = {'cases': 0, 'clean_errors': 0, 'accepted': 0, 'tracebacks': 0}


def _string_options(spec):
    """The options that take text: str, path, raw, and the elements of lists of str."""
    return sorted(name for name, option in spec.items()
                  if option.get('type', 'str') in ('str', 'path', 'raw') and not option.get('choices')
                  or option.get('type') == 'list' and option.get('elements', 'str') == 'str')


def _baseline(spec, sandbox, urls):
    """Arguments that get a module past its required options; paths point into the sandbox
    (but no CA file: a missing one is retried as a connection failure)."""
    args = {}
    for name, option in spec.items():
        if option.get('type') == 'path' and name != 'ca_path':
            args[name] = os.path.join(sandbox, name)
        elif option.get('required'):
            args[name] = option['choices'][0] if option.get('choices') else 'fuzz'
    if 'host_url' in spec:
        args.update(host_url=urls['server'], password=PASSWORD)
    return args


def _non_utf8_file(sandbox):
    path = os.path.join(sandbox, 'not-utf8.json')
    with open(path, 'wb') as handle:
        handle.write(b'{"a": "caf\xe9 \xff\xfe"}\n')
    return path


@pytest.mark.parametrize('name', MODULE_NAMES)
def test_hostile_strings_in_every_text_option_end_without_a_traceback(name, monkeypatch, tmp_path, emulated_server,
                                                                      no_service_tools):
    """Huge, non-UTF-8 and control-character values in each text option, and files that are not
    UTF-8 for each path option: the module succeeds or fails with a message, never a traceback."""
    module = importlib.import_module('%s.%s' % (modules_package.__name__, name))
    spec = argument_spec(module)
    sandbox = str(tmp_path / 'sandbox')
    os.mkdir(sandbox)
    monkeypatch.chdir(sandbox)
    urls = {'server': emulated_server.url}
    failures = []
    for option in _string_options(spec):
        values = dict(HOSTILE)
        if spec[option].get('type') == 'path':
            values['not-utf8-file'] = _non_utf8_file(sandbox)
        for label, value in sorted(values.items()):
            args = _baseline(spec, sandbox, urls)
            args[option] = [value] if spec[option].get('type') == 'list' else value
            COUNTS['cases'] += 1
            try:
                result = run_module(monkeypatch, module, args)
            except Exception as exc:  # anything but exit_json/fail_json is what a user sees as a traceback
                COUNTS['tracebacks'] += 1
                failures.append('%s=%s: %s: %s' % (option, label, type(exc).__name__, str(exc)[:200]))
                continue
            finally:
                if not emulated_server.app.verify_password(PASSWORD):
                    emulated_server.app.set_password(PASSWORD)
            if not result['failed']:
                COUNTS['accepted'] += 1
                continue
            message = result.get('msg')
            if not isinstance(message, str) or not message.strip() or 'Traceback' in message or 'exception' in result:
                COUNTS['tracebacks'] += 1
                failures.append('%s=%s: %r' % (option, label, result)[:300])
            else:
                COUNTS['clean_errors'] += 1
                if len(message) > 2100:
                    failures.append('%s=%s: a message of %d characters quotes the value' % (option, label, len(message)))
    print('\n%s: %d cases so far, %d clean errors, %d accepted, %d tracebacks'
          % (name, COUNTS['cases'], COUNTS['clean_errors'], COUNTS['accepted'], COUNTS['tracebacks']))
    assert failures == []
