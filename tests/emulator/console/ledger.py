# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The console's record of every registration it completed, and of every refusal.

Tests read it to count registrations per machine: a role that registers a machine
twice shows up as two entries with the same ``machineId``. The ledger is safe under
many parallel registrations (one lock around the lists). With a file it is loaded at
start and written back by a background thread, coalescing bursts into one write
(temp file in the same folder, fsync, ``os.replace``, mode 0600); ``close`` writes the
final state.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile
import threading
from collections import Counter
from datetime import datetime, timezone


class LedgerError(Exception):
    """The ledger file cannot be read or written."""


def _now():
    return datetime.now(timezone.utc).isoformat()


class Ledger(object):

    def __init__(self, path=None, flush_interval=0.2):
        self.path = os.path.abspath(path) if path else None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._registrations = []
        self._rejections = []
        self._dirty = threading.Event()
        self._closed = False
        self._flush_interval = flush_interval
        self._writer = None
        self.last_error = None
        if self.path:
            if not os.path.isdir(os.path.dirname(self.path)):
                raise LedgerError('the folder of the ledger file %s does not exist' % self.path)
            self._load()
            self._writer = threading.Thread(target=self._write_loop, name='console-ledger', daemon=True)
            self._writer.start()

    # ---- recording -------------------------------------------------------------------

    def record(self, registration_id, flow, token_name, body, remote_address):
        """Add one completed registration; returns the entry."""
        entry = {
            'registrationId': registration_id,
            'flow': flow,
            'tokenName': token_name,
            'machineId': body.get('machineId'),
            'installId': body.get('installId'),
            'instanceId': body.get('instanceId'),
            'machineName': body.get('machineName'),
            'version': body.get('version'),
            'packageTypeId': body.get('packageTypeId'),
            'operatingSystem': body.get('operatingSystem'),
            'remoteAddress': remote_address,
            'time': _now(),
        }
        with self._lock:
            self._registrations.append(entry)
        self._dirty.set()
        return dict(entry)

    def reject(self, reason, token_name, body, remote_address):
        """Note a refused registration (revoked or unknown token)."""
        entry = {'reason': reason, 'tokenName': token_name, 'machineId': body.get('machineId'),
                 'installId': body.get('installId'), 'remoteAddress': remote_address, 'time': _now()}
        with self._lock:
            self._rejections.append(entry)
        self._dirty.set()
        return dict(entry)

    # ---- reading ---------------------------------------------------------------------

    def registrations(self, **filters):
        """Entries (copies), optionally only those whose fields equal ``filters``."""
        with self._lock:
            items = [dict(e) for e in self._registrations]
        return [e for e in items if all(e.get(k) == v for k, v in filters.items())]

    def rejections(self):
        with self._lock:
            return [dict(e) for e in self._rejections]

    def summary(self, **filters):
        """The JSON the test-control surface returns for ``GET /_emulator/ledger``."""
        items = self.registrations(**filters)
        per_machine = Counter(e['machineId'] for e in items)
        return {
            'count': len(items),
            'machines': len(per_machine),
            'duplicates': {machine: n for machine, n in sorted(per_machine.items()) if n > 1},
            'registrations': items,
            'rejections': self.rejections(),
        }

    # ---- persistence -----------------------------------------------------------------

    def _load(self):
        if not os.path.exists(self.path):
            return
        try:
            with open(self.path, 'r') as handle:
                data = json.load(handle)
        except (IOError, OSError, ValueError) as exc:
            raise LedgerError('cannot read the ledger file %s: %s' % (self.path, exc))
        if not isinstance(data, dict) or not isinstance(data.get('registrations'), list):
            raise LedgerError('the ledger file %s is not a console ledger (no "registrations" list)' % self.path)
        self._registrations = [e for e in data['registrations'] if isinstance(e, dict)]
        self._rejections = [e for e in data.get('rejections') or [] if isinstance(e, dict)]

    def flush(self):
        """Write the file now (no-op without a file)."""
        if not self.path:
            return
        with self._write_lock:
            self._write()

    def _write(self):
        with self._lock:
            payload = {'registrations': list(self._registrations), 'rejections': list(self._rejections)}
            self._dirty.clear()
            text = json.dumps(payload, indent=1, sort_keys=True)
        folder = os.path.dirname(self.path)
        fd, tmp = tempfile.mkstemp(prefix='.ledger-', suffix='.tmp', dir=folder)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, 'w') as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _write_loop(self):
        while not self._closed:
            self._dirty.wait()
            if self._closed:
                break
            try:
                self.flush()
            except OSError as exc:
                # keep serving; close() writes again and raises if it still fails
                self.last_error = 'cannot write the ledger file %s: %s' % (self.path, exc)
            # let a burst of registrations pile up before the next write
            threading.Event().wait(self._flush_interval)

    def close(self):
        self._closed = True
        self._dirty.set()
        if self._writer is not None:
            self._writer.join(timeout=5)
        self.flush()
