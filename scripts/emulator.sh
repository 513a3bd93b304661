#!/usr/bin/env bash
# The Duplicati emulator (tests/emulator) from a clone, without `make`: in a fresh shell,
#   python3 -m venv ~/.venvs/duplicati-emulator
#   ~/.venvs/duplicati-emulator/bin/pip install -r tests/emulator/requirements.txt
#   PYTHON=~/.venvs/duplicati-emulator/bin/python scripts/emulator.sh start server --state-dir /tmp/duplicati-server
#   PYTHON=~/.venvs/duplicati-emulator/bin/python scripts/emulator.sh stop --state-dir /tmp/duplicati-server server
# (`scripts/emulator.sh --help` lists the components and options.) The emulator is a package of the collection,
# ansible_collections.duplicati.fleet.tests.emulator; a clone in a folder of another name is made importable under
# that name through a link in the work folder (.work, or DUPLICATI_FLEET_WORK).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
case $REPO in
  */ansible_collections/duplicati/fleet) ROOT=${REPO%/ansible_collections/duplicati/fleet} ;;
  *)
    ROOT=${DUPLICATI_FLEET_WORK:-$REPO/.work}/emulator-path
    mkdir -p "$ROOT/ansible_collections/duplicati"
    ln -sfn "$REPO" "$ROOT/ansible_collections/duplicati/fleet"
    ;;
esac
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
exec "${PYTHON:-python3}" -m ansible_collections.duplicati.fleet.tests.emulator "$@"
