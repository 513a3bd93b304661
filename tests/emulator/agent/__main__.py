# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``duplicati-agent`` stand-in: ``run``, ``register [url]`` and ``clear`` of Duplicati master.

See ``Duplicati/Agent/Program.cs`` (``MainAsync``, ``RunAgentAsync``, ``RegisterAsync``). Order of work, as in the real one:
preload key ``agent`` (before parsing), parse, then for ``run``/``register``: open the data
folder (installation.txt, machineid.txt), load agent.json, register when it holds no JWT,
save agent.json, and (``run`` without ``--agent-register-only``) host the emulated server
in-process with the arguments ``StartLocalServerAsync`` builds, until SIGTERM. The websocket
link to the console is not emulated.

Exit codes: 0; 2 with ``ErrorID:``/``Message:`` for user errors; 1 for any other error and
for command-line errors; 134 for an error before parsing (an unhandled .NET exception).
"""

import datetime
import os
import secrets
import sys
import time

from . import cmdline, preload
from .datafolder import (allow_insecure_datafolder, default_storage_folder, install_dir, machine_id, install_id,
                         open_data_folder, portable_mode, resolve_data_folder)
from .errors import CommandLineError, UserInformationError

ROOT = 'duplicati-agent'
VERSION = '2.3.0.109'
SETTINGS_FILENAME = 'agent.json'
SETTINGS_ENCRYPTION_KEY_ENV = 'SETTINGS_ENCRYPTION_KEY'
DISABLED_API_EXTENSIONS = ('v1:websocket', 'v1:websocket:authenticate', 'v1:subscribe:legacystatus', 'v1:subscribe:backuplist',
                           'v1:subscribe:serversettings', 'v1:subscribe:progress', 'v1:subscribe:taskqueue',
                           'v1:subscribe:taskcompleted', 'v1:subscribe:notifications', 'v1:subscribe:remotecontrol')
SECRET_PROVIDER_CACHE = ('None', 'InMemory', 'Persistent')
AGENT_TAG = 'Duplicati.Agent.Program'


def log(level, tag, event, message):
    """A ``LogEntry`` line: ``yyyy-MM-dd HH:mm:ss zz - [Level-Tag-Event]: message``."""
    now = datetime.datetime.now().astimezone()
    offset = int(now.utcoffset().total_seconds() // 3600)
    full_tag = tag if '.' in tag else 'Duplicati.Library.RemoteControl.' + tag
    sys.stdout.write('%s %s%02d - [%s-%s-%s]: %s\n' % (now.strftime('%Y-%m-%d %H:%M:%S'), '-' if offset < 0 else '+', abs(offset),
                                                       level, full_tag, event, message))
    sys.stdout.flush()


class Context(object):
    def __init__(self, process_args, environ):
        self.process_args = process_args
        self.environ = environ
        self.installdir = install_dir(environ)
        self._settings_file = None

    def default_settings_file(self):
        if self._settings_file is None:
            folder = default_storage_folder(SETTINGS_FILENAME, self.process_args, self.environ, True, self.installdir)
            self._settings_file = os.path.join(folder, SETTINGS_FILENAME)
        return self._settings_file

    def identity(self, folder):
        from .registration import INSTANCE_ID  # noqa: F401 (one id per process)
        return {
            'machineId': machine_id(folder),
            'machineName': _machine_name(),
            'installId': install_id(folder),
            'version': _version(self.installdir),
            'packageTypeId': _package_type_id(self.installdir),
            'operatingSystem': _operating_system(),
        }


def _machine_name():
    """``MachineNameReader.GetMachineName``: ``scutil --get ComputerName`` on macOS (1 s, trimmed, ignored when it
    fails or is blank), else ``Environment.MachineName`` (the host name up to the first dot)."""
    import socket
    import subprocess
    if sys.platform == 'darwin':
        try:
            done = subprocess.run(['scutil', '--get', 'ComputerName'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  timeout=1, check=False)
            if done.returncode == 0 and done.stdout.strip():
                return done.stdout.decode('utf-8', 'replace').strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return socket.gethostname().split('.')[0]


def _operating_system():
    if sys.platform.startswith('win'):
        return 'Windows'
    if sys.platform.startswith('linux'):
        return 'Linux'
    if sys.platform == 'darwin':
        return 'MacOS'
    return 'Unknown'


def _package_type_id(installdir):
    try:
        with open(os.path.join(installdir, 'package_type_id.txt'), encoding='utf-8-sig') as handle:
            for line in handle.read().splitlines():
                if line.strip():
                    return line.strip()
    except (IOError, OSError):
        pass
    return ''


# AutoUpdateSettings.SignKeys: the public keys this build trusts, one RSA key XML a line (the
# package build writes the file beside the stand-in; a checkout has none and trusts no manifest)
SIGN_KEYS_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'AutoUpdateSignKeys.txt')


def _version(installdir):
    """``UpdaterManager.ReadInstalledManifest``: the Version of ``autoupdate.manifest`` in the
    install dir when a ``//SIGJSONv1:`` signature of a trusted key holds, else master's (the
    assembly version ``SelfVersion`` falls back to)."""
    import json
    from ..codecs import jsonsignature
    try:
        with open(SIGN_KEYS_FILE, encoding='utf-8') as handle:
            trusted = [line.strip() for line in handle if line.strip()]
        with open(os.path.join(installdir, 'autoupdate.manifest'), 'rb') as handle:
            valid, content = jsonsignature.verify(handle.read(), trusted)
        value = json.loads(content.decode('utf-8-sig')).get('Version') if valid else None
        if isinstance(value, str) and value:
            return value
    except (IOError, OSError, ValueError, AttributeError):
        pass
    return VERSION


def _commands(ctx):
    from .registration import agent_default_registration_url, default_registration_url
    env = ctx.environ
    settings_file = cmdline.Option('--agent-settings-file', 'file', ctx.default_settings_file, 'The file to use for the agent settings')
    passphrase = cmdline.Option('--agent-settings-file-passphrase', 'string', lambda: None, 'The passphrase for the agent settings file')
    provider = cmdline.Option('--secret-provider', 'string', lambda: None, 'The secret provider to use')
    pattern = cmdline.Option('--secret-provider-pattern', 'string', lambda: '$', 'The secret provider pattern')
    run = cmdline.Command('run', 'Runs the agent', [
        cmdline.Option('--agent-registration-url', 'string', lambda: agent_default_registration_url(env), 'The server URL to connect to'),
        settings_file, passphrase,
        cmdline.Option('--agent-register-only', 'bool', lambda: False, 'Only register the agent, then exit'),
        cmdline.Option('--webservice-interface', 'string', lambda: 'loopback', 'The interface to listen on for the webserver'),
        cmdline.Option('--webservice-port', 'string', lambda: '8210', 'The port to listen on for the webserver'),
        cmdline.Option('--webservice-password', 'string', lambda: None, 'The password for the webserver'),
        cmdline.Option('--settings-encryption-key', 'string', lambda: None, 'The encryption key for the database settings'),
        cmdline.Option('--windows-eventlog', 'string', lambda: '', 'The Windows event log to use as source.'),
        cmdline.Option('--disable-db-encryption', 'bool', lambda: False, 'Disable database encryption'),
        cmdline.Option('--disable-default-secret-provider', 'bool', lambda: False, 'Disable the default secret provider'),
        cmdline.Option('--webservice-reset-jwt-config', 'bool', lambda: True, 'Reset the JWT configuration'),
        cmdline.Option('--webservice-allowed-hostnames', 'string', lambda: '127.0.0.1', 'The allowed hostnames for the webserver'),
        cmdline.Option('--webservice-api-only', 'bool', lambda: True, 'Only allow API access to the webserver'),
        cmdline.Option('--webservice-disable-signin-tokens', 'bool', lambda: True, 'Disable signin tokens for the webserver'),
        cmdline.Option('--ping-pong-keepalive', 'bool', lambda: False, 'Enable ping-pong keepalive'),
        cmdline.Option('--disable-pre-shared-key', 'bool', lambda: False, 'Disable the pre-shared key'),
        cmdline.Option('--keep-webservice-password', 'bool', lambda: False, 'Keep the webserver password'),
        provider,
        cmdline.Option('--secret-provider-cache', SECRET_PROVIDER_CACHE, lambda: 'None', 'The secret provider cache level'),
        pattern,
        cmdline.Option('--portable-mode', 'bool', lambda: portable_mode(ctx.process_args, env), 'Use portable mode'),
        cmdline.Option('--server-datafolder', 'dir', lambda: resolve_data_folder(ctx.process_args, env, ctx.installdir)[0],
                       'The datafolder to use for locating the database and storing configuration'),
        cmdline.Option('--allow-insecure-datafolder', 'bool', lambda: False, 'Allow the data folder without restricted permissions'),
    ])
    clear = cmdline.Command('clear', 'Clears the agent settings', [settings_file])
    register = cmdline.Command('register', 'Registers the agent and exits', [settings_file, passphrase, provider, pattern],
                               argument=('agent-registration-url', lambda: default_registration_url(env)))
    return [run, clear, register]


def _resolve_secrets(values):
    if values.get('secret_provider'):
        raise UserInformationError('Secret providers are not available in the emulated agent', 'SecretProviderNotSupported')


def run_agent(ctx, values):
    """``RunAgentAsync``."""
    from .settings import AgentSettings
    env = ctx.environ
    if not (values.get('settings_encryption_key') or '').strip():
        values['settings_encryption_key'] = env.get(SETTINGS_ENCRYPTION_KEY_ENV)
    folder = open_data_folder(ctx.process_args, env, ctx.installdir)  # new ApplicationSettings()
    _resolve_secrets(values)
    password = values.get('webservice_password')
    if values.get('keep_webservice_password'):
        if password is not None and password.strip():
            raise UserInformationError('Cannot use --keep-webservice-password with a provided password', 'KeepWebservicePasswordWithPassword')
    elif password is None or not password.strip() or password.lower() == 'random':
        values['webservice_password'] = secrets.token_hex(64).upper()
    psk = None if values.get('disable_pre_shared_key') else secrets.token_hex(64).upper()

    log('Information', AGENT_TAG, 'AgentStarting', 'Starting agent')
    settings_path = os.path.abspath(values['agent_settings_file'])
    settings = AgentSettings.load(settings_path, values.get('agent_settings_file_passphrase'))
    if not settings.registered:
        settings = _register(ctx, values, settings, folder)
    if values.get('agent_register_only'):
        log('Information', AGENT_TAG, 'ClientRegistered', 'Client registered, exiting')
        return 0
    return _host_server(ctx, values, settings, folder, psk)


def _register(ctx, values, settings, folder):
    """``RegisterAsync``: register, wait for the claim, save agent.json."""
    from .registration import Registration
    log('Information', AGENT_TAG, 'ClientNoJWT', 'No JWT found in settings, starting in registration mode')
    registration = Registration(values['agent_registration_url'], ctx.identity(folder), ctx.environ, log)
    data, claimed = registration.register()
    if data is not None:
        log('Information', AGENT_TAG, 'ClientRegistered', 'Machine registered, claim it by visiting: %s' % data['claimLink'])
        claimed = registration.claim(data)
    log('Information', AGENT_TAG, 'ClientClaimed', 'Machine claimed, saving JWT')
    settings.jwt = claimed['jwt']
    settings.server_url = claimed['serverUrl']
    settings.settings_encryption_key = claimed['localEncryptionKey']
    settings.server_certificates = claimed['serverCertificates']
    settings.certificate_url = claimed['certificateUrl']
    settings.save()
    if claimed.get('settings'):
        # RegisterAsync (Duplicati/Agent/Program.cs, 2.3.0.1 stable, 2.3.0.100 canary and later) awaits
        # OnControlAsync(ControlMessage.CreateSettingsControlMessage(settings)) after Settings.Save();
        # OnControlAsync awaits WaitForServerAsync, which polls Server.Program.DuplicatiWebserver every
        # 500 ms until the shutdown token is cancelled. The local server is only started by
        # StartLocalServerAsync after RegisterAsync has returned, so the agent waits, silently,
        # until it is stopped: with --agent-register-only as well as in the service's run.
        while True:
            time.sleep(3600)
    return settings


def hosted_server_arguments(values, settings):
    """The arguments ``StartLocalServerAsync`` passes to the hosted server (empty values dropped)."""
    key = values.get('settings_encryption_key')
    if not (key or '').strip():
        key = settings.settings_encryption_key if (settings.settings_encryption_key or '').strip() else None

    def encode(option, value):
        if isinstance(value, bool):
            value = 'True' if value else 'False'
        return None if value is None or not str(value).strip() else '%s=%s' % (option, value)

    args = [
        encode('--webservice-interface', values['webservice_interface']),
        encode('--webservice-password', values['webservice_password']),
        encode('--webservice-port', values['webservice_port']),
        encode('--webservice-reset-jwt-config', values['webservice_reset_jwt_config']),
        encode('--webservice-allowed-hostnames', values['webservice_allowed_hostnames']),
        encode('--webservice-api-only', values['webservice_api_only']),
        encode('--webservice-disable-signin-tokens', values['webservice_disable_signin_tokens']),
        encode('--disable-db-encryption', values['disable_db_encryption']),
        encode('--disable-default-secret-provider', values['disable_default_secret_provider']),
        encode('--settings-encryption-key', key),
        encode('--webservice-disable-api-extensions', ','.join(DISABLED_API_EXTENSIONS)),
        encode('--allow-insecure-datafolder', values['allow_insecure_datafolder']),
    ]
    return [a for a in args if a]


def _host_server(ctx, values, settings, folder, psk):
    from . import server_standin
    args = hosted_server_arguments(values, settings)
    try:
        namespace = server_standin.server_arguments(args, ctx.environ, ctx.process_args)
    except ImportError as exc:
        raise RuntimeError('The emulated server (tests/emulator/server) is not available: %s' % exc)
    namespace.server_datafolder = folder
    namespace.pre_shared_key = psk
    namespace.origin = 'Agent'
    # the hosted server is the agent's own build: same release, StartedBy "Agent"
    namespace.started_by = 'Agent'
    from ..server import systeminfo
    try:
        systeminfo.parse_release(_version(ctx.installdir))
        namespace.server_version = _version(ctx.installdir)
    except ValueError:
        pass  # a release the emulated server does not know keeps its default
    note = ('The remote-control connection to %s is not emulated; the agent only hosts the local server'
            % (settings.server_url or 'the console'))
    return server_standin.serve(namespace, 8210, extra_lines=[note])


def clear(values):
    path = values['agent_settings_file']
    if os.path.isfile(path):
        os.unlink(path)
    return 0


def main(argv=None, environ=None):
    environ = os.environ if environ is None else environ
    process_args = list(sys.argv[1:] if argv is None else argv)
    ctx = Context(process_args, environ)
    commands = _commands(ctx)
    try:
        folder, dummy = resolve_data_folder(process_args, environ, ctx.installdir)
        args, dummy = preload.configure(process_args, 'agent', folder, ctx.installdir, environ,
                                        portable_mode(process_args, environ), allow_insecure_datafolder(process_args, environ, ctx.installdir))
    except UserInformationError as exc:
        sys.stderr.write('Unhandled exception. Duplicati.Library.Interface.UserInformationException: %s\n' % exc.message)
        return 134
    try:
        try:
            command, values = cmdline.parse(ROOT, commands, args)
        except cmdline.HelpRequested as exc:
            sys.stdout.write(cmdline.help_text(ROOT, 'Duplicati Agent', commands, exc.command))
            return 0
        except cmdline.VersionRequested:
            sys.stdout.write(VERSION + '\n')
            return 0
        except CommandLineError as exc:
            for message in exc.messages:
                sys.stderr.write(message + '\n')
            sys.stdout.write('\n' + cmdline.help_text(ROOT, 'Duplicati Agent', commands, None))
            return 1
        if command.name == 'clear':
            return clear(values)
        if command.name == 'register':
            values = register_values(values, environ)
        return run_agent(ctx, values)
    except UserInformationError as exc:
        sys.stdout.write('ErrorID: %s\nMessage: %s\n' % (exc.help_id, exc.message))
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # pylint: disable=broad-except
        sys.stdout.write('Exception: %s: %s\n' % (type(exc).__name__, exc))
        return 1


def register_values(values, environ):
    """``RegisterAgentAsync``: ``run --agent-register-only`` with fixed values for the rest."""
    from .registration import agent_default_registration_url
    url = values['agent_registration_url']
    return {
        'agent_registration_url': url if (url or '').strip() else agent_default_registration_url(environ),
        'agent_settings_file': values['agent_settings_file'],
        'agent_settings_file_passphrase': values['agent_settings_file_passphrase'],
        'agent_register_only': True,
        'webservice_interface': 'loopback', 'webservice_port': '8210', 'webservice_password': None,
        'settings_encryption_key': None, 'windows_eventlog': '', 'disable_db_encryption': False,
        'disable_default_secret_provider': False, 'webservice_reset_jwt_config': False,
        'webservice_allowed_hostnames': '', 'webservice_api_only': True, 'webservice_disable_signin_tokens': True,
        'ping_pong_keepalive': False, 'disable_pre_shared_key': False, 'keep_webservice_password': False,
        'secret_provider': values['secret_provider'], 'secret_provider_cache': 'None',
        'secret_provider_pattern': values['secret_provider_pattern'], 'allow_insecure_datafolder': False,
    }


if __name__ == '__main__':
    sys.exit(main())
