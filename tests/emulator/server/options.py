# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line options of the emulated server.

Real server options keep their real names and meanings (``Duplicati/Server/WebServerLoader.cs``,
``Duplicati/Server/Program.cs``). Boolean
options follow ``Utility.ParseBoolOption``: given without a value they are true,
``true``/``1``/``on``/``yes`` are true, anything else is false. As on the real server,
every real option may also come from the environment as
``DUPLICATI__<NAME_WITH_UNDERSCORES>``; the command line wins. The settings encryption
key also falls back to ``SETTINGS_ENCRYPTION_KEY``.

There is no option for a pre-shared key: no Duplicati server takes one. Only the Agent
sets ``PreSharedKeyFilter.PreSharedKey``, to a random key in memory at each start
(``Agent/Program.cs``); the Agent stand-in does the same by setting ``pre_shared_key`` on
the namespace it builds.

Emulator-only options: ``--seed-backups``, ``--run-duration``, ``--access-token-minutes``, ``--server-version``
(the emulated release, what the real server reads from its installed manifest) and
``--started-by`` (who hosts the server: ``Server``, ``Agent`` or ``Tray icon``).
"""

import os

REAL_OPTIONS = (
    # (name, is_bool)
    ('server-datafolder', False),
    ('settings-encryption-key', False),
    ('webservice-password', False),
    ('webservice-reset-jwt-config', True),
    ('webservice-disable-signin-tokens', True),
    ('webservice-enable-forever-token', True),
    ('webservice-pre-auth-tokens', False),
    ('webservice-allowed-hostnames', False),
    ('webservice-allowedhostnames', False),
    ('webservice-api-only', True),
    ('webservice-token-duration', False),
    ('webservice-interface', False),
    ('webservice-port', False),
    ('disable-db-encryption', True),
    # WebServerLoader.OPTION_WEBSERVICE_SSLCERTIFICATEFILE / ..FILEPASSWORD: the server's own certificate, a
    # PKCS#12 file and its password (certificate.py)
    ('webservice-sslcertificatefile', False),
    ('webservice-sslcertificatepassword', False),
    ('webservice-disable-https', True),
    ('webservice-remove-sslcertificate', True),
    # accepted because the Agent forwards them (Duplicati/Agent/Program.cs StartLocalServerAsync); the emulator has no
    # secret providers, API extensions or data folder permission checks to switch
    ('disable-default-secret-provider', True),
    ('webservice-disable-api-extensions', False),
    ('allow-insecure-datafolder', True),
)


def parse_bool_option(value):
    """Utility.ParseBoolOption for a given option (None = not given)."""
    if value is None:
        return False
    if value == '':
        return True
    return value.strip().lower() in ('1', 'on', 'true', 'yes')


def add_arguments(parser):
    """Add the server options to an argparse parser (the CLI and the Agent stand-in use it)."""
    for name, is_bool in REAL_OPTIONS:
        if is_bool:
            parser.add_argument('--' + name, nargs='?', const='', default=None, metavar='BOOL')
        else:
            parser.add_argument('--' + name, default=None)
    parser.add_argument('--seed-backups', type=int, default=0, help='emulator: create N realistic backups in a new database')
    parser.add_argument('--run-duration', type=float, default=2.0, help='emulator: seconds a simulated backup run is active')
    parser.add_argument('--access-token-minutes', type=float, default=None,
                        help='emulator: access token lifetime in minutes (default: AccessTokenDurationInMinutes of jwt-config)')
    parser.add_argument('--server-version', default='2.3.0.4',
                        help='emulator: the emulated release, a version such as 2.3.0.4 or a release name such as 2.3.0.5_stable_2026-08-01')
    parser.add_argument('--started-by', default='Server', choices=('Server', 'Agent', 'Tray icon'),
                        help='emulator: StartedBy of systeminfo (the real origin of the hosting process)')
    return parser


def option(args, name):
    """The raw value of a real option: command line first, then ``DUPLICATI__<NAME>``."""
    value = getattr(args, name.replace('-', '_'), None)
    if value is None:
        value = os.environ.get('DUPLICATI__' + name.upper().replace('-', '_'))
    return value


def given(args, name):
    return option(args, name) is not None


def flag(args, name):
    return parse_bool_option(option(args, name))
