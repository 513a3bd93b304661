# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's side of registration, restated in Python, to check the console against.

It follows ``Duplicati/Library/RemoteControl/RegisterForRemote.cs`` (``RegisterForRemote.RegisterAsync``):
``machine_data`` is ``CreateMachineData`` (identity fields, then every non-empty query
parameter of the registration URL copied over them), ``read_register_answer`` is
``RegisterClientAsync`` and ``read_status_answer`` is ``CheckClientClaimedAsync``.
JSON keys are matched case-sensitively, as ``RegisterForRemote.JsonOptions`` does.
Failures raise ``RegistrationFailed`` with the text the agent would log.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import uuid
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit


class RegistrationFailed(Exception):
    """What the agent throws (and logs) when an answer is not usable."""


def machine_data(registration_url, machine_id, install_id=None, machine_name='host', instance_id=None,
                 version='2.3.0.4', package_type_id='linux-x64-agent.deb', operating_system='Linux', local_time=None):
    body = {
        'instanceId': instance_id or str(uuid.uuid4()),
        'machineId': machine_id,
        'machineName': machine_name,
        'installId': install_id or machine_id,
        'localTime': local_time or datetime.now().astimezone().isoformat(),
        'version': version,
        'packageTypeId': package_type_id,
        'operatingSystem': operating_system,
    }
    for key, value in parse_qsl(urlsplit(registration_url).query, keep_blank_values=True):
        if value.strip():
            body[key] = value
    return body


def _success(status):
    if not 200 <= status < 300:
        # HttpResponseMessage.EnsureSuccessStatusCode
        raise RegistrationFailed('Response status code does not indicate success: %d' % status)


def read_register_answer(status, raw):
    """('claimed', data) or ('register', data), as ``RegisterClientAsync`` decides."""
    _success(status)
    text = raw.decode('utf-8') if isinstance(raw, bytes) else raw
    if not text.strip():
        raise RegistrationFailed('Failed to read client registration data')
    doc = json.loads(text)
    if 'jwt' in doc and 'serverUrl' in doc:
        if not (doc.get('jwt') or '').strip() or not (doc.get('serverUrl') or '').strip():
            raise RegistrationFailed('Failed to obtain registration data, status message: %s' % doc.get('statusMessage'))
        return 'claimed', doc
    if 'claimLink' in doc and 'statusLink' in doc:
        for key in ('retrySeconds', 'maxRetries', 'maxLifetimeSeconds'):
            if not isinstance(doc.get(key), int) or isinstance(doc.get(key), bool):
                # System.Text.Json cannot bind a non-number to an int
                raise RegistrationFailed('The JSON value could not be converted: %s' % key)
        return 'register', doc
    raise RegistrationFailed('Failed to read client registration data')


def read_status_answer(status, raw):
    """The claimed data, as ``CheckClientClaimedAsync`` returns it."""
    _success(status)
    doc = json.loads(raw.decode('utf-8') if isinstance(raw, bytes) else raw)
    success = doc.get('success', False)  # a missing bool binds as false
    if not isinstance(success, bool):
        raise RegistrationFailed('The JSON value could not be converted: success')
    if not success:
        raise RegistrationFailed('Failed to claim machine: %s' % doc.get('statusMessage'))
    return doc
