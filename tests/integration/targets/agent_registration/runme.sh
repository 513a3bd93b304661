#!/usr/bin/env bash
# Integration tests of duplicati.fleet.agent_registration against the emulated console and agent stand-in:
#   1. tests.yml: idempotence, force, passphrases both ways, wrong passphrase, revoked link,
#      429/503 bursts with method=native, check mode, state=absent;
#   2. fleet.yml: 50 simulated hosts registered twice with forks=10 -> exactly 50 ledger entries;
#   3. a registration at -vvv while the process list is sampled: the URL's token appears in neither.
set -eux
PY=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}
OUT=${OUTPUT_DIR:-$(mktemp -d)}
HERE=$(cd "$(dirname "$0")" && pwd)
umask 077
WORK=$OUT/agent_registration
rm -rf "$WORK"
mkdir -p "$WORK/bin" "$WORK/install"

# Tokens go to the emulator in a file, never on its command line (and not into this log).
set +x
tokens=$("$PY" -c 'import json, secrets; print(json.dumps({n: secrets.token_urlsafe(24) for n in ("fleet", "spare", "fleet50", "watch")}))')
printf '%s' "$tokens" > "$WORK/tokens.json"
unset tokens
set -x
token() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/tokens.json" "$1"; }

emulator() { PYTHONPATH=$ANSIBLE_COLLECTIONS_PATH "$PY" -m ansible_collections.duplicati.fleet.tests.emulator "$@"; }
emulator start console --state-dir "$WORK/console" --token-file "$WORK/tokens.json" --max-lifetime 900 > "$WORK/console.json"
watcher=
cleanup() {
  [ -z "$watcher" ] || kill "$watcher" 2>/dev/null || true
  emulator stop --state-dir "$WORK/console" console || true
}
trap cleanup EXIT
CONSOLE=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/console.json")

# The agent stand-in, installed like the package binary.
printf 'linux-x64-agent.deb\n' > "$WORK/install/package_type_id.txt"
printf '{"Version": "2.3.0.4"}' > "$WORK/install/autoupdate.manifest"
cat > "$WORK/bin/duplicati-agent" <<SCRIPT
#!/bin/sh
PYTHONPATH=$ANSIBLE_COLLECTIONS_PATH DUPLICATI_EMULATOR_INSTALL_DIR=$WORK/install DUPLICATI_EMULATOR_RETRY_SECONDS=0 \
exec $PY -m ansible_collections.duplicati.fleet.tests.emulator.agent "\$@"
SCRIPT
chmod 0755 "$WORK/bin/duplicati-agent"

# Test variables (with the secret links) in a private file, not on a command line.
"$PY" - "$WORK" "$CONSOLE" <<'PYTHON'
import json, os, sys
work, console = sys.argv[1], sys.argv[2]
tokens = json.load(open(os.path.join(work, 'tokens.json')))
link = lambda name: console + 'remotecontrol/register?token=' + tokens[name]
data = {'work': work, 'console_url': console, 'agent_path': os.path.join(work, 'bin', 'duplicati-agent'),
        'registration_url': link('fleet'), 'spare_url': link('spare'), 'fleet_url': link('fleet50'),
        'watch_url': link('watch'), 'python': sys.executable}
with open(os.path.join(work, 'vars.json'), 'w') as handle:
    json.dump(data, handle)
PYTHON

cat > "$WORK/local.ini" <<INV
localhost ansible_connection=local ansible_python_interpreter=$PY
INV

# 1. behaviour
ansible-playbook "$HERE/tests.yml" -i "$WORK/local.ini" -e "@$WORK/vars.json" "$@"

# 2. 50 hosts, twice, forks=10
{
  echo '[fleet]'
  for i in $(seq -w 1 50); do
    echo "host$i ansible_connection=local ansible_python_interpreter=$PY"
  done
} > "$WORK/fleet.ini"
for round in 1 2; do
  ansible-playbook "$HERE/fleet.yml" -i "$WORK/fleet.ini" -e "@$WORK/vars.json" -e "round=$round" --forks 10 "$@"
done
ansible-playbook "$HERE/fleet_ledger.yml" -i "$WORK/local.ini" -e "@$WORK/vars.json" "$@"

# 3. -vvv while the process list is sampled
( set +x; while :; do ps -eww -o args= >> "$WORK/ps.log" 2>/dev/null; sleep 0.02; done ) &
watcher=$!
ansible-playbook "$HERE/watch.yml" -i "$WORK/local.ini" -e "@$WORK/vars.json" -vvv > "$WORK/vvv.log" 2>&1
kill "$watcher"
wait "$watcher" 2>/dev/null || true
watcher=
set +x
secret=$(token watch)
grep -q -- '--agent-register-only' "$WORK/ps.log" || { echo "the process list sampler never saw the agent run"; exit 1; }
grep -q 'AnsiballZ_agent_registration' "$WORK/vvv.log" || { echo "the -vvv run did not run the module"; exit 1; }
if grep -F -q -- "$secret" "$WORK/ps.log"; then echo "the registration token appeared in the process list"; exit 1; fi
if grep -F -q -- "$secret" "$WORK/vvv.log"; then echo "the registration token appeared in the -vvv output"; exit 1; fi
echo "registration URL seen in neither the process list nor the -vvv output"
