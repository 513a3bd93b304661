# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-authorised registration tokens of the emulated console.

On the real console a user creates a "registration url" and can delete it again
(``doc: using-remote-control-with-agent.md``, "Simplified registration"). Deleting it
stops new registrations; machines already registered stay. A token is reusable: one
link registers a whole fleet. Here each link is a named token; revoking it keeps the
entry so the console can tell "revoked" from "never existed".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import secrets
import threading
import time

NAME_PATTERN = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$')
VALUE_PATTERN = re.compile(r'^[A-Za-z0-9._~-]{8,256}$')

ACTIVE = 'active'
REVOKED = 'revoked'
UNKNOWN = 'unknown'


class TokenError(ValueError):
    """A token name or value that cannot be used."""


def parse_token_option(text):
    """``NAME=VALUE`` (the ``--token`` option) → (name, value). Raises TokenError."""
    if '=' not in text:
        raise TokenError('expected NAME=VALUE, got %r' % text.split('=')[0])
    name, value = text.split('=', 1)
    check_name(name)
    check_value(value)
    return name, value


def read_token_file(path):
    """Tokens from a file: a JSON object ``{name: value}`` or lines ``NAME=VALUE``.

    A file keeps the values off the process list, which ``--token`` does not.
    """
    with open(path, 'r') as handle:
        text = handle.read()
    stripped = text.strip()
    if stripped.startswith('{'):
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise TokenError('%s is not valid JSON: %s' % (path, exc))
        pairs = []
        for name, value in data.items():
            if not isinstance(value, str):
                raise TokenError('%s: the value of %r must be a string' % (path, name))
            check_name(name)
            check_value(value)
            pairs.append((name, value))
        return pairs
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        pairs.append(parse_token_option(line))
    return pairs


def check_name(name):
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise TokenError('a token name is 1-64 characters of letters, digits, ".", "_" and "-", starting with a letter or digit')


def check_value(value):
    if not isinstance(value, str) or not VALUE_PATTERN.match(value):
        raise TokenError('a token value is 8-256 URL-safe characters (letters, digits, ".", "_", "~", "-")')


class TokenStore(object):
    """Thread-safe set of named tokens, each active or revoked."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_name = {}
        self._by_value = {}
        self._revoked_count = 0

    def add(self, name=None, value=None, settings=None):
        """Create a token; a missing value is drawn at random. Returns its record.

        Raises TokenError for a bad name/value or one that is already taken.
        """
        if value is None:
            value = secrets.token_urlsafe(24)
        check_value(value)
        if settings is not None:
            check_settings(settings)
        with self._lock:
            if name is None:
                name = 'token-%d' % (len(self._by_name) + 1)
                while name in self._by_name:
                    name += '-x'
            check_name(name)
            if name in self._by_name:
                raise TokenError('a token named %r exists already' % name)
            if value in self._by_value:
                raise TokenError('that token value is in use already')
            record = {'name': name, 'value': value, 'state': ACTIVE, 'created': time.time(),
                      'revoked': None, 'settings': dict(settings) if settings else None}
            self._by_name[name] = record
            self._by_value[value] = record
            return dict(record)

    def add_revoked(self, value):
        """Seed a token that exists but was revoked (``--revoked-token``)."""
        with self._lock:
            self._revoked_count += 1
            name = 'revoked-%d' % self._revoked_count
        record = self.add(name, value)
        return self.revoke(record['name'])

    def revoke(self, name):
        """Revoke by name. Returns the record, or None when there is no such token."""
        with self._lock:
            record = self._by_name.get(name)
            if record is None:
                return None
            if record['state'] != REVOKED:
                record['state'] = REVOKED
                record['revoked'] = time.time()
            return dict(record)

    def lookup(self, value):
        """(state, record copy or None) for a presented token value."""
        with self._lock:
            record = self._by_value.get(value)
            if record is None:
                return UNKNOWN, None
            return record['state'], dict(record)

    def names(self):
        with self._lock:
            return sorted(self._by_name)

    def list(self):
        with self._lock:
            return [dict(self._by_name[name]) for name in sorted(self._by_name)]


def check_settings(settings):
    """Claim settings are a map of string → string or null (``ClaimedClientData.Settings``)."""
    if not isinstance(settings, dict):
        raise TokenError('settings must be a JSON object of strings')
    for key, value in settings.items():
        if not isinstance(key, str) or not (value is None or isinstance(value, str)):
            raise TokenError('settings must map strings to strings or null')
