# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated Duplicati console registration service (see ``service.py``).

``python -m ansible_collections.duplicati.fleet.tests.emulator serve console`` with:

``--token NAME=VALUE`` (repeatable)
    a pre-authorised registration link ``<base>/remotecontrol/register?token=VALUE``.
    The value is visible in the process list; ``--token-file`` avoids that.
``--token-file PATH``
    tokens from a file: a JSON object ``{"name": "value"}`` or ``NAME=VALUE`` lines.
``--revoked-token VALUE`` (repeatable)
    a link that existed and was revoked: agents using it get the revocation message.
``--ledger-file PATH``
    keep the ledger of registrations in this JSON file (loaded at start, mode 0600).
``--public-url URL``
    base of the links handed out (default: ``http://`` + the request's Host header).
``--claim-retry-seconds``, ``--claim-max-retries``, ``--claim-lifetime``
    the ``retrySeconds``, ``maxRetries`` and ``maxLifetimeSeconds`` of the claim flow.
``--claim-settings PATH``
    a JSON object of strings sent as ``settings`` with every claim made without its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json

from .ledger import Ledger
from .service import ConsoleApp
from .tokens import TokenError, TokenStore, check_settings, check_value, parse_token_option, read_token_file

__all__ = ['ConsoleApp', 'add_arguments', 'create_app', 'build_token_store']


def _token(text):
    try:
        return parse_token_option(text)
    except TokenError as exc:
        raise argparse.ArgumentTypeError(str(exc))


def _revoked(text):
    try:
        check_value(text)
    except TokenError as exc:
        raise argparse.ArgumentTypeError(str(exc))
    return text


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('not a whole number: %r' % text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1: %r' % text)
    return value


def add_arguments(parser):
    parser.add_argument('--token', action='append', default=[], type=_token, metavar='NAME=VALUE',
                        help='a pre-authorised registration token (repeatable)')
    parser.add_argument('--token-file', help='tokens as a JSON object or NAME=VALUE lines')
    parser.add_argument('--revoked-token', action='append', default=[], type=_revoked, metavar='VALUE',
                        help='a token that was revoked (repeatable)')
    parser.add_argument('--ledger-file', help='persist the ledger of registrations to this JSON file')
    parser.add_argument('--public-url', help='base URL of the links handed out (default: from the Host header)')
    parser.add_argument('--claim-retry-seconds', type=_positive_int, default=5)
    parser.add_argument('--claim-max-retries', type=_positive_int, default=100)
    parser.add_argument('--claim-lifetime', type=_positive_int, default=3600, help='seconds a claim may take')
    parser.add_argument('--claim-settings', help='JSON file: settings sent with claims')


def build_token_store(tokens=(), token_file=None, revoked=()):
    """A TokenStore seeded from option values; raises TokenError on conflicts."""
    store = TokenStore()
    pairs = list(tokens)
    if token_file:
        pairs += read_token_file(token_file)
    for name, value in pairs:
        store.add(name, value)
    for value in revoked:
        store.add_revoked(value)
    return store


def create_app(args, faults):
    tokens = build_token_store(args.token, args.token_file, args.revoked_token)
    settings = None
    if args.claim_settings:
        with open(args.claim_settings, 'r') as handle:
            settings = json.load(handle)
        check_settings(settings)
    return ConsoleApp(faults=faults, tokens=tokens, ledger=Ledger(args.ledger_file), public_url=args.public_url,
                      claim_retry_seconds=args.claim_retry_seconds, claim_max_retries=args.claim_max_retries,
                      claim_lifetime=args.claim_lifetime, claim_settings=settings)
