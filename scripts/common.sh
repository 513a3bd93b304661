# shellcheck shell=bash
# Paths shared by the scripts under scripts/. Source it; do not run it.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${DUPLICATI_FLEET_WORK:-$REPO/.work}
VENV=${DUPLICATI_FLEET_VENV:-$REPO/.venv}
# ansible-test and ansible need the collection at .../ansible_collections/duplicati/fleet
COLLECTIONS=$WORK/collections
COLL=$COLLECTIONS/ansible_collections/duplicati/fleet
export PYTHON=$VENV/bin/python
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS
export PYTHONPATH=$COLLECTIONS${PYTHONPATH:+:$PYTHONPATH}

# Copy the working tree (tracked files and new files git does not ignore) to $COLL.
sync_collection() {
  rm -rf "$COLL"
  mkdir -p "$COLL"
  # (files deleted but not yet committed are listed by git and skipped here)
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - -cf -) | tar -C "$COLL" -xf -
  # A repository of its own, so that ansible-test lists these files and not the ones of
  # an enclosing checkout (which ignores .work/).
  git -C "$COLL" init -q
}

say() { printf '\n=== %s\n' "$*"; }

# ansible-test creates each sanity venv without pip and fetches a get-pip script from a site
# this network cannot reach; it looks in its cache first. pip_shim VENV writes a stand-in
# there that bootstraps pip from CPython's bundled wheel, then installs the pip that VENV's
# ansible-test pins (each ansible-core pins its own) from the package index.
pip_shim() {
  local venv=$1 pip_version
  pip_version=$("$venv/bin/python" - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
) || return 1
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
  echo "pip $pip_version"
}
