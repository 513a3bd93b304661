# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an agent sends when it registers, and the registrations waiting for a claim.

The body (``Duplicati/Library/RemoteControl/RegisterForRemote.cs``
``RegisterForRemote.CreateMachineData``) is a JSON object of strings: ``instanceId``, ``machineId``,
``machineName``, ``installId``, ``localTime`` (.NET round-trip "o" format), ``version``,
``packageTypeId`` and ``operatingSystem``, plus every non-empty query parameter of the
registration URL (that is how ``token`` arrives). The agent builds it from a
``Dictionary<string, string?>``, so ``version`` may be null (no version info) and
``packageTypeId`` may be empty (no ``package_type_id.txt``); the identities are never
empty. Anything else is a malformed request and gets 400.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time
import uuid
from datetime import datetime

# fields that must be non-empty strings
REQUIRED_TEXT = ('instanceId', 'machineId', 'machineName', 'installId', 'localTime')
# fields that must be present, as a string or null
REQUIRED_NULLABLE = ('version', 'packageTypeId', 'operatingSystem')

PENDING = 'pending'
CLAIMED = 'claimed'
DELIVERED = 'delivered'
EXPIRED = 'expired'


class BadRequest(ValueError):
    """The request body is not what a Duplicati agent sends."""


def validate_machine_data(body):
    """Check a registration/status body; returns it (a dict of str → str or None)."""
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object')
    for key, value in body.items():
        if value is not None and not isinstance(value, str):
            raise BadRequest('every field of the body is a string; %r is %s' % (key, type(value).__name__))
    missing = [k for k in REQUIRED_TEXT + REQUIRED_NULLABLE if k not in body]
    if missing:
        raise BadRequest('missing field(s): %s' % ', '.join(missing))
    empty = [k for k in REQUIRED_TEXT if not (body[k] or '').strip()]
    if empty:
        raise BadRequest('empty field(s): %s' % ', '.join(empty))
    try:
        datetime.fromisoformat(body['localTime'])
    except ValueError:
        raise BadRequest('localTime is not an ISO-8601 timestamp: %r' % body['localTime'])
    return body


class PendingRegistration(object):
    """A machine that registered without a token and waits for a user to claim it."""

    def __init__(self, body, lifetime, remote_address):
        self.id = uuid.uuid4().hex
        self.body = dict(body)
        self.remote_address = remote_address
        self.created = time.time()
        self.deadline = time.monotonic() + lifetime
        self.state = PENDING
        self.claimed = None     # the claimed-client data, once claimed
        self.polls = 0

    def expired(self):
        return self.state == PENDING and time.monotonic() > self.deadline

    def view(self):
        return {'id': self.id, 'state': EXPIRED if self.expired() else self.state,
                'machineId': self.body.get('machineId'), 'installId': self.body.get('installId'),
                'machineName': self.body.get('machineName'), 'remoteAddress': self.remote_address,
                'created': self.created, 'polls': self.polls}


class PendingRegistrations(object):
    """Thread-safe map id → PendingRegistration."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items = {}

    def add(self, body, lifetime, remote_address):
        item = PendingRegistration(body, lifetime, remote_address)
        with self._lock:
            self._items[item.id] = item
        return item

    def claim(self, registration_id, make_claimed):
        """Mark as claimed with ``make_claimed(item)`` as its data.

        Returns (item, None) or (None, reason) with reason 'unknown', 'expired' or 'claimed'.
        """
        with self._lock:
            item = self._items.get(registration_id)
            if item is None:
                return None, 'unknown'
            if item.expired():
                return None, 'expired'
            if item.state != PENDING:
                return None, 'claimed'
            item.claimed = make_claimed(item)
            item.state = CLAIMED
            return item, None

    def poll(self, registration_id):
        """One status poll: (item, first_delivery) or (None, False) when unknown.

        ``first_delivery`` is True exactly once, on the first poll after the claim; that
        is when the machine receives its credentials.
        """
        with self._lock:
            item = self._items.get(registration_id)
            if item is None:
                return None, False
            item.polls += 1
            if item.state == CLAIMED:
                item.state = DELIVERED
                return item, True
            return item, False

    def list(self):
        with self._lock:
            return [item.view() for item in self._items.values()]
