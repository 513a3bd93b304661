# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line of the package builder; see the package docstring."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import sys

from . import BuildError, ReleaseError, StandinError, build_packages
from .release import CHANNELS, DEFAULT_CHANNEL, DEFAULT_VERSION


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m ansible_collections.duplicati.fleet.tests.emulator.packaging',
                                     description='Build the stand-in duplicati-agent and duplicati .deb packages.')
    parser.add_argument('--out', required=True, help='folder for the packages and latest-v2.json')
    parser.add_argument('--version', default=DEFAULT_VERSION, help='release version (default %(default)s)')
    parser.add_argument('--channel', default=DEFAULT_CHANNEL, choices=CHANNELS)
    parser.add_argument('--date', help='release date YYYY-MM-DD (default: today, UTC)')
    parser.add_argument('--base-url', help='where the packages will be downloaded from '
                                           '(default https://updates.duplicati.com/<channel>)')
    args = parser.parse_args(argv)
    try:
        built = build_packages(args.out, args.version, args.channel, args.date, args.base_url)
    except (BuildError, ReleaseError, StandinError, OSError) as exc:
        sys.stderr.write('error: %s\n' % exc)
        return 1
    print(json.dumps(built, indent=2, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
