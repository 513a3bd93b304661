# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Count test results from the structured files the test tools write, for scripts/test.sh.

  python results.py junit PATH...
      JUnit XML files, or folders of them (pytest --junit-xml, ansible-test sanity --junit,
      ansible-test units);
  python results.py integration DATA TARGET...
      ansible-test integration: DATA is its tests/output/data folder, whose integration-*.json
      lists the targets that passed; every other TARGET failed (or did not run).

Prints one line "passed failed skipped", then the names of what failed, one a line.
"""

import glob
import json
import os
import sys
import xml.etree.ElementTree as ET


def junit(paths):
    files = []
    for path in paths:
        files += sorted(glob.glob(os.path.join(path, '*.xml'))) if os.path.isdir(path) else [path]
    passed, failed, skipped = 0, [], 0
    for name in files:
        for case in ET.parse(name).getroot().iter('testcase'):
            label = '%s::%s' % (case.get('classname'), case.get('name'))
            if case.find('failure') is not None or case.find('error') is not None:
                failed.append(label)
            elif case.find('skipped') is not None:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def integration(data_dir, targets):
    done = set()
    for name in glob.glob(os.path.join(data_dir, 'integration-*.json')):
        with open(name, encoding='utf-8') as handle:
            done.update(json.load(handle).get('targets', {}))
    return len([t for t in targets if t in done]), [t for t in targets if t not in done], 0


def main(argv):
    if len(argv) >= 2 and argv[0] == 'junit':
        passed, failed, skipped = junit(argv[1:])
    elif len(argv) >= 2 and argv[0] == 'integration':
        passed, failed, skipped = integration(argv[1], argv[2:])
    else:
        sys.stderr.write(__doc__)
        return 2
    print(passed, len(failed), skipped)
    for name in failed:
        print(name)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
