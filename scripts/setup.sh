#!/usr/bin/env bash
# Create or refresh the virtualenv with everything the tests, the demo and the benchmarks
# need, and let `ansible-test sanity` bootstrap pip without its download site.
set -euo pipefail
. "$(dirname "$0")/common.sh"

PY=${PYTHON_FOR_VENV:-python3}
stamp=$VENV/.requirements.sha256
want=$(cat "$REPO/requirements.txt" "$REPO/tests/requirements.txt" | sha256sum | cut -d' ' -f1)
if [ ! -x "$PYTHON" ]; then
  "$PY" -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$PYTHON" -m pip install -q --disable-pip-version-check -U pip
  "$PYTHON" -m pip install -q --disable-pip-version-check -r "$REPO/tests/requirements.txt"
  echo "$want" > "$stamp"
fi

pip_shim "$VENV" >/dev/null
echo "venv ready: $("$VENV/bin/ansible" --version | sed -n 1p)"
