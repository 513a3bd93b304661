# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``//SIGJSONv1:`` signed JSON, as ``JsonSignature.JSONSignature`` (duplicati/JsonSignature)
writes and checks it; ``UpdaterManager.CreateSignedManifest`` signs ``autoupdate.manifest``
with it and ``ReadInstalledManifest`` verifies it against ``AutoUpdateSettings.SignKeys``.

``SignAsync`` writes, per key, one line ``//SIGJSONv1: <base64 header>.<base64 signature>\\n``
before the unchanged content. The header is the System.Text.Json text of the list
``[{"Key":"alg","Value":"RS256"},{"Key":"key","Value":<public key XML>},{"Key":"typ",
"Value":"SIGJSONv1"}]``; the signature is RSA PKCS#1 v1.5 with SHA-256 over the header's
length (``uint32`` big-endian), the header and the content. ``Verify`` reads the lines that
start with ``//SIGJSONv1: `` and returns the ones whose ``alg`` and ``key`` match a trusted key
and whose signature holds; the content starts after the last signature line.
"""

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..server import dotnet_json

PREFIX = b'//SIGJSONv1: '
RSA_SHA256 = 'RS256'


def _b64_int(number):
    return base64.b64encode(number.to_bytes((number.bit_length() + 7) // 8, 'big')).decode('ascii')


def public_key_xml(key):
    """``RSA.ToXmlString(false)`` of a cryptography RSA private or public key."""
    numbers = (key.public_key() if hasattr(key, 'public_key') else key).public_numbers()
    return '<RSAKeyValue><Modulus>%s</Modulus><Exponent>%s</Exponent></RSAKeyValue>' % (_b64_int(numbers.n), _b64_int(numbers.e))


def public_key_from_xml(text):
    """The RSA public key of an ``<RSAKeyValue>`` (``RSA.FromXmlString``)."""
    def field(name):
        start = text.index('<%s>' % name) + len(name) + 2
        return int.from_bytes(base64.b64decode(text[start:text.index('</%s>' % name)]), 'big')
    return rsa.RSAPublicNumbers(field('Exponent'), field('Modulus')).public_key()


def _signed_bytes(header, content):
    return len(header).to_bytes(4, 'big') + header + content


def sign(content, private_keys):
    """``JSONSignature.SignAsync`` with RS256 for each key: the signature lines, then ``content``."""
    if content.startswith(b'//SIGJSON'):
        raise ValueError('Cannot sign data with an existing signature')
    lines = []
    for key in private_keys:
        header = dotnet_json.dumpb([{'Key': 'alg', 'Value': RSA_SHA256}, {'Key': 'key', 'Value': public_key_xml(key)},
                                    {'Key': 'typ', 'Value': 'SIGJSONv1'}])
        signature = key.sign(_signed_bytes(header, content), padding.PKCS1v15(), hashes.SHA256())
        lines.append(PREFIX + base64.b64encode(header) + b'.' + base64.b64encode(signature) + b'\n')
    return b''.join(lines) + content


def verify(data, trusted_key_xmls):
    """(number of valid signatures by a trusted key, the content after the signature lines)."""
    entries, pos = [], 0
    while data.startswith(PREFIX, pos):
        end = data.find(b'\n', pos)
        end = len(data) if end < 0 else end
        parts = data[pos + len(PREFIX):end].decode('utf-8', 'replace').split('.')
        try:
            entries.append((base64.b64decode(parts[0].strip(), validate=True), base64.b64decode(parts[1].strip(), validate=True)))
        except (IndexError, ValueError):
            break
        pos = end + 1
    content = data[pos:]
    valid = 0
    for header, signature in entries:
        try:
            values = dict((item['Key'], item['Value']) for item in json.loads(header.decode('utf-8')))
        except (ValueError, TypeError, KeyError):
            continue
        if values.get('alg') != RSA_SHA256 or values.get('typ') != 'SIGJSONv1' or values.get('key') not in trusted_key_xmls:
            continue
        try:
            public_key_from_xml(values['key']).verify(signature, _signed_bytes(header, content), padding.PKCS1v15(), hashes.SHA256())
            valid += 1
        except (InvalidSignature, ValueError):
            pass
    return valid, content
