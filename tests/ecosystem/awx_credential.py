# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What AWX / Automation Controller does with ``extensions/awx/credential_type.yml``.

``load_credential_type`` reads and checks the definition the way the controller checks a
custom credential type on save; ``inject_env`` renders its ``env`` injectors for one
credential's inputs the way the controller does for a job: a sandboxed Jinja2 template per
variable, a field the credential leaves out rendered as an empty string.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import yaml
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CREDENTIAL_TYPE_FILE = os.path.join(COLLECTION_ROOT, 'extensions', 'awx', 'credential_type.yml')

FIELD_TYPES = ('string', 'boolean')
FIELD_ID = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')
ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
# Variables the controller refuses to let a credential type set (its ENV_BLOCKLIST), and the
# ANSIBLE_ prefix it rejects on save.
ENV_BLOCKLIST = frozenset(('VIRTUAL_ENV', 'PATH', 'PYTHONPATH', 'JOB_ID', 'INVENTORY_ID', 'INVENTORY_SOURCE_ID',
                           'INVENTORY_UPDATE_ID', 'AD_HOC_COMMAND_ID', 'REST_API_URL', 'REST_API_TOKEN',
                           'MAX_EVENT_RES', 'CALLBACK_QUEUE', 'CALLBACK_CONNECTION', 'CACHE', 'JOB_CALLBACK_DEBUG',
                           'INVENTORY_HOSTVARS', 'AWX_HOST', 'PROJECT_REVISION', 'SUPERVISOR_CONFIG_PATH'))


class CredentialTypeError(ValueError):
    """The credential type, or a credential's inputs for it, would be refused."""


def _environment():
    return ImmutableSandboxedEnvironment()


def template_fields(template):
    """The names a Jinja2 injector template refers to."""
    return meta.find_undeclared_variables(_environment().parse(template))


def check_credential_type(definition):
    """Raise CredentialTypeError where the controller would refuse ``definition``; return it."""
    for key in ('name', 'kind', 'inputs', 'injectors'):
        if key not in definition:
            raise CredentialTypeError('The credential type has no %s.' % key)
    if definition['kind'] not in ('cloud', 'net'):
        raise CredentialTypeError('A custom credential type is of kind cloud or net, not %r.' % definition['kind'])
    fields = definition['inputs'].get('fields') or []
    ids = []
    for field in fields:
        if not FIELD_ID.match(field.get('id') or ''):
            raise CredentialTypeError('Field id %r is not a valid identifier.' % field.get('id'))
        if field.get('type', 'string') not in FIELD_TYPES:
            raise CredentialTypeError('Field %s has type %r.' % (field['id'], field.get('type')))
        if not field.get('label'):
            raise CredentialTypeError('Field %s has no label.' % field['id'])
        ids.append(field['id'])
    if len(set(ids)) != len(ids):
        raise CredentialTypeError('Field ids repeat: %s.' % ', '.join(sorted(ids)))
    unknown_required = set(definition['inputs'].get('required') or []) - set(ids)
    if unknown_required:
        raise CredentialTypeError('Required fields that do not exist: %s.' % ', '.join(sorted(unknown_required)))
    injectors = definition['injectors']
    unknown_kinds = set(injectors) - set(('env', 'extra_vars', 'file'))
    if unknown_kinds:
        raise CredentialTypeError('Unknown injector kinds: %s.' % ', '.join(sorted(unknown_kinds)))
    for name, template in (injectors.get('env') or {}).items():
        if not ENV_NAME.match(name) or name in ENV_BLOCKLIST or name.startswith('ANSIBLE_'):
            raise CredentialTypeError('The controller does not inject the environment variable %s.' % name)
        if not isinstance(template, str):
            raise CredentialTypeError('The injector of %s is not a string template.' % name)
        undeclared = template_fields(template) - set(ids)
        if undeclared:
            raise CredentialTypeError('The injector of %s uses undeclared fields: %s.' % (name, ', '.join(sorted(undeclared))))
    return definition


def load_credential_type(path=CREDENTIAL_TYPE_FILE):
    with open(path) as handle:
        return check_credential_type(yaml.safe_load(handle))


def inject_env(definition, inputs):
    """The environment variables a job gets from a credential with ``inputs``."""
    fields = dict((field['id'], field) for field in definition['inputs'].get('fields') or [])
    unknown = set(inputs) - set(fields)
    if unknown:
        raise CredentialTypeError('The credential has inputs its type does not declare: %s.' % ', '.join(sorted(unknown)))
    missing = [name for name in definition['inputs'].get('required') or [] if inputs.get(name) in (None, '')]
    if missing:
        raise CredentialTypeError('The credential lacks required inputs: %s.' % ', '.join(missing))
    namespace = {}
    for name, field in fields.items():
        if name in inputs:
            namespace[name] = inputs[name]
        elif field.get('type') == 'boolean':
            namespace[name] = False
    env = _environment()
    return dict((name, env.from_string(template).render(**namespace))
                for name, template in (definition['injectors'].get('env') or {}).items())
