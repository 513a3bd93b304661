# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-ins for the ``duplicati-agent`` and ``duplicati-server`` executables.

``python -m ansible_collections.duplicati.fleet.tests.emulator.agent run|register|clear ...``
behaves like ``duplicati-agent`` of Duplicati master (2.3): same subcommands, options,
defaults, environment variables, preload handling, data folder, ``agent.json`` and exit
codes. ``server_standin.main`` behaves like ``duplicati-server``. Both serve the emulated
server REST API of ``tests/emulator/server``.

Files: ``cmdline.py`` (the option parser of System.CommandLine as the agent uses it),
``preload.py`` (preload.json), ``datafolder.py`` (data folder and machine identity),
``settings.py`` (agent.json), ``registration.py`` (the console registration protocol),
``hosting.py`` (the in-process hosted server), ``errors.py``.
"""
