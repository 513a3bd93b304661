# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The duplicati_agent role's inputs, checked and turned into what the agent gets, once, in Python.

A role's Jinja expressions are compiled again in every task of every host (ansible-core keeps no compiled
template across its worker processes). The input rules and the two values derived from many inputs, the
service options and the args of preload.json, are evaluated on every run of every host, converged or not:
here they cost one filter call each instead of a dozen expressions (benchmarks/README.md).

Each filter's documentation is in the file of its name next to this one.
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six import string_types

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.preload import string_values, validate_preload

DEFAULT_WEBSERVICE_PORT = 8210

# \Z, not $: $ also matches before a final line break.
_CHECKSUM = re.compile(r'^(sha1|sha224|sha256|sha384|sha512|md5):[0-9a-fA-F]+\Z')
_HTTP_URL = re.compile(r'^https?://')
_OPTION = re.compile(r'^--[A-Za-z0-9]')
_VERSION = re.compile(r'^[0-9]+(\.[0-9]+){1,3}\Z')

_NAMES = (
    'package_source', 'package_url', 'package_checksum', 'package_file', 'local_access', 'local_password',
    'settings_passphrase', 'registration_url', 'registration_throttle', 'registration_timeout',
    'registration_retries', 'webservice_port', 'daemon_opts', 'version', 'preload_args', 'preload_env',
    'preload_db',
)


def _flag(value):
    """Jinja's ``| bool`` as the role used it: true, yes, on, 1 (any case) and True are true."""
    try:
        return boolean(value, strict=False)
    except TypeError:
        return False


def _number(value):
    """Jinja's ``| int``: the integer, a float's integer part, or 0 for anything else."""
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def _text(value):
    return isinstance(value, string_types)


def _filled(value):
    return _text(value) and len(value) > 0


def _rules(v):
    """(holds, message) for each rule, in the order the role documents them. Messages name variables, never
    their values: the check task is not no_log."""
    opts = v['daemon_opts']
    return [
        (v['package_source'] != 'url' or (_filled(v['package_url']) and _filled(v['package_checksum'])),
         'duplicati_agent_package_source=url needs duplicati_agent_package_url and duplicati_agent_package_checksum.'),
        (v['package_source'] != 'file' or _filled(v['package_file']),
         'duplicati_agent_package_source=file needs duplicati_agent_package_file.'),
        (_text(v['package_checksum']) and (not v['package_checksum'] or bool(_CHECKSUM.match(v['package_checksum']))),
         'duplicati_agent_package_checksum must be algorithm:hex, for example sha256:<64 hex digits>.'),
        (not _flag(v['local_access']) or _filled(v['local_password']),
         'duplicati_agent_local_access=true needs duplicati_agent_local_password.'),
        (_text(v['settings_passphrase']) and (len(v['settings_passphrase']) == 0 or len(v['settings_passphrase']) >= 8),
         'duplicati_agent_settings_passphrase needs at least 8 characters.'),
        (_text(v['registration_url']) and (not v['registration_url'] or bool(_HTTP_URL.match(v['registration_url']))),
         'duplicati_agent_registration_url must be an http:// or https:// URL (the link the Duplicati console gives).'),
        (_number(v['registration_throttle']) >= 1, 'duplicati_agent_registration_throttle must be at least 1.'),
        (_number(v['registration_timeout']) >= 1, 'duplicati_agent_registration_timeout must be at least 1 (seconds).'),
        (_number(v['registration_retries']) >= 0, 'duplicati_agent_registration_retries must be 0 or more.'),
        (1 <= _number(v['webservice_port']) <= 65535, 'duplicati_agent_webservice_port must be between 1 and 65535.'),
        (_options(opts) and all(_text(o) and _OPTION.match(o) for o in opts),
         'duplicati_agent_daemon_opts must be a list whose every entry starts with -- (for example --log-level=information).'),
        (_text(v['version']) and (v['version'] == 'latest' or bool(_VERSION.match(v['version']))),
         "duplicati_agent_version must be 'latest' or a version like 2.3.0.4."),
        (all(isinstance(v[name], dict) for name in ('preload_args', 'preload_env', 'preload_db')),
         'duplicati_agent_preload_args, duplicati_agent_preload_env and duplicati_agent_preload_db must be dictionaries.'),
        (not isinstance(v['preload_args'], dict) or _option_lists(v['preload_args']),
         'duplicati_agent_preload_args must give each executable a list of options (for example agent: [--log-level=information]).'),
        (_preload_read(v['preload_args'], v['preload_env'], v['preload_db']),
         'duplicati_agent_preload_args, duplicati_agent_preload_env and duplicati_agent_preload_db must make a preload.json '
         'Duplicati reads: executables * or agent, server, ... in lower case, args entries --name=value, env and db a '
         'dictionary of names and text values per executable.'),
    ]


def _preload_read(args, env, db):
    """Whether Duplicati reads the preload.json of these sections (``preload.validate_preload``), which the Windows
    flow writes without the preload module. A section of the wrong type breaks the two rules before this one."""
    sections = {'args': args, 'env': env, 'db': db}
    if not all(isinstance(body, dict) for body in sections.values()):
        return True
    if not _option_lists(args):
        return True
    try:
        validate_preload(string_values(sections))
    except DuplicatiError:
        return False
    return True


def _options(value):
    return is_sequence(value) and not isinstance(value, dict)


def _option_lists(args):
    """Whether every executable of a preload args section has a list of texts."""
    return all(_options(o) and all(_text(e) for e in o) for o in args.values())


def agent_input_errors(inputs):
    """The messages of the rules ``inputs`` breaks (the role's variables without their duplicati_agent_ prefix)."""
    if not isinstance(inputs, dict) or set(inputs) != set(_NAMES):
        raise AnsibleFilterError('agent_input_errors takes a dictionary of exactly these keys: %s' % ', '.join(_NAMES))
    return [message for holds, message in _rules(inputs) if not holds]


def agent_daemon_opts(daemon_opts, webservice_port=DEFAULT_WEBSERVICE_PORT, local_access=False,
                      local_signin_tokens=False, data_folder=''):
    """The agent service's options: the role's own, then the user's ``daemon_opts``."""
    port = _number(webservice_port)
    options = [] if port == DEFAULT_WEBSERVICE_PORT else ['--webservice-port=%d' % port]
    if _flag(local_access):
        options += ['--disable-pre-shared-key=true', '--webservice-api-only=false']
        if _flag(local_signin_tokens):
            options.append('--webservice-disable-signin-tokens=false')
    if data_folder:
        options.append('--server-datafolder=%s' % data_folder)
    return options + list(daemon_opts)


def agent_preload_args(preload_args, settings_passphrase='', local_access=False, local_password=''):
    """The ``args`` of preload.json: the user's entries plus the secrets the agent needs at every start, and no
    entry whose list is empty."""
    args = dict(preload_args)
    agent = list(args.get('agent') or [])
    if settings_passphrase:
        agent.append('--agent-settings-file-passphrase=%s' % settings_passphrase)
    if _flag(local_access):
        agent.append('--webservice-password=%s' % local_password)
    args['agent'] = agent
    return dict((name, value) for name, value in args.items() if value != [])


def agent_preload_document(args, env=None, db=None):
    """The whole preload.json: the sections that are not empty, the values of ``env`` and ``db`` as text."""
    sections = string_values({'args': args, 'env': env or {}, 'db': db or {}})
    return dict((name, body) for name, body in sections.items() if body)


class FilterModule(object):
    def filters(self):
        return {
            'agent_input_errors': agent_input_errors,
            'agent_daemon_opts': agent_daemon_opts,
            'agent_preload_args': agent_preload_args,
            'agent_preload_document': agent_preload_document,
        }
