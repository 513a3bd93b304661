# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTPS to a server with its own certificate: pinned by thumbprint, as ServerUtil pins it.

The emulated server is started with ``--webservice-sslcertificatefile`` (a PKCS#12 file
made here) and serves HTTPS with the certificate it stored in its database
(``server-ssl-certificate``). A client that can read that database pins the
certificate's SHA1 thumbprint (ServerUtil ``Connection.ConnectAsync``); without it,
the self-signed certificate is refused unless ``validate_certs`` is off or the
thumbprint is given in ``host_certificate``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import hashlib

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import auth
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.tests.unit.plugins.module_utils.emulated_server import PASSWORD, client, server

PFX_PASSWORD = 'pfx-password'


def _pfx(path, name=u'127.0.0.1'):
    """A self-signed certificate with its key as a PKCS#12 file; returns its SHA1 thumbprint."""
    pytest.importorskip('cryptography')
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b'server', key, cert, None, serialization.BestAvailableEncryption(PFX_PASSWORD.encode('utf-8'))))
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


@pytest.fixture
def https_server(tmp_path):
    pfx = tmp_path / 'server.pfx'
    thumbprint = _pfx(pfx)
    folder = tmp_path / 'data'
    folder.mkdir()
    with server('--seed-backups', '1', '--server-datafolder', str(folder), '--webservice-sslcertificatefile', str(pfx),
                '--webservice-sslcertificatepassword', PFX_PASSWORD) as h:
        assert h.url.startswith('https://')
        yield h, str(folder), thumbprint


def test_the_certificate_stored_in_the_server_database_is_pinned(https_server):
    h, folder, thumbprint = https_server
    c = client(h, server_data_folder=folder)
    assert c.transport.host_certificates == (thumbprint,)
    assert len(c.request('GET', 'backups')) == 1
    assert c.auth.method == auth.METHOD_SIGNIN


def test_a_given_thumbprint_is_accepted_in_any_spelling(https_server):
    h, folder, thumbprint = https_server
    spelled = ':'.join(thumbprint[i:i + 2] for i in range(0, 40, 2)).lower()
    assert len(client(h, password=PASSWORD, host_certificate=[spelled]).request('GET', 'backups')) == 1


def test_another_certificate_is_refused_before_anything_is_sent(https_server, tmp_path):
    h, folder, thumbprint = https_server
    other = _pfx(tmp_path / 'other.pfx')
    mark = len(h.app.log)
    with pytest.raises(DuplicatiError) as err:
        client(h, password=PASSWORD, host_certificate=[other]).request('GET', 'backups')
    assert 'is not one of the pinned certificates' in str(err.value) and thumbprint in str(err.value)
    assert 'host_certificate' in str(err.value)
    assert h.app.log[mark:] == []  # the password never left the client
    with pytest.raises(DuplicatiError, match='could not be verified'):
        client(h, password=PASSWORD).request('GET', 'backups')  # no pin, no CA: the self-signed certificate is refused


def test_a_password_turns_the_database_pin_off_as_in_serverutil(https_server):
    h, folder, thumbprint = https_server
    assert client(h, server_data_folder=folder).transport.host_certificates == (thumbprint,)
    assert client(h, server_data_folder=folder, password='x').transport.host_certificates == ()


def test_bad_thumbprint_is_a_clear_error(https_server):
    h, dummy, dummy2 = https_server
    with pytest.raises(DuplicatiError, match='Invalid certificate thumbprint'):
        client(h, host_certificate=['not-a-hash'])
