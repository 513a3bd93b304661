# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``duplicati-server`` stand-in (package ``duplicati``), and the server start the agent shares.

Like ``Server.Program.Main`` (``Duplicati/Server/Program.cs``, ``ApplyEnvironmentVariables``): preload key ``server`` is applied first
(env only where unset, args only where their name is not on the command line); then every server
option missing from the command line is taken from env ``DUPLICATI__<NAME>`` (upper case, ``-``
as ``_``), and ``--settings-encryption-key`` from env ``SETTINGS_ENCRYPTION_KEY``. The command line
wins. The emulated server of ``tests/emulator/server`` then serves on ``--webservice-interface``
(default ``loopback``) and ``--webservice-port`` (default 8200), over HTTPS with
``--webservice-sslcertificatefile`` and ``--webservice-sslcertificatepassword``, until SIGTERM.
"""

import argparse
import os
import signal
import sys

from . import preload
from .datafolder import allow_insecure_datafolder, install_dir, portable_mode, resolve_data_folder
from .errors import UserInformationError

ENV_PREFIX = 'DUPLICATI__'
SETTINGS_ENCRYPTION_KEY_ENV = 'SETTINGS_ENCRYPTION_KEY'
# options of the emulated server that the real server does not have: never read from DUPLICATI__*
EMULATOR_ONLY_OPTIONS = ('pre-shared-key', 'seed-backups', 'run-duration', 'access-token-minutes', 'help')
DEFAULT_PORT = 8200


def _server_module():
    import importlib
    return importlib.import_module(__package__.rsplit('.', 1)[0] + '.server')


def server_parser(prog='duplicati-server'):
    parser = argparse.ArgumentParser(prog=prog, allow_abbrev=False)
    _server_module().add_arguments(parser)
    return parser


def _option_names(parser):
    names = []
    for action in parser._actions:  # pylint: disable=protected-access
        for option in action.option_strings:
            if option.startswith('--') and option[2:] not in EMULATOR_ONLY_OPTIONS:
                names.append(option[2:])
    return names


def _present(args, name):
    opt = '--' + name
    return any(a == opt or a.startswith(opt + '=') for a in args)


def apply_environment_options(args, parser, environ):
    """``ApplyEnvironmentVariables``: env ``DUPLICATI__<NAME>`` for each server option not given."""
    result = list(args)
    for name in _option_names(parser):
        if _present(result, name):
            continue
        value = environ.get(ENV_PREFIX + name.replace('-', '_').upper())
        if value is not None and value.strip():
            result.append('--%s=%s' % (name, value))
    key = environ.get(SETTINGS_ENCRYPTION_KEY_ENV)
    if key and key.strip() and not _present(result, 'settings-encryption-key') and 'settings-encryption-key' in _option_names(parser):
        result.append('--settings-encryption-key=%s' % key)
    return result


def server_arguments(args, environ, process_args=None):
    """Preload ``server`` + env options applied to ``args``; returns ``(parsed namespace, preload db map)``."""
    process_args = list(args if process_args is None else process_args)
    installdir = install_dir(environ)
    folder, dummy = resolve_data_folder(process_args, environ, installdir)
    args, db = preload.configure(list(args), 'server', folder, installdir, environ,
                                 portable_mode(process_args, environ), allow_insecure_datafolder(process_args, environ, installdir))
    parser = server_parser()
    args = apply_environment_options(args, parser, environ)
    # The real server knows options the emulated one does not model (for example
    # --disable-default-secret-provider, --webservice-disable-api-extensions,
    # --allow-insecure-datafolder): they are accepted and reported, not emulated.
    namespace, ignored = parser.parse_known_args(args)
    if ignored:
        sys.stdout.write('Options not emulated by the emulated server (ignored): %s\n'
                         % ' '.join(a.split('=', 1)[0] for a in ignored))
    namespace.preload_db_settings = db
    return namespace


def bind_address(namespace, default_port):
    """``--webservice-interface`` / ``--webservice-port`` as the host and port list to bind."""
    interface = (getattr(namespace, 'webservice_interface', None) or 'loopback').strip()
    if interface.lower() == 'loopback':
        host = '127.0.0.1'
    elif interface.lower() in ('*', 'any', 'all'):
        host = '0.0.0.0'
    else:
        host = interface.strip('[]')
    raw = getattr(namespace, 'webservice_port', None)
    ports = []
    for part in str(raw if raw not in (None, '') else default_port).split(','):
        if part.strip():
            try:
                ports.append(int(part))
            except ValueError:
                raise UserInformationError('Unable to parse the port %r' % part, 'InvalidPort')
    return interface, host, ports or [default_port]


def serve(namespace, default_port, extra_lines=()):
    """Bind the emulated server and serve until SIGTERM/SIGINT. Returns the exit code."""
    from ..httpbase import Faults, make_server
    server = _server_module()
    try:
        # the server's own certificate (server/certificate.py) is loaded here, and served by make_server
        app = server.create_app(namespace, Faults())
    except server.CertificateError as exc:
        raise UserInformationError(str(exc), 'ServerCertificate')
    interface, host, ports = bind_address(namespace, default_port)
    httpd, last_error = None, None
    for port in ports:
        try:
            httpd = make_server(app, host, port)
            break
        except OSError as exc:
            last_error = exc
    if httpd is None:
        raise UserInformationError('Unable to open a socket for listening: %s' % last_error, 'ServerStartFailedPort')
    for line in extra_lines:
        sys.stdout.write(line + '\n')
    sys.stdout.write('Server has started and is listening on %s, port %d\n' % (interface, httpd.server_address[1]))
    sys.stdout.flush()

    def stop(*_):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, stop)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        getattr(app, 'close', lambda: None)()
    return 0


def main(argv=None, environ=None):
    environ = os.environ if environ is None else environ
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        namespace = server_arguments(argv, environ)
        if not getattr(namespace, 'server_datafolder', None):
            from .datafolder import open_data_folder
            namespace.server_datafolder = open_data_folder(argv, environ)
        return serve(namespace, DEFAULT_PORT)
    except UserInformationError as exc:
        sys.stdout.write('%s\n' % exc.message)
        return 100


if __name__ == '__main__':
    sys.exit(main())
