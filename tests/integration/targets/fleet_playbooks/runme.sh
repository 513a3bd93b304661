#!/usr/bin/env bash
# The day-2 playbooks (backup_window, export_backups, backup_jobs, rotate_password) against the emulated Duplicati server
# through the local connection, run by name from the installed collection as users run them; each run twice,
# the second run must change nothing.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=$(command -v python3 || command -v python)
[ -n "${ANSIBLE_TEST_PYTHON_INTERPRETER:-}" ] && PY=$ANSIBLE_TEST_PYTHON_INTERPRETER
export PYTHONPATH=${ANSIBLE_COLLECTIONS_PATH:-$(cd "$HERE/../../../../../../.." && pwd)}${PYTHONPATH:+:$PYTHONPATH}
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_STDOUT_CALLBACK=default

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fleet_playbooks.XXXXXX")
chmod 700 "$WORK"
cleanup() {
  "$PY" -m ansible_collections.duplicati.fleet.tests.emulator stop --state-dir "$WORK/server" server >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

OLD_PW="old password $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
NEW_PW="new password $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
PASSPHRASE="export passphrase 789"
"$PY" -m ansible_collections.duplicati.fleet.tests.emulator start server --state-dir "$WORK/server" \
  --seed-backups 3 --webservice-password "$OLD_PW" --max-lifetime 900 > "$WORK/server.json"
URL=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/server.json")

cat > "$WORK/inventory.yml" <<YML
all:
  children:
    duplicati_servers:
      hosts:
        server_host:
          ansible_connection: local
          ansible_python_interpreter: "$PY"
          duplicati_server_url: "$URL"
YML
(umask 077 && cat > "$WORK/secrets.yml" <<YML
duplicati_server_password: "$OLD_PW"
duplicati_new_password: "$NEW_PW"
duplicati_export_passphrase: "$PASSPHRASE"
duplicati_export_remote_dir: "$WORK/remote-exports"
duplicati_export_dir: "$WORK/exports"
YML
)

recap() { sed -n 's/^server_host *: .*changed=\([0-9]\+\).*failed=\([0-9]\+\).*/changed=\1 failed=\2/p' "$1"; }
play() {  # $1: playbook, $2: log, then options
  local book=$1 log=$2; shift 2
  local rc=0
  ansible-playbook -i "$WORK/inventory.yml" "duplicati.fleet.${book%.yml}" -e "@$WORK/secrets.yml" "$@" > "$log" 2>&1 || rc=$?
  echo "   $book $*: $(recap "$log")"
  return $rc
}
twice() {  # a run that changes, then one that does not
  local book=$1; shift
  play "$book" "$WORK/a.log" "$@" || { cat "$WORK/a.log"; fail "$book"; }
  [ "$(recap "$WORK/a.log")" != "changed=0 failed=0" ] || { cat "$WORK/a.log"; fail "$book changed nothing"; }
  play "$book" "$WORK/b.log" "$@" || { cat "$WORK/b.log"; fail "$book (second run)"; }
  [ "$(recap "$WORK/b.log")" = "changed=0 failed=0" ] || { cat "$WORK/b.log"; fail "$book changed something on the second run"; }
  for secret in "$OLD_PW" "$NEW_PW" "$PASSPHRASE"; do
    ! grep -qF -- "$secret" "$WORK/a.log" "$WORK/b.log" || fail "$book shows a secret"
  done
}
state() {  # program state of the server, read with server_info
  ansible -i "$WORK/inventory.yml" server_host -m duplicati.fleet.server_info -a "host_url=$URL password='$1'" -o 2>/dev/null \
    | sed -n 's/.*"program_state": "\([A-Za-z]*\)".*/\1/p' | head -n1
}

echo "== backup_window"
twice backup_window.yml -e duplicati_window=pause -e duplicati_window_duration=1h
[ "$(state "$OLD_PW")" = Paused ] || fail "the server is not paused: $(state "$OLD_PW")"
twice backup_window.yml -e duplicati_window=resume
[ "$(state "$OLD_PW")" = Running ] || fail "the server is not running"
if play backup_window.yml "$WORK/c.log" -e duplicati_window=pause -e duplicati_window_duration=1d; then
  fail "an invalid duration (1d) was accepted"
fi
[ "$(state "$OLD_PW")" = Running ] || fail "an invalid duration changed the server"

echo "== export_backups"
twice export_backups.yml
count=$(find "$WORK/exports/server_host" -name '*.json.aes' | wc -l)
[ "$count" = 3 ] || fail "expected 3 exports on the controller, found $count"
for f in "$WORK/exports/server_host"/*.json.aes; do
  [ "$(head -c 3 "$f")" = AES ] || fail "$f is not an AES Crypt file"
  "$PY" - "$f" "$PASSPHRASE" <<'PYCHECK' || fail "$f does not decrypt to a backup configuration"
import json, sys
from ansible_collections.duplicati.fleet.plugins.module_utils import aescrypt
with open(sys.argv[1], 'rb') as src:
    doc = json.loads(aescrypt.decrypt_bytes(src.read(), sys.argv[2]).decode('utf-8-sig'))
assert 'Backup' in doc, sorted(doc)
PYCHECK
done

echo "== backup_jobs"
JOB_PASSPHRASE="job passphrase 456"
mkdir -p "$WORK/group_vars"
(umask 077 && cat > "$WORK/group_vars/duplicati_servers.yml" <<YML
duplicati_backup_jobs:
  nightly-home:
    description: Home folders, nightly
    target_url: "file://$WORK/target"
    sources: [/home/]
    passphrase: "$JOB_PASSPHRASE"
    schedule: {repeat: 1D, time: "02:00", allowed_days: [mon, tue, wed, thu, fri]}
    settings: {keep-versions: "5", dblock-size: 50mb}
    filters: ["-*.tmp"]
duplicati_backup_jobs_absent: [Photos]
YML
)
twice backup_jobs.yml
! grep -qF -- "$JOB_PASSPHRASE" "$WORK/a.log" "$WORK/b.log" || fail "backup_jobs shows the job passphrase"
play backup_jobs.yml "$WORK/e.log" --check --diff -v -e '{"duplicati_backup_jobs": {"nightly-home": {"description": "changed", "target_url": "file:///x", "sources": ["/home/"], "passphrase": "check mode passphrase"}}}' \
  || { cat "$WORK/e.log"; fail "backup_jobs in check mode"; }
grep -q -- '+    "description": "changed"' "$WORK/e.log" || { cat "$WORK/e.log"; fail "the diff does not show the new description"; }
# -v shows each loop item in its result, unmasked: the loop must not hold the definitions
! grep -qF -- "check mode passphrase" "$WORK/e.log" || fail "backup_jobs -v shows the job passphrase"
play backup_jobs.yml "$WORK/f.log" || { cat "$WORK/f.log"; fail "backup_jobs after check mode"; }
[ "$(recap "$WORK/f.log")" = "changed=0 failed=0" ] || { cat "$WORK/f.log"; fail "check mode changed the job"; }
# a job the server refuses, at -v: the failure and the loop results show neither the passphrase nor the
# credentials of the target URL
if play backup_jobs.yml "$WORK/g.log" -v -e '{"duplicati_backup_jobs": {"refused-job": {"target_url": "s3://bucket/x?auth-username=AKIA1&auth-password=s3cret-in-url", "sources": ["/home/"], "passphrase": "refused job passphrase", "settings": {"keep-versions": "0"}}}}'; then
  cat "$WORK/g.log"; fail "the server accepted keep-versions=0"
fi
grep -q "refused-job" "$WORK/g.log" || { cat "$WORK/g.log"; fail "the refused job is not named"; }
! grep -qF -e "refused job passphrase" -e "s3cret-in-url" "$WORK/g.log" || { cat "$WORK/g.log"; fail "backup_jobs shows a secret of a refused job"; }

echo "== rotate_password"
twice rotate_password.yml
[ "$(state "$NEW_PW")" = Running ] || fail "the new password does not work"
# with the new password as the current one, rotating to it again changes nothing
play rotate_password.yml "$WORK/d.log" -e "duplicati_server_password='$NEW_PW'" || { cat "$WORK/d.log"; fail "rotate with the new password"; }
[ "$(recap "$WORK/d.log")" = "changed=0 failed=0" ] || fail "rotating to the current password changed something"

# a missing new password is named, not censored
if play rotate_password.yml "$WORK/h.log" -e duplicati_new_password=; then fail "rotate_password ran without a new password"; fi
grep -q "Set duplicati_new_password" "$WORK/h.log" || { cat "$WORK/h.log"; fail "the missing new password is not named"; }

echo "fleet_playbooks: all checks passed"
