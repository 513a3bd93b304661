# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``KeepRemoteConnection.RefreshCertificatesAsync`` and ``SharedTypes.cs``: ``GET <certificateUrl>`` returns a JSON array of
``MiniServerCertificate {publicKeyHash, publicKey (PEM RSA public key), obtained,
expiry}`` with ISO-8601 DateTimeOffset timestamps; the agent ignores expired or empty
entries, so a served certificate must be current and complete."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
from datetime import datetime, timezone

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.duplicati.fleet.tests.emulator.console.agent_protocol import machine_data, read_register_answer
from ansible_collections.duplicati.fleet.tests.emulator.console.harness import call, call_json, running_console
from ansible_collections.duplicati.fleet.tests.emulator.console.tokens import TokenStore


def _check_certificate(cert):
    assert set(cert) == {'publicKeyHash', 'publicKey', 'obtained', 'expiry'}
    key = serialization.load_pem_public_key(cert['publicKey'].encode('ascii'))
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert cert['publicKeyHash'] == base64.b64encode(hashlib.sha256(der).digest()).decode()
    obtained = datetime.fromisoformat(cert['obtained'])
    expiry = datetime.fromisoformat(cert['expiry'])
    assert obtained.tzinfo is not None and expiry.tzinfo is not None
    assert obtained <= datetime.now(timezone.utc) < expiry


def test_certificate_url_serves_current_mini_certificates():
    with running_console() as (app, base):
        status, certs = call_json(base + 'remotecontrol/certificates')
    assert status == 200 and isinstance(certs, list) and len(certs) == 1
    _check_certificate(certs[0])


def test_registration_answer_carries_the_served_certificates():
    store = TokenStore()
    store.add('t', 'certificate-token-1')
    with running_console(tokens=store) as (app, base):
        link = base + 'remotecontrol/register?token=certificate-token-1'
        status, _h, raw = call(link, machine_data(link, 'm'))
        _kind, data = read_register_answer(status, raw)
        served = call_json(data['certificateUrl'])[1]
    assert data['serverCertificates'] == served
    _check_certificate(data['serverCertificates'][0])
