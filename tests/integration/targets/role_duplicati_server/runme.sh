#!/usr/bin/env bash
# The role duplicati.fleet.duplicati_server on this machine (local connection), in check mode, with a release index
# of the emulator's stand-in packages in a folder (an air-gapped mirror). Asserts: the check run resolves the
# `duplicati` package (linux-<arch>-cli.deb, not the agent's), downloads it once into the controller cache with its
# checksum checked, and changes nothing on the host; bad input is refused before anything runs, without showing
# the secrets; the secrets appear in no output, even at -vvv.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=$(command -v python3 || command -v python)
[ -n "${ANSIBLE_TEST_PYTHON_INTERPRETER:-}" ] && PY=$ANSIBLE_TEST_PYTHON_INTERPRETER
export PYTHONPATH=${ANSIBLE_COLLECTIONS_PATH:-$(cd "$HERE/../../../../../../.." && pwd)}${PYTHONPATH:+:$PYTHONPATH}
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_STDOUT_CALLBACK=default

WORK=$(mktemp -d "${TMPDIR:-/tmp}/role_duplicati_server.XXXXXX")
chmod 700 "$WORK"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

if ! command -v dpkg-deb >/dev/null || [ ! -r /etc/debian_version ]; then
  echo "role_duplicati_server: skipped (needs a Debian host with dpkg-deb to build the stand-in packages)"
  exit 0
fi

# --- a release index in a folder, as an air-gapped mirror holds it: <base>/stable/latest-v2.json
"$PY" -m ansible_collections.duplicati.fleet.tests.emulator.packaging --out "$WORK/releases/stable" \
  --base-url "file://$WORK/releases/stable" > "$WORK/packages.json"

PRELOAD=$WORK/install/preload.json
(umask 077 && cat > "$WORK/vars.yml" <<YML
duplicati_server_package_source: release
duplicati_server_release_base: "$WORK/releases"
duplicati_server_controller_cache_dir: "$WORK/cache"
duplicati_server_preload_path: "$PRELOAD"
duplicati_server_password: "server password 123"
duplicati_server_settings_encryption_key: "settings key 456"
YML
)

play() {  # $1: log file, then ansible-playbook options
  local log=$1; shift
  local rc=0
  ansible-playbook -i "$HERE/inventory.yml" "$HERE/site.yml" -e "@$WORK/vars.yml" "$@" > "$log" 2>&1 || rc=$?
  echo "   $(basename "$log"): $(recap "$log")"
  return $rc
}
recap() { sed -n 's/^server_host *: .*changed=\([0-9]\+\).*failed=\([0-9]\+\).*/changed=\1 failed=\2/p' "$1"; }
no_secret_in() {
  for secret in "server password 123" "settings key 456"; do
    ! grep -qF -- "$secret" "$1" || fail "$1 shows a secret"
  done
}

echo "== 1. --check -vvv on a host without the server: the cli package is resolved and fetched, nothing changes"
play "$WORK/check.log" --check --diff -vvv || { cat "$WORK/check.log"; fail "check run"; }
[ "$(recap "$WORK/check.log")" != "changed=0 failed=0" ] || { cat "$WORK/check.log"; fail "check mode predicted no change"; }
no_secret_in "$WORK/check.log"
wanted=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["linux-x64-cli.deb"]["path"].rsplit("/", 1)[1])' "$WORK/packages.json")
[ "$(ls "$WORK/cache")" = "$wanted" ] || { ls -l "$WORK/cache"; fail "the controller cache does not hold exactly $wanted"; }
grep -q "Copy the agent package to the host" "$WORK/check.log" || fail "the package step of the agent role did not run"
[ ! -e "$PRELOAD" ] || fail "check mode wrote preload.json"
[ ! -e "$WORK/install" ] || fail "check mode created the install folder"

echo "== 2. a second check run uses the cached package"
before=$(stat -c %Y "$WORK/cache/$wanted")
sleep 1
play "$WORK/check2.log" --check || { cat "$WORK/check2.log"; fail "second check run"; }
[ "$(stat -c %Y "$WORK/cache/$wanted")" = "$before" ] || fail "the cached package was downloaded again"

echo "== 3. bad input is refused before anything runs, without showing the secrets"
if play "$WORK/bad.log" --check -e duplicati_server_interface=any; then fail "a wider interface without allowed host names was accepted"; fi
grep -q "Invalid role input" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "no input error"; }
no_secret_in "$WORK/bad.log"
if play "$WORK/bad2.log" --check -e duplicati_server_settings_encryption_key=sh0rtk -v; then fail "a short key was accepted"; fi
grep -q "Invalid role input" "$WORK/bad2.log" || { cat "$WORK/bad2.log"; fail "no input error"; }
! grep -qF sh0rtk "$WORK/bad2.log" || fail "the refused key is shown"
if play "$WORK/bad3.log" --check -e duplicati_server_interface=example.com -e '{"duplicati_server_allowed_hostnames": ["example.com"]}'; then
  fail "a host name as the interface was accepted"
fi
grep -q "Invalid role input" "$WORK/bad3.log" || { cat "$WORK/bad3.log"; fail "no input error"; }
if play "$WORK/bad4.log" --check -e duplicati_server_channel=nightly; then fail "an unknown channel was accepted"; fi
grep -q "Validation of arguments failed" "$WORK/bad4.log" || { cat "$WORK/bad4.log"; fail "no argument spec error"; }
[ ! -e "$WORK/install" ] || fail "a refused run created files"

echo "== 4. each input rule broken alone fails the one check task with exactly its message"
ansible-playbook -i "$HERE/inventory.yml" "$HERE/input_checks.yml" > "$WORK/rules.log" 2>&1 || { cat "$WORK/rules.log"; fail "input rules"; }
no_secret_in "$WORK/rules.log"
! grep -qF sh0rtk "$WORK/rules.log" || fail "a refused key is shown"

echo "== 5. the decisions for Linux, macOS and Windows hosts (package id, preload.json, data folder, service options)"
ROLES=$("$PY" -c 'import os, ansible_collections.duplicati.fleet.tests.emulator as e; print(os.path.join(os.path.dirname(e.__file__), "..", "..", "roles"))')
ansible-playbook -i "$HERE/inventory.yml" "$HERE/render.yml" -e "collection_roles=$ROLES" > "$WORK/render.log" 2>&1 || { cat "$WORK/render.log"; fail "per-system decisions"; }

echo "role_duplicati_server: all checks passed"
