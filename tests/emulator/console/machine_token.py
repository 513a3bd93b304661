# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The machine JWT the console gives an agent at registration.

The agent treats it as opaque: it stores it as ``jwt`` in agent.json (its presence
means "registered": ``Duplicati/Agent/Program.cs`` ``RegisterAsync``) and sends it back as ``token`` in the
websocket ``auth`` message (``AuthMessage``, ``Duplicati/Library/RemoteControl/ExchangeDataTypes.cs``). Its content is the
console's business and not in Duplicati's source: modelled on the console's observed answers; this console
signs HS256 with a key that lives only in the process memory, so ``verify`` tells tests
whether a token in some agent.json really came from this console.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import secrets
import time
import uuid

import jwt

ISSUER = 'duplicati-console-emulator'
AUDIENCE = 'remotecontrol'
LIFETIME_SECONDS = 365 * 24 * 3600


class MachineTokenIssuer(object):

    def __init__(self, key=None):
        self._key = key or secrets.token_bytes(32)

    def issue(self, body, registration_id, token_name):
        """A fresh signed token for the machine described by ``body``."""
        now = int(time.time())
        claims = {
            'iss': ISSUER,
            'aud': AUDIENCE,
            'sub': body['machineId'],
            'iat': now,
            'nbf': now,
            'exp': now + LIFETIME_SECONDS,
            'jti': uuid.uuid4().hex,
            'mid': body['machineId'],
            'iid': body['installId'],
            'mnm': body.get('machineName'),
            'rid': registration_id,
            'tkn': token_name,
        }
        return jwt.encode(claims, self._key, algorithm='HS256')

    def verify(self, token):
        """The claims of a token this console issued; raises jwt.InvalidTokenError otherwise."""
        return jwt.decode(token, self._key, algorithms=['HS256'], audience=AUDIENCE, issuer=ISSUER)
