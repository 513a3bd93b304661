# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one definition of a secret: names, URLs, masks and the values for no_log_values."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import secrets

# Every option of Duplicati whose name says password, passphrase, key, token or secret, or that
# carries a URL with a token: the names given to ``new CommandLineArgument(...)`` in Duplicati's
# backends, modules and server (``Duplicati/Library/**``, ``Duplicati/Server/**``), the agent's
# ``Duplicati/Agent/Program.cs`` options and the variables ``Duplicati/Server/Program.cs`` reads.
DUPLICATI_SECRET_OPTIONS = (
    'api-key', 'api-token', 'auth-password', 'auth-two-factor-key', 'authid', 'aws-access-key-id',
    'aws-secret-access-key', 'azure-access-key', 'azure-access-sas-token', 'cos-secret-id', 'cos-secret-key',
    'duplicati-auth-apikey', 'google-client-secret', 'google-refresh-token', 'new-passphrase',
    'office365-certificate-password', 'office365-client-secret', 'openstack-apikey', 'oss-access-key-id',
    'oss-access-key-secret', 'passphrase', 'password', 's3-password', 'secret-provider', 'send-mail-password',
    'send-telegram-api-key', 'send-xmpp-password', 'settings-encryption-key', 'ssh-key', 'storj-api-key',
    'storj-secret', 'webservice-password', 'webservice-password-init', 'webservice-pre-auth-tokens',
    'webservice-sslcertificatepassword', 'agent-registration-url', 'agent-settings-file-passphrase',
    'register-remote-control', 'DUPLICATI__WEBSERVICE_PASSWORD', 'DUPLICATI__INIT_PASSWORD',
    'DUPLICATI__REGISTER_REMOTE_CONTROL',
)
# Options whose value is a URL that may carry credentials, and their secret-holding URLs.
URL_OPTIONS = ('send-http-url', 'send-mail-url', 'http-report-status-url', 'hosturl', 'url')
SECRET_URLS = ('https://user:pa55word@example.com/path', 'https://example.com/hook?token=abcd1234efgh',
               's3://bucket/folder?auth-username=backup-user-7&auth-password=s3cr3t-pw', 'https://h/x?sig=Zm9vYmFy&x=1')


def secret_for(name):
    return 'S3cret-%s-value' % secrets.normalize_name(name)


@pytest.mark.parametrize('name', DUPLICATI_SECRET_OPTIONS)
def test_every_duplicati_secret_option_is_secret(name):
    for spelling in (name, '--' + name, name.upper().replace('-', '_')):
        assert secrets.is_secret_name(spelling)
        assert secrets.mask_argument('%s=%s' % (spelling, secret_for(name))) == '%s=%s' % (spelling, secrets.MASK)
        assert secret_for(name) in secrets.secret_values(['%s=%s' % (spelling, secret_for(name))])


@pytest.mark.parametrize('name', ('webservice-port', 'keep-time', 'backup-name', 'dbpath', 'webservice-interface',
                                  'monkey-patch', 'portable-mode', 'log-level'))
def test_plain_options_are_not_secret(name):
    assert not secrets.is_secret_name(name)
    assert secrets.mask_argument('--%s=8200' % name) == '--%s=8200' % name


def test_secret_urls_are_found_whatever_the_option():
    for name in URL_OPTIONS:
        for url in SECRET_URLS:
            assert secrets.value_has_secret_url(url)
            assert secrets.mask_argument('--%s=%s' % (name, url)) == '--%s=%s' % (name, secrets.MASK)
            masked = secrets.mask_text('cannot reach %s: refused' % url)
            for part in secrets.url_secrets(url):
                assert part not in masked
            assert masked.startswith('cannot reach ') and masked.endswith(': refused')
    assert not secrets.value_has_secret_url('https://example.com/path?page=2 and file:///tmp/x')
    assert secrets.mask_text('see http://host:8200/ngax') == 'see http://host:8200/ngax'


def test_plain_values_are_shown_and_never_hidden_everywhere():
    assert secrets.mask_argument('--allow-passphrase-change=true') == '--allow-passphrase-change=true'
    assert secrets.secret_values({'webservice-disable-signin-tokens': 'true', 'password': ''}) == set()
    assert secrets.secret_argument_names(['--require-db-encryption-key=false']) == []


def test_secret_values_walk_nested_structures():
    config = {'Backup': {'Name': 'docs', 'TargetURL': 'ftp://u:pw-in-url@host/dir',
                         'Settings': [{'Name': '--passphrase', 'Value': 'backup-passphrase'},
                                      {'Name': '--keep-time', 'Value': '5D'}]},
              'env': {'*': {'DUPLICATI__WEBSERVICE_PASSWORD': 'web-pass'}},
              'args': {'agent': ['--agent-settings-file-passphrase=agent-pass', '--webservice-port=8210']},
              'settings.passphrase': 'dotted-pass', 'pin': 1234, 'api_key': 987654}
    found = secrets.secret_values(config)
    assert {'backup-passphrase', 'web-pass', 'agent-pass', 'dotted-pass', 'pw-in-url', 'u:pw-in-url', '987654'} <= found
    assert not {'5D', '8210', 'docs', '1234'} & found


def test_masking_is_linear_in_time():
    """A value of 2 MB without white space used to take forever (a regex that backtracked)."""
    for value in ('a' * 2000000, 'a://' * 500000, 'http://x/?' + 'token=' * 300000, 'ab' * 1000000 + '://x'):
        started = time.monotonic()
        secrets.mask_text(value)
        secrets.secret_values({'env': value})
        secrets.mask_argument('--x=' + value)
        assert time.monotonic() - started < 5, 'masking %d characters took too long' % len(value)


def test_service_options_use_the_one_definition():
    args = ['--webservice-password=hunter22', '--webservice-port=1', '--Settings-Encryption-Key=abcdefgh',
            '--webservice-pre-auth-tokens=tok1,tok2', '--passphrase=pp']
    assert secrets.secret_argument_names(args) == ['--webservice-password', '--settings-encryption-key',
                                                   '--webservice-pre-auth-tokens', '--passphrase']
    assert secrets.mask_arguments(args) == ['--webservice-password=********', '--webservice-port=1',
                                            '--Settings-Encryption-Key=********', '--webservice-pre-auth-tokens=********',
                                            '--passphrase=********']


def test_a_secret_option_given_as_two_entries_hides_its_value():
    found = secrets.secret_values({'daemon_opts': ['--webservice-password', 'pw two', '--webservice-port', '8300']})
    assert 'pw two' in found and '8300' not in found
