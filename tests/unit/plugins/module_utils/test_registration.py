# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import email.message
import io
import json
import re
import socket
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import registration as reg

TOKEN = 'Sup3rSecretToken_xyz'
URL = 'https://console.example.test/remotecontrol/register?token=%s&org=acme' % TOKEN
CLAIM = {'jwt': 'eyJ.machine.token', 'serverUrl': 'wss://console.example.test/agent', 'certificateUrl': 'https://c/cert',
         'serverCertificates': [{'publicKeyHash': 'h', 'publicKey': 'pem', 'obtained': 'o', 'expiry': 'e'}],
         'localEncryptionKey': 'local-key-123', 'statusMessage': None, 'settings': None}


class Handle(object):
    def __init__(self, status, body):
        self.status, self.body = status, body
        self.headers = email.message.Message()

    def getcode(self):
        return self.status

    def read(self):
        return self.body

    def close(self):
        pass


def http_error(url, status, body=b'', headers=None):
    msg = email.message.Message()
    for name, value in (headers or {}).items():
        msg[name] = value
    return HTTPError(url, status, 'x', msg, io.BytesIO(body))


class Console(object):
    """A scripted console: each answer is (status, body-dict-or-bytes, headers) or an exception."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def __call__(self, url, data=None, headers=None, method=None, timeout=None, **kwargs):
        self.requests.append({'url': url, 'body': json.loads(data.decode('utf-8')), 'headers': headers,
                              'method': method, 'timeout': timeout})
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        status, body, headers = (answer + ({},))[:3] if len(answer) == 2 else answer
        payload = body if isinstance(body, bytes) else json.dumps(body).encode('utf-8')
        if status >= 400:
            raise http_error(url, status, payload, headers)
        return Handle(status, payload)


class Clock(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def client(console, clock=None, **kwargs):
    clock = clock or Clock()
    return reg.RegistrationClient(URL, opener=console, sleep=clock.sleep, clock=clock, jitter=lambda: 0.5, **kwargs)


def body():
    return reg.registration_body(URL, 'machine-1', 'install-1', version='2.3.0.4', package_type_id='linux-x64-agent.deb',
                                 operating_system='Linux', name='host1', instance_id='inst', local_time='t')


def test_body_has_the_agent_fields_and_the_query_parameters():
    b = body()
    assert b == {'instanceId': 'inst', 'machineId': 'machine-1', 'machineName': 'host1', 'installId': 'install-1',
                 'localTime': 't', 'version': '2.3.0.4', 'packageTypeId': 'linux-x64-agent.deb',
                 'operatingSystem': 'Linux', 'token': TOKEN, 'org': 'acme'}


def test_query_overrides_decode_skip_blanks_join_repeats_and_override_body_keys():
    url = 'https://c/r?a=1&a=2&empty=&space=+&enc=x%2By&machineName=forced'
    assert reg.query_overrides(url) == {'a': '1,2', 'enc': 'x+y', 'machineName': 'forced'}
    assert reg.registration_body(url, 'm', 'i', name='host')['machineName'] == 'forced'


def test_local_time_is_dotnet_round_trip_format():
    tz = datetime.timezone(datetime.timedelta(hours=-3, minutes=-30))
    text = reg.local_time_o(datetime.datetime(2026, 8, 22, 10, 11, 12, 123456, tz))
    assert text == '2026-08-22T10:11:12.1234560-03:30'
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}[+-]\d\d:\d\d$', reg.local_time_o())


def test_machine_name_and_os():
    assert '.' not in reg.machine_name()
    assert reg.operating_system_name('Linux') == 'Linux'
    assert reg.operating_system_name('Darwin') == 'MacOS'
    assert reg.operating_system_name('Plan9') == 'Unknown'


def test_redaction_removes_url_and_token_everywhere():
    text = 'bad link %s, token %s, quoted %s' % (URL, TOKEN, URL.replace('&', '%26'))
    out = reg.redact(text, URL)
    assert TOKEN not in out
    assert 'https://console.example.test/remotecontrol/register?token=********&org=********' in out
    assert reg.redacted_url('https://user:pw@h/p?t=abc') == 'https://********@h/p?t=********'


@pytest.mark.parametrize('bad', [None, '', 'ftp://x/y', 'not a url', 'https://h/p?t=1\nX'])
def test_bad_urls_are_refused_without_quoting_them(bad):
    with pytest.raises(reg.RegistrationError) as err:
        reg.RegistrationClient(bad)
    assert TOKEN not in str(err.value)


def test_claimed_answer():
    console = Console((200, CLAIM))
    result = client(console).register(body())
    assert result == CLAIM
    assert len(console.requests) == 1
    sent = console.requests[0]
    assert sent['method'] == 'POST' and sent['url'] == URL
    assert sent['headers']['Content-Type'].startswith('application/json')
    assert sent['body']['token'] == TOKEN


def test_claimed_answer_with_empty_jwt_quotes_status_message_redacted():
    console = Console((200, dict(CLAIM, jwt='', statusMessage='Link %s has been revoked' % URL)))
    with pytest.raises(reg.RegistrationError) as err:
        client(console).register(body())
    text = str(err.value)
    assert 'has been revoked' in text and TOKEN not in text
    assert len(console.requests) == 1


def test_revoked_link_4xx_is_final_and_redacted():
    console = Console((403, {'statusMessage': 'The registration token %s was revoked' % TOKEN}))
    with pytest.raises(reg.RegistrationError) as err:
        client(console, retries=5).register(body())
    assert len(console.requests) == 1
    assert err.value.status == 403
    assert 'was revoked' in str(err.value) and TOKEN not in str(err.value) and TOKEN not in repr(err.value.to_dict())


def test_503_and_429_bursts_are_retried_with_backoff_and_retry_after():
    clock = Clock()
    console = Console((503, b'Service Unavailable'), (429, b'Too Many', {'Retry-After': '7'}),
                      URLError(ConnectionRefusedError(111, 'refused')), (200, CLAIM))
    c = client(console, clock, retries=5)
    assert c.register(body())['jwt'] == CLAIM['jwt']
    assert len(console.requests) == 4
    # backoff 1, 2 with jitter 0.5 -> 0.75, 1.5; the 429 waits its Retry-After and does not grow the backoff
    assert clock.sleeps == [0.75, 7.0, 1.5]
    assert c.retried == 3


def test_retries_are_bounded():
    console = Console((502, b'bad gateway'))
    with pytest.raises(reg.RegistrationError) as err:
        client(console, retries=2).register(body())
    assert len(console.requests) == 3
    assert 'after 3 attempts' in str(err.value)


def test_timeout_bounds_the_waiting():
    clock = Clock()
    console = Console((429, b'', {'Retry-After': '100'}))
    with pytest.raises(reg.RegistrationError) as err:
        client(console, clock, retries=50, timeout=30).register(body())
    assert len(console.requests) == 1
    assert clock.sleeps == []
    assert 'timeout' in str(err.value)


def test_request_timeout_is_capped_by_remaining_time():
    console = Console((200, CLAIM))
    client(console, timeout=12).register(body())
    assert console.requests[0]['timeout'] == 12


def test_connection_error_message_is_redacted():
    console = Console(URLError(socket.gaierror(-2, 'Name or service not known for %s' % URL)))
    with pytest.raises(reg.RegistrationError) as err:
        client(console, retries=0).register(body())
    assert TOKEN not in str(err.value)
    assert 'connection failed' in str(err.value)


def test_non_json_answer_is_an_error():
    with pytest.raises(reg.RegistrationError, match='not a registration answer'):
        client(Console((200, b'<html>'))).register(body())
    with pytest.raises(reg.RegistrationError, match='without a token or a claim link'):
        client(Console((200, {'hello': 1}))).register(body())


def test_claim_flow_polls_the_status_link_with_the_same_body():
    clock = Clock()
    pending = {'claimLink': 'https://console/claim/abc', 'statusLink': 'https://console.example.test/status/abc',
               'retrySeconds': 2, 'maxRetries': 5, 'maxLifetimeSeconds': 60}
    console = Console((200, pending), (200, {'success': False, 'statusMessage': 'waiting'}), (200, dict(CLAIM, success=True)))
    result = client(console, clock).register(body())
    assert result['jwt'] == CLAIM['jwt']
    assert [r['url'] for r in console.requests] == [URL, 'https://console.example.test/status/abc', 'https://console.example.test/status/abc']
    assert console.requests[1]['body'] == console.requests[0]['body']
    assert clock.sleeps == [2]


@pytest.mark.parametrize('status_link', ['https://attacker.example/status/abc', 'http://console.example.test/status/abc',
                                         'https://console.example.test:8443/status/abc', 'https://console.example.test.evil/s',
                                         'https://user@attacker.example/status', '//attacker.example/status', 'not a url'])
def test_status_link_on_another_origin_is_refused_and_never_sent_the_token(status_link):
    pending = {'claimLink': 'https://console/claim/abc', 'statusLink': status_link, 'retrySeconds': 0, 'maxRetries': 3}
    console = Console((200, pending), (200, dict(CLAIM, success=True)))
    with pytest.raises(reg.RegistrationError, match='another site') as err:
        client(console, Clock()).register(body())
    assert [r['url'] for r in console.requests] == [URL]
    assert TOKEN not in str(err.value)


def test_status_link_on_the_same_origin_with_default_port_is_accepted():
    pending = {'claimLink': 'https://console/claim/abc', 'statusLink': 'HTTPS://Console.Example.Test:443/status/abc',
               'retrySeconds': 0, 'maxRetries': 3}
    console = Console((200, pending), (200, dict(CLAIM, success=True)))
    assert client(console, Clock()).register(body())['jwt'] == CLAIM['jwt']


def test_non_json_answer_names_what_was_done_once():
    with pytest.raises(reg.RegistrationError) as err:
        client(Console((200, b'<html>'))).register(body())
    assert 'with with' not in str(err.value)


@pytest.mark.parametrize('url', ['https://cönsole.example/register?token=abc', 'https://console.example/regi\u00dfter?t=1',
                                 'https://console.example/r?token=ab\x7f'])
def test_non_ascii_url_is_refused_at_once_not_retried(url):
    console = Console((200, CLAIM))
    with pytest.raises(reg.RegistrationError, match='not plain ASCII') as err:
        reg.RegistrationClient(url, opener=console).register(body())
    assert console.requests == []
    assert 'overloaded' not in str(err.value) + str(err.value.hint)


def test_claim_flow_gives_up_after_max_retries_with_the_claim_link():
    clock = Clock()
    pending = {'claimLink': 'https://console/claim/abc', 'statusLink': 'https://console.example.test/status/abc',
               'retrySeconds': 1, 'maxRetries': 3, 'maxLifetimeSeconds': 60}
    console = Console((200, pending), (200, {'success': False, 'statusMessage': 'not claimed'}))
    with pytest.raises(reg.RegistrationError) as err:
        client(console, clock).register(body())
    assert len(console.requests) == 1 + 3
    assert 'https://console/claim/abc' in str(err.value)


def test_paced_429s_do_not_count_against_retries():
    clock = Clock()
    console = Console(*([(429, b'Too Many', {'Retry-After': '1'})] * 6 + [(200, CLAIM)]))
    c = client(console, clock, retries=2)
    assert c.register(body())['jwt'] == CLAIM['jwt']
    assert clock.sleeps == [1.0] * 6


def test_429_without_retry_after_counts_against_retries():
    console = Console((429, b'Too Many'))
    with pytest.raises(reg.RegistrationError) as err:
        client(console, Clock(), retries=2).register(body())
    assert len(console.requests) == 3
    assert 'after 3 attempts' in str(err.value)


class _Done(object):
    def __init__(self, returncode, stdout):
        self.returncode = returncode
        self.stdout = stdout


def test_macos_machine_name_is_the_computer_name():
    # MachineNameReader.GetMachineNameMacOS: scutil --get ComputerName, trimmed.
    calls = []

    def run(argv, **kwargs):
        calls.append((argv, kwargs.get('timeout')))
        return _Done(0, b"  Anna's MacBook Pro\n")
    assert reg.machine_name('Darwin', run) == "Anna's MacBook Pro"
    assert calls == [(['scutil', '--get', 'ComputerName'], 1)]


@pytest.mark.parametrize('outcome', [_Done(1, b'ComputerName: not set\n'), _Done(0, b'  \n'), OSError(2, 'No such file'),
                                     reg.subprocess.TimeoutExpired(['scutil'], 1)])
def test_macos_machine_name_falls_back_to_the_host_name(monkeypatch, outcome):
    # GetMachineName: a failed, timed-out or blank scutil answer gives Environment.MachineName.
    monkeypatch.setattr(reg.socket, 'gethostname', lambda: 'anna-mbp.local')

    def run(argv, **kwargs):
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    assert reg.machine_name('Darwin', run) == 'anna-mbp'


def test_linux_machine_name_is_the_host_name_without_running_anything(monkeypatch):
    monkeypatch.setattr(reg.socket, 'gethostname', lambda: 'web-01.example.com')

    def run(argv, **kwargs):
        raise AssertionError('nothing is run on Linux')
    assert reg.machine_name('Linux', run) == 'web-01'
