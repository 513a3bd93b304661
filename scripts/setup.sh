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

# ansible-test creates each sanity venv without pip and fetches a get-pip script from a
# site this network cannot reach; it looks in its cache first. This stand-in bootstraps
# pip from CPython's bundled wheel, then installs the pinned pip from the package index.
pip_version=$("$PYTHON" - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cat > "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py" <<'PY'
# Offline stand-in for ansible-test's get-pip bootstrap script.
import ensurepip, os, subprocess, sys
env = dict(os.environ)  # ensurepip sets PIP_CONFIG_FILE=/dev/null; restore it for the real install
ensurepip.bootstrap(upgrade=False)
os.environ.clear()
os.environ.update(env)
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] +
                      [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')])
PY
echo "venv ready: $("$VENV/bin/ansible" --version | sed -n 1p)"
