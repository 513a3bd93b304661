# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Duplicati emulator: server REST API, console registration service, agent stand-in.

It behaves on the wire like the real Duplicati as described in the protocol sheet
(``docs/duplicati-protocol.md`` in the shared docs), so that what passes against it
works against the real thing. Run ``python -m ansible_collections.duplicati.fleet.tests.emulator --help``.
"""
