# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated Duplicati server REST API (``/api/v1``, ``/health``).

Run it with the emulator CLI::

    python -m ansible_collections.duplicati.fleet.tests.emulator start server --state-dir DIR --seed-backups 3
    python -m ansible_collections.duplicati.fleet.tests.emulator stop server --state-dir DIR

or in-process (as the Agent stand-in hosts it)::

    import argparse
    from ansible_collections.duplicati.fleet.tests.emulator import httpbase, server

    parser = server.add_arguments(argparse.ArgumentParser())
    args = parser.parse_args(['--server-datafolder', folder, '--webservice-password', 'pw',
                              '--webservice-api-only', '--webservice-disable-signin-tokens=true'])
    app = server.create_app(args, httpbase.Faults())
    httpd = httpbase.make_server(app, '127.0.0.1', 8210)   # or serve_in_thread(app)
    ...
    httpd.shutdown(); httpd.server_close(); app.close()

``add_arguments(parser)`` adds the real server options (``--server-datafolder``,
``--settings-encryption-key``, ``--webservice-password``, ``--webservice-reset-jwt-config``,
``--webservice-disable-signin-tokens``, ``--webservice-enable-forever-token``,
``--webservice-pre-auth-tokens``, ``--webservice-allowed-hostnames``,
``--webservice-api-only``, ``--webservice-token-duration``, ``--disable-db-encryption``,
...) and the emulator options ``--seed-backups``,
``--run-duration``, ``--access-token-minutes``, ``--server-version`` (the emulated
release, default ``2.3.0.4``: ``ServerVersion`` of ``GET /api/v1/systeminfo``, the
``Version`` of results, ``CreatedByVersion`` of exports) and ``--started-by``
(``StartedBy`` of systeminfo: ``Server``, ``Agent`` or ``Tray icon``). A namespace built by hand works too:
missing attributes count as "not given". ``create_app(args, faults)`` returns a
``ServerApp``; ``app.describe()`` gives ``data_folder``, ``database``, ``password`` (the
generated one, when no password was given on a new database) and ``pre_shared_key`` (set only
by the Agent stand-in, random, as ``Agent/Program.cs`` sets ``PreSharedKeyFilter.PreSharedKey``);
``app.close()`` stops the task thread and closes the database.

Test control (not part of Duplicati, never under ``/api/``):

* ``GET /_emulator/state`` — backups, runs started/finished, pause state, queue, token
  families, fault counters;
* ``POST /_emulator/backup/{id}/next-result`` ``{"result": "Success|Warning|Error|Fatal"}`` —
  the outcome of that backup's next runs;
* ``POST /_emulator/faults`` ``{"error_rate": .., "latency": .., "rate_limit": ..}``.

Known limits: the real server's UI, ``/api/v2``, websockets, notifications, temporary
backups, connection strings and the other ``serversetting`` keys are not emulated;
a task cannot be aborted midway. Endpoints not listed in ``app.py`` answer 404 with an
empty body, like an unknown route of the real server.
"""

from .app import ServerApp, create_app
from .certificate import CertificateError
from .options import add_arguments

__all__ = ['CertificateError', 'ServerApp', 'add_arguments', 'create_app']
