#!/usr/bin/env bash
# `ansible-test sanity` on every ansible-core the collection supports, from the oldest in
# meta/runtime.yml's requires_ansible to the newest that runs on this Python: one venv per
# minor version under .work/sanity-matrix, each running sanity on the same copy of the
# collection, with the ignore files empty. Ends with "summary: N passed, N failed".
# Usage: scripts/sanity-matrix.sh [2.18 2.19]
# Versions: the newest patch release of each minor on PyPI; pin one with
# ANSIBLE_CORE_2_18=2.18.12 (and so on).
set -uo pipefail
. "$(dirname "$0")/common.sh"

bash "$REPO/scripts/setup.sh" >/dev/null || { echo "summary: 0 passed, 1 failed"; exit 1; }
MATRIX=$WORK/sanity-matrix
COLLECTIONS=$MATRIX/collections
COLL=$COLLECTIONS/ansible_collections/duplicati/fleet
export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS ANSIBLE_NOCOLOR=1
mkdir -p "$MATRIX/logs"
minors=("$@")
[ ${#minors[@]} -gt 0 ] || minors=(2.18 2.19)

passed=0 failed=0 failed_versions=()

oldest=$(sed -n 's/^requires_ansible: *"*>=\([0-9]\+\.[0-9]\+\).*/\1/p' "$REPO/meta/runtime.yml")
[ "$oldest" = "${minors[0]}" ] || [ $# -gt 0 ] || { echo "meta/runtime.yml requires ansible-core $oldest, the matrix starts at ${minors[0]}"; exit 1; }

# The ignore files must stay empty: the collection passes sanity without exceptions.
for f in "$REPO"/tests/sanity/ignore-*.txt; do
  [ -e "$f" ] || continue
  if [ -s "$f" ]; then echo "$(basename "$f") is not empty"; failed=$((failed + 1)); failed_versions+=("$(basename "$f")"); fi
done

sync_collection
all_versions=$("$PYTHON" -m pip index versions ansible-core --disable-pip-version-check 2>/dev/null | sed -n 's/^Available versions: //p' | tr -d ' ' | tr ',' '\n')

for minor in "${minors[@]}"; do
  say "ansible-core $minor"
  pin_var=ANSIBLE_CORE_${minor//./_}
  version=${!pin_var:-$(grep -m1 "^${minor//./\\.}\.[0-9]\+$" <<<"$all_versions")}
  if [ -z "$version" ]; then
    echo "no ansible-core $minor on the package index"; failed=$((failed + 1)); failed_versions+=("$minor"); continue
  fi
  venv=$MATRIX/venv-$minor
  log=$MATRIX/logs/sanity-$version.log
  if [ "$("$venv/bin/python" -c 'import ansible; print(ansible.__version__)' 2>/dev/null)" != "$version" ]; then
    rm -rf "$venv"
    if ! { "${PYTHON_FOR_VENV:-python3}" -m venv "$venv" &&
           "$venv/bin/python" -m pip install -q --disable-pip-version-check -U pip &&
           "$venv/bin/python" -m pip install -q --disable-pip-version-check "ansible-core==$version"; }; then
      echo "could not install ansible-core $version"; failed=$((failed + 1)); failed_versions+=("$version"); continue
    fi
  fi
  echo "ansible-core $version, $(pip_shim "$venv")"
  rm -rf "$COLL/tests/output"
  (cd "$COLL" && PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --python 3.11 --local --color no) > "$log" 2>&1
  rc=$?
  total=$(grep -c '^Running sanity test' "$log")
  grep -E '^(ERROR|FATAL)|^WARNING: (Required|Skipping)' "$log" | head -40
  if [ $rc -eq 0 ] && [ "$total" -gt 0 ]; then
    echo "sanity $version: $total tests passed"
    passed=$((passed + 1))
  else
    echo "sanity $version: FAILED (see $log)"
    failed=$((failed + 1)); failed_versions+=("$version")
  fi
done

echo
[ ${#failed_versions[@]} -eq 0 ] || echo "failed: ${failed_versions[*]}"
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
