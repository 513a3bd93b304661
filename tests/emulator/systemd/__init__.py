# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A ``systemctl`` stand-in for hosts without systemd (the local fleet of the benchmark, the local role target).

It answers the ``systemctl`` verbs the collection uses, with systemd's output and exit codes, for unit files under
a root folder (``$DUPLICATI_EMULATOR_SYSTEMD_ROOT``, one per emulated host):

* unit files: ``<root>/etc/systemd/system/<unit>`` or ``<root>/lib/systemd/system/<unit>``;
* state: ``<root>/state/<unit>`` with ``ActiveState=`` and ``UnitFileState=`` lines, written atomically.

It imports nothing but ``os`` and ``sys``, so that it starts about as fast as Python can.

``show UNIT -p A,B`` prints ``A=value`` lines (``LoadState``, ``ActiveState``, ``UnitFileState``,
``EnvironmentFiles`` as ``path (ignore_errors=yes|no)``, ``ExecStart`` raw); ``is-active`` prints ``active`` (exit 0)
or ``inactive`` (exit 3); ``is-enabled`` prints ``enabled`` (exit 0) or ``disabled`` (exit 1), and for an unknown
unit ``Failed to get unit file state for UNIT: No such file or directory`` (exit 1); ``start``, ``stop``,
``restart``, ``enable``, ``disable`` change the state (exit 0; an unknown unit: ``Failed to start UNIT: Unit UNIT
not found.``, exit 5); ``daemon-reload`` does nothing.

Starting a unit only records it as active: the stand-in runs no service process. What is emulated is the service
manager's interface, which is all the modules see.
"""
