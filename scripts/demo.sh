#!/usr/bin/env bash
# `make demo`: the collection at work against the Duplicati emulator, on this machine only.
#   1. start the emulated console (registration service) and the emulated server, with
#      seeded backups, both on 127.0.0.1;
#   2. roll the agent out with playbooks/rollout.yml to the built-in fleet of 20 local hosts
#      (scripts/demo/inventory.yml: each its own data folder and preload.json), twice: the
#      second run must change nothing;
#   3. open a backup window (backup_window.yml: pause, then resume) and export every backup
#      (export_backups.yml), AES Crypt encrypted;
#   4. print what happened, as the console's ledger and the files on disk tell it.
# Everything lives in $WORK/demo (made afresh each time); the emulators stop on exit.
set -euo pipefail
. "$(dirname "$0")/common.sh"

DEMO=$WORK/demo
STATE=$DEMO/emulator
LOGS=$DEMO/logs
EMULATOR=ansible_collections.duplicati.fleet.tests.emulator
T0=$(date +%s)
say() { printf '%4ss  %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ -x "$PYTHON" ] || bash "$REPO/scripts/setup.sh"

stop_emulators() {
  local c
  for c in console server; do
    [ -f "$STATE/$c.pid" ] && "$PYTHON" -m "$EMULATOR" stop --state-dir "$STATE" "$c"
  done
  return 0
}
if [ -d "$STATE" ]; then stop_emulators; fi   # an earlier, interrupted demo
rm -rf "$DEMO"
mkdir -p "$DEMO/secrets" "$LOGS"
chmod 700 "$DEMO" "$DEMO/secrets"

# the demo's own copy of the collection, so that no test run's copy is disturbed
COLLECTIONS=$DEMO/collections
COLL=$COLLECTIONS/ansible_collections/duplicati/fleet   # where sync_collection copies to
export COLL
sync_collection
export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS PYTHONPATH=$COLLECTIONS
export DFLEET_DEMO_DIR=$DEMO ANSIBLE_NOCOLOR=1 ANSIBLE_FORKS=10 ANSIBLE_LOCAL_TEMP=$DEMO/tmp

secret() { "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))'; }
# secrets go into private files (umask 077), never onto a command line
umask 077
token=$(secret)
printf '{"demo-fleet": "%s"}\n' "$token" > "$DEMO/secrets/console_tokens.json"
secret > "$DEMO/secrets/settings_passphrase"
secret > "$DEMO/secrets/export_passphrase"
secret > "$DEMO/secrets/server_password"
umask 022

trap stop_emulators EXIT
json_field() { "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
console_url=$("$PYTHON" -m "$EMULATOR" start console --state-dir "$STATE" \
    --token-file "$DEMO/secrets/console_tokens.json" --ledger-file "$DEMO/ledger.json" | json_field url) ||
  die "the emulated console did not start (log: $STATE/console.log)"
printf '%sremotecontrol/register?token=%s\n' "$console_url" "$token" > "$DEMO/secrets/registration_url"
chmod 600 "$DEMO/secrets/registration_url"
# the server's password comes from the environment, as DUPLICATI__WEBSERVICE_PASSWORD
server_url=$(DUPLICATI__WEBSERVICE_PASSWORD=$(cat "$DEMO/secrets/server_password") \
    "$PYTHON" -m "$EMULATOR" start server --state-dir "$STATE" \
    --server-datafolder "$DEMO/server-data" --seed-backups 5 | json_field url) ||
  die "the emulated server did not start (log: $STATE/server.log)"
printf '%s\n' "$server_url" > "$DEMO/server_url"
say "emulated console at $console_url, emulated server at $server_url (5 backups)"

INVENTORY=$REPO/scripts/demo/inventory.yml
play() {  # play NAME LOG [ansible-playbook arguments]
  local name=$1 log=$2; shift 2
  if ! ansible-playbook -i "$INVENTORY" "duplicati.fleet.$name" "$@" > "$log" 2>&1; then
    grep -E 'fatal:|FAILED!|ERROR' "$log" | head -20
    die "playbooks/$name.yml failed (log: $log)"
  fi
}
# from a recap: how many hosts, how many changed, the sum of their changes
recap() {
  awk '/^PLAY RECAP/ {r = 1; next} r && / : ok=/ {n++; split($0, a, "changed="); c = a[2] + 0; t += c; if (c) h++}
       END {printf "%d %d %d\n", n, h, t}' "$1"
}

say "rollout.yml over 20 local hosts (batches 1, 10%, 30%, rest)..."
play rollout "$LOGS/rollout-1.log"
read -r hosts1 changed_hosts1 changes1 < <(recap "$LOGS/rollout-1.log")
say "  first run: $hosts1 hosts, $changed_hosts1 changed ($changes1 changes)"
play rollout "$LOGS/rollout-2.log"
read -r hosts2 changed_hosts2 changes2 < <(recap "$LOGS/rollout-2.log")
say "  second run: $hosts2 hosts, $changed_hosts2 changed ($changes2 changes)"

say "backup_window.yml: pause for 30m, then resume"
play backup_window "$LOGS/window-pause.log" -e duplicati_window=pause -e duplicati_window_duration=30m
paused=$(grep -Eo '"msg": "[^"]*"' "$LOGS/window-pause.log" | head -1 | sed 's/"msg": //')
play backup_window "$LOGS/window-resume.log" -e duplicati_window=resume
resumed=$(grep -Eo '"msg": "[^"]*"' "$LOGS/window-resume.log" | head -1 | sed 's/"msg": //')

say "export_backups.yml: every backup, AES Crypt encrypted"
play export_backups "$LOGS/export.log"

ledger=$("$PYTHON" - "$console_url" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + '_emulator/ledger') as answer:
    data = json.load(answer)
print(data['count'], data['machines'], len(data['duplicates']))
PY
)
read -r registrations machines duplicates <<<"$ledger"
agent_files=$(find "$DEMO/hosts" -name agent.json -perm 0600 | wc -l)
exports=$(find "$DEMO/exports" -name '*.json.aes' -type f | wc -l)
aes_ok=$(find "$DEMO/exports" -name '*.json.aes' -type f -exec head -c 3 {} \; -exec echo \; | grep -c '^AES$' || true)

cat <<EOF

==================== duplicati.fleet demo ====================
hosts in the fleet            : $hosts1 (connection local, one data folder each)
registered (console ledger)   : $registrations registrations of $machines machines, $duplicates registered twice
agent.json written (0600)     : $agent_files
first rollout                 : $changed_hosts1 hosts changed, $changes1 changes
second rollout                : $changed_hosts2 hosts changed, $changes2 changes
backup window                 : paused -> $paused; resumed -> $resumed
exports written               : $exports files in $DEMO/exports ($aes_ok start with the AES Crypt header)
logs                          : $LOGS
===============================================================
EOF
if [ "$changes2" -ne 0 ] || [ "$machines" -ne "$hosts1" ] || [ "$duplicates" -ne 0 ] || [ "$exports" -eq 0 ]; then
  die "the demo did not end as it should (see above and $LOGS)"
fi
