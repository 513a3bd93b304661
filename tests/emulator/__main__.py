# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line of the emulator.

``serve COMPONENT [options]`` runs one emulated service in the foreground.
``start COMPONENT --state-dir DIR [options]`` runs it in the background, waits until it
answers, and prints one JSON object (``url``, ``pid``, ``pid_file`` and whatever the
component reports, such as the data folder). ``stop --state-dir DIR`` ends it.

COMPONENT is ``server`` (the Duplicati server REST API) or ``console`` (the registration
service of the Duplicati console).
"""

import argparse
import importlib
import json
import os
import signal
import subprocess
import sys
import time

COMPONENTS = ('server', 'console')


def _component(name):
    return importlib.import_module('%s.%s' % (__package__, name))


def _parser():
    parser = argparse.ArgumentParser(prog='duplicati-emulator', description=__doc__.split('\n\n', maxsplit=1)[0])
    commands = parser.add_subparsers(dest='command', required=True)
    for command in ('serve', 'start'):
        sub = commands.add_parser(command)
        comps = sub.add_subparsers(dest='component', required=True)
        for name in COMPONENTS:
            comp = comps.add_parser(name)
            comp.add_argument('--host', default='127.0.0.1')
            comp.add_argument('--port', type=int, default=0, help='0 picks a free port')
            comp.add_argument('--ready-file', help='write the JSON description here once listening')
            comp.add_argument('--error-rate', type=float, default=0.0, help='share of requests answered 503')
            comp.add_argument('--latency', type=float, default=0.0, help='seconds added to every request')
            comp.add_argument('--rate-limit', type=float, default=0.0, help='requests/s before 429 + Retry-After')
            comp.add_argument('--seed', type=int, default=None, help='seed of the fault injection')
            comp.add_argument('--max-lifetime', type=float, default=0,
                              help='stop by itself after this many seconds (0: run until stopped)')
            if command == 'start':
                comp.add_argument('--state-dir', required=True, help='pid file, log and ready file go here')
            _component(name).add_arguments(comp)
    stop = commands.add_parser('stop')
    stop.add_argument('--state-dir', required=True)
    stop.add_argument('component', choices=COMPONENTS)
    return parser


def serve(args):
    from .httpbase import Faults, make_server
    module = _component(args.component)
    faults = Faults(args.error_rate, args.latency, args.rate_limit, args.seed)
    app = module.create_app(args, faults)
    httpd = make_server(app, args.host, args.port)
    host, port = httpd.server_address[0], httpd.server_address[1]
    info = {'component': args.component, 'pid': os.getpid(),
            'url': '%s://%s:%d/' % (httpd.scheme, host if ':' not in host else '[%s]' % host, port), 'port': port}
    info.update(getattr(app, 'describe', dict)())
    if args.ready_file:
        # it may carry the generated password: private to the user
        tmp = args.ready_file + '.tmp'
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as handle:
            json.dump(info, handle)
        os.replace(tmp, args.ready_file)

    def _terminate(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, _terminate)
    if args.max_lifetime:
        import threading
        timer = threading.Timer(args.max_lifetime, httpd.shutdown)
        timer.daemon = True
        timer.start()
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        getattr(app, 'close', lambda: None)()
    return 0


def start(args, argv):
    state = os.path.abspath(args.state_dir)
    os.makedirs(state, mode=0o700, exist_ok=True)
    ready = os.path.join(state, '%s.json' % args.component)
    if os.path.exists(ready):
        os.unlink(ready)
    serve_argv = ['serve' if a == 'start' else a for a in argv]
    # drop --state-dir VALUE / --state-dir=VALUE, add --ready-file
    cleaned, skip = [], False
    for arg in serve_argv:
        if skip:
            skip = False
            continue
        if arg == '--state-dir':
            skip = True
            continue
        if arg.startswith('--state-dir='):
            continue
        cleaned.append(arg)
    cleaned += ['--ready-file', ready]
    log = open(os.path.join(state, '%s.log' % args.component), 'ab')
    proc = subprocess.Popen([sys.executable, '-m', __package__] + cleaned, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if os.path.exists(ready):
            with open(ready) as handle:
                info = json.load(handle)
            info['pid_file'] = os.path.join(state, '%s.pid' % args.component)
            with open(info['pid_file'], 'w') as handle:
                handle.write(str(proc.pid))
            print(json.dumps(info))
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    sys.stderr.write('the emulated %s did not start; see %s\n' % (args.component, log.name))
    return 1


def stop(args):
    pid_file = os.path.join(os.path.abspath(args.state_dir), '%s.pid' % args.component)
    try:
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
    except (IOError, OSError, ValueError):
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
        for dummy in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    os.unlink(pid_file)
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if args.command == 'serve':
        return serve(args)
    if args.command == 'start':
        return start(args, argv)
    return stop(args)


if __name__ == '__main__':
    sys.exit(main())
