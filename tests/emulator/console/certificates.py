# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remote-control server's certificates, as the console hands them to agents.

The agent stores them as ``MiniServerCertificate {publicKeyHash, publicKey, obtained,
expiry}`` (``Duplicati/Library/RemoteControl/SharedTypes.cs``; fetched by ``KeepRemoteConnection.RefreshCertificatesAsync``):
``publicKey`` is a PEM RSA public key that ``RSA.ImportFromPem`` reads, and the two
timestamps are .NET ``DateTimeOffset`` values in ISO-8601. The agent picks the one whose
``publicKeyHash`` equals the hash in the server's ``welcome`` message and whose
``expiry`` is in the future; it never computes the hash itself, so how the hash is made
is the server's choice (not in Duplicati's source). Here it is the base64 SHA-256 of the
DER SubjectPublicKeyInfo.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _iso(moment):
    return moment.isoformat(timespec='seconds')


class ServerCertificate(object):
    """One RSA-2048 key pair of the (emulated) remote-control server."""

    def __init__(self, valid_days=365, key_size=2048, now=None):
        now = now or datetime.now(timezone.utc).replace(microsecond=0)
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        der = self.private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_key_pem = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')
        self.public_key_hash = base64.b64encode(hashlib.sha256(der).digest()).decode('ascii')
        self.obtained = now
        self.expiry = now + timedelta(days=valid_days)

    def mini(self):
        """The ``MiniServerCertificate`` JSON object (camelCase, as the agent reads it)."""
        return {
            'publicKeyHash': self.public_key_hash,
            'publicKey': self.public_key_pem,
            'obtained': _iso(self.obtained),
            'expiry': _iso(self.expiry),
        }
