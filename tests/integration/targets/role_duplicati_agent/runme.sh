#!/usr/bin/env bash
# The role duplicati.fleet.duplicati_agent on this machine (local connection), package step skipped, native
# registration (then, on a fresh host again, the agent method) against the emulated console with the agent stand-in as
# the agent binary. A second emulated console stands for Duplicati's default address, which an agent without a
# registration uses (the stand-in's DUPLICATI_EMULATOR_DEFAULT_REGISTRATION_URL): no run may send it anything, and a
# probe at the end shows that an unregistered agent of this environment does reach it. Asserts:
#   --check on a fresh host changes nothing; the first run writes preload.json before anything else and
#   registers once; the second run changes nothing; a failed registration shows the error with the URL redacted;
#   state=absent clears the registration and preload.json and keeps the data folder. The agent's systemd unit is
#   driven by the systemctl stand-in of tests/emulator/systemd: started and enabled with the role's options, stopped
#   and disabled by state=absent.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=$(command -v python3 || command -v python)
[ -n "${ANSIBLE_TEST_PYTHON_INTERPRETER:-}" ] && PY=$ANSIBLE_TEST_PYTHON_INTERPRETER
export PYTHONPATH=${ANSIBLE_COLLECTIONS_PATH:-$(cd "$HERE/../../../../../../.." && pwd)}${PYTHONPATH:+:$PYTHONPATH}
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_STDOUT_CALLBACK=default

WORK=$(mktemp -d "${TMPDIR:-/tmp}/role_duplicati_agent.XXXXXX")
chmod 700 "$WORK"
CONSOLE_DIR=$WORK/console
DEFAULT_CONSOLE_DIR=$WORK/default-console
cleanup() {
  "$PY" -m ansible_collections.duplicati.fleet.tests.emulator stop --state-dir "$CONSOLE_DIR" console >/dev/null 2>&1 || true
  "$PY" -m ansible_collections.duplicati.fleet.tests.emulator stop --state-dir "$DEFAULT_CONSOLE_DIR" console >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAILED: $*" >&2; exit 1; }

# --- the emulated console, its registration link kept out of every command line
TOKEN=tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
REVOKED=revoked-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
(umask 077 && printf 'fleet=%s\n' "$TOKEN" > "$WORK/tokens")
"$PY" -m ansible_collections.duplicati.fleet.tests.emulator start console --state-dir "$CONSOLE_DIR" \
  --token-file "$WORK/tokens" --revoked-token "$REVOKED" --ledger-file "$WORK/ledger.json" --max-lifetime 900 > "$WORK/console.json"
URL=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/console.json")
# --- the default address, for every agent started here (the modules pass their environment on)
"$PY" -m ansible_collections.duplicati.fleet.tests.emulator start console --state-dir "$DEFAULT_CONSOLE_DIR" \
  --claim-retry-seconds 1 --claim-lifetime 3 --max-lifetime 900 > "$WORK/default-console.json"
DEFAULT_URL=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/default-console.json")
export DUPLICATI_EMULATOR_DEFAULT_REGISTRATION_URL=${DEFAULT_URL}remotecontrol/register
default_requests() {  # every request the default console received
  "$PY" -c 'import json,sys,urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "_emulator/requests"))["count"])' "$DEFAULT_URL"
}

# --- the agent stand-in as the installed agent binary; its install folder (where it reads preload.json) is this one
mkdir -p "$WORK/install"
cat > "$WORK/install/duplicati-agent" <<SH
#!/bin/sh
DUPLICATI_EMULATOR_INSTALL_DIR='$WORK/install' PYTHONPATH='$PYTHONPATH' exec '$PY' -m ansible_collections.duplicati.fleet.tests.emulator.agent "\$@"
SH
chmod 755 "$WORK/install/duplicati-agent"

# --- the agent's systemd unit, driven by the systemctl stand-in (no systemd here); the modules inherit this env
SYSTEMD=$WORK/systemd
mkdir -p "$SYSTEMD/lib/systemd/system" "$SYSTEMD/etc/default" "$WORK/bin"
cat > "$SYSTEMD/lib/systemd/system/duplicati-agent.service" <<UNIT
[Unit]
Description=Duplicati Agent

[Service]
EnvironmentFile=-$SYSTEMD/etc/default/duplicati-agent
ExecStart=$WORK/install/duplicati-agent run \$DAEMON_OPTS

[Install]
WantedBy=multi-user.target
UNIT
cat > "$WORK/bin/systemctl" <<SH
#!/bin/sh
PYTHONPATH='$PYTHONPATH' exec '$PY' -m ansible_collections.duplicati.fleet.tests.emulator.systemd "\$@"
SH
chmod 755 "$WORK/bin/systemctl"
export PATH=$WORK/bin:$PATH DUPLICATI_EMULATOR_SYSTEMD_ROOT=$SYSTEMD
OPTIONS=$SYSTEMD/etc/default/duplicati-agent
service_state() { echo "$(systemctl is-active duplicati-agent.service) $(systemctl is-enabled duplicati-agent.service)"; }

DATA=$WORK/data/Duplicati
PRELOAD=$WORK/install/preload.json
write_vars() {  # $1: file, $2: registration URL
  (umask 077 && cat > "$1" <<YML
duplicati_agent_package_source: none
duplicati_agent_manage_service: true
duplicati_agent_registration_method: native
duplicati_agent_registration_url: "$2"
duplicati_agent_registration_timeout: 30
duplicati_agent_registration_retries: 2
duplicati_agent_path: "$WORK/install/duplicati-agent"
duplicati_agent_data_folder: "$DATA"
duplicati_agent_preload_path: "$PRELOAD"
duplicati_agent_settings_passphrase: "settings passphrase 123"
duplicati_agent_local_access: true
duplicati_agent_local_password: "local password 456"
duplicati_agent_preload_env:
  agent:
    DUPLICATI_PRELOAD_SETTINGS_DEBUG: ""
YML
  )
}
write_vars "$WORK/vars.yml" "${URL}remotecontrol/register?token=$TOKEN"

play() {  # $1: log file, then ansible-playbook options
  local log=$1; shift
  local start=$SECONDS rc=0
  ansible-playbook -i "$HERE/inventory.yml" "$HERE/site.yml" "$@" > "$log" 2>&1 || rc=$?
  echo "   $(basename "$log"): $((SECONDS - start)) s, $(recap "$log")"
  return $rc
}
recap() { sed -n 's/^agent_host *: .*changed=\([0-9]\+\).*failed=\([0-9]\+\).*/changed=\1 failed=\2/p' "$1"; }
registrations() {  # registrations in the console's ledger (it is flushed to its file within 0.2 s)
  sleep 0.5
  "$PY" -c 'import json,os,sys
print(len(json.load(open(sys.argv[1]))["registrations"]) if os.path.exists(sys.argv[1]) else 0)' "$WORK/ledger.json"
}
no_secret_in() {
  for secret in "$TOKEN" "settings passphrase 123" "local password 456"; do
    ! grep -qF -- "$secret" "$1" || fail "$1 shows a secret"
  done
}

echo "== 1. --check --diff on a fresh host predicts changes, shows them masked, and changes nothing"
play "$WORK/check.log" -e "@$WORK/vars.yml" --check --diff -v || { cat "$WORK/check.log"; fail "check run"; }
[ "$(recap "$WORK/check.log")" != "changed=0 failed=0" ] || { cat "$WORK/check.log"; fail "check mode predicted no change"; }
[ ! -e "$PRELOAD" ] || fail "check mode wrote preload.json"
[ ! -e "$DATA" ] || fail "check mode created the data folder"
[ "$(registrations)" = 0 ] || fail "check mode registered"
[ "$(service_state)" = "inactive disabled" ] || fail "check mode started or enabled the service"
[ ! -e "$OPTIONS" ] || fail "check mode wrote the service options"
no_secret_in "$WORK/check.log"
# the preload.json and service diffs are shown (not hidden by no_log), with the secrets masked
grep -qF -- "+++ after: $PRELOAD" "$WORK/check.log" || { cat "$WORK/check.log"; fail "no preload.json diff"; }
grep -qF -- '"--agent-settings-file-passphrase=********"' "$WORK/check.log" || { cat "$WORK/check.log"; fail "no masked passphrase in the preload.json diff"; }
grep -qF -- '"--webservice-password=********"' "$WORK/check.log" || { cat "$WORK/check.log"; fail "no masked password in the preload.json diff"; }
grep -q -- "^+DAEMON_OPTS=.*--server-datafolder=$DATA" "$WORK/check.log" || { cat "$WORK/check.log"; fail "no service options diff"; }
hidden=$(sed -n '/^TASK \[/{s/^TASK \[\(.*\)\] \**$/\1/;h};/"censored"/{x;p;x}' "$WORK/check.log")
[ "$hidden" = "duplicati.fleet.duplicati_agent : Register the agent with the Duplicati console" ] \
  || { cat "$WORK/check.log"; fail "tasks hidden by no_log: $hidden (only the registration should be)"; }

echo "== 2. first run: preload.json first, registered once"
play "$WORK/first.log" -e "@$WORK/vars.yml" || { cat "$WORK/first.log"; fail "first run"; }
[ "$(recap "$WORK/first.log")" != "changed=0 failed=0" ] || fail "first run changed nothing"
no_secret_in "$WORK/first.log"
changed_tasks=$(sed -n '/^TASK \[/{s/^TASK \[\(.*\)\] \**$/\1/;h};/^changed: /{x;p;x}' "$WORK/first.log")
echo "$changed_tasks"
[ "$(head -n1 <<<"$changed_tasks")" = "duplicati.fleet.duplicati_agent : Write preload.json" ] || fail "preload.json was not the first change"
[ -f "$DATA/agent.json" ] || fail "no agent.json"
[ "$(stat -c %a "$PRELOAD")" = 600 ] || fail "preload.json is not private"
[ "$(stat -c %a "$DATA/agent.json")" = 600 ] || fail "agent.json is not private"
[ "$("$PY" -c 'import os,sys; print(int(os.stat(sys.argv[1]).st_mtime_ns <= os.stat(sys.argv[2]).st_mtime_ns))' "$PRELOAD" "$DATA/agent.json")" = 1 ] \
  || fail "agent.json is older than preload.json"
"$PY" - "$PRELOAD" "$DATA/agent.json" <<'PYCHECK' || fail "file contents"
import json, sys
preload = json.load(open(sys.argv[1]))
args = preload["args"]["agent"]
assert "--agent-settings-file-passphrase=settings passphrase 123" in args, args
assert "--webservice-password=local password 456" in args, args
assert preload["env"]["agent"] == {"DUPLICATI_PRELOAD_SETTINGS_DEBUG": ""}, preload
agent = json.load(open(sys.argv[2]))
assert agent["jwt"].startswith("enc-v1:"), "the passphrase did not encrypt agent.json"
assert agent["serverUrl"], agent
PYCHECK
[ "$(registrations)" = 1 ] || fail "expected one registration in the console ledger, got $(registrations)"
[ "$(service_state)" = "active enabled" ] || fail "the service is $(service_state) after the first run"
grep -q "^DAEMON_OPTS=.*--server-datafolder=$DATA" "$OPTIONS" || { cat "$OPTIONS"; fail "the service options miss the data folder"; }
grep -q -- "--disable-pre-shared-key=true" "$OPTIONS" || { cat "$OPTIONS"; fail "the service options miss local access"; }
no_secret_in "$OPTIONS"
grep -q "Write the service options, enable the service, and start it" <<<"$changed_tasks" || fail "the service task changed nothing"
[ "$(default_requests)" = 0 ] || fail "the first run sent $(default_requests) requests to the default console"

echo "== 3. second run: nothing changes"
play "$WORK/second.log" -e "@$WORK/vars.yml" || { cat "$WORK/second.log"; fail "second run"; }
[ "$(recap "$WORK/second.log")" = "changed=0 failed=0" ] || { cat "$WORK/second.log"; fail "second run changed something"; }
[ "$(registrations)" = 1 ] || fail "the second run registered again"
# the fast path: agent_info found the host converged, so the role ended there (meta: end_role): no step (preload,
# registration, package, service) and not even their include ran
if ! grep -q "^TASK \[duplicati.fleet.duplicati_agent : End the role for a converged Linux host\]" "$WORK/second.log" \
  || grep -q "^TASK \[duplicati.fleet.duplicati_agent : Install, configure and register the agent, or remove it\]" "$WORK/second.log"; then
  cat "$WORK/second.log"; fail "the second run did not end the role for a converged host"
fi
! grep -q "^TASK \[duplicati.fleet.duplicati_agent : Write preload.json\]" "$WORK/second.log" \
  || { cat "$WORK/second.log"; fail "the second run ran the preload step on a converged host"; }

echo "== 3b. a new preload.json restarts the agent so that it reads it"
changed_tasks_of() { sed -n '/^TASK \[/{s/^TASK \[\(.*\)\] \**$/\1/;h};/^changed: /{x;p;x}' "$1"; }
play "$WORK/password.log" -e "@$WORK/vars.yml" -e "duplicati_agent_local_password='local password 789'" \
  || { cat "$WORK/password.log"; fail "run with a new local password"; }
[ "$(changed_tasks_of "$WORK/password.log")" = "duplicati.fleet.duplicati_agent : Write preload.json
duplicati.fleet.duplicati_agent : Write the service options, enable the service, and start it (restart it after a new package, registration or preload.json)" ] \
  || { cat "$WORK/password.log"; fail "a new preload.json did not restart the agent (and only that)"; }
grep -qF "local password 789" "$PRELOAD" || fail "the new password is not in preload.json"
! grep -qF "local password 789" "$WORK/password.log" || fail "the new password is shown"
play "$WORK/password2.log" -e "@$WORK/vars.yml" || { cat "$WORK/password2.log"; fail "run with the first password again"; }
[ "$(registrations)" = 1 ] || fail "a preload change registered again"

echo "== 3c. a stopped agent or changed options bring the service module back"
systemctl stop duplicati-agent.service
play "$WORK/stopped.log" -e "@$WORK/vars.yml" || { cat "$WORK/stopped.log"; fail "run on a stopped agent"; }
[ "$(service_state)" = "active enabled" ] || fail "the stopped agent was not started ($(service_state))"
play "$WORK/port.log" -e "@$WORK/vars.yml" -e duplicati_agent_webservice_port=8299 || { cat "$WORK/port.log"; fail "run with a new port"; }
grep -q -- "--webservice-port=8299" "$OPTIONS" || { cat "$OPTIONS"; fail "the new port is not in the service options"; }
play "$WORK/port2.log" -e "@$WORK/vars.yml" || { cat "$WORK/port2.log"; fail "run with the default port again"; }
! grep -q -- "--webservice-port" "$OPTIONS" || { cat "$OPTIONS"; fail "the port option was not removed"; }

echo "== 3d. --check --diff with a new port: the host is not converged, the steps show the options diff, nothing changes"
cp "$OPTIONS" "$WORK/options.before"
play "$WORK/portcheck.log" -e "@$WORK/vars.yml" -e duplicati_agent_webservice_port=8377 --check --diff \
  || { cat "$WORK/portcheck.log"; fail "check run with a new port"; }
grep -q "^+DAEMON_OPTS=.*--webservice-port=8377" "$WORK/portcheck.log" || { cat "$WORK/portcheck.log"; fail "no diff of the service options"; }
[ "$(recap "$WORK/portcheck.log")" = "changed=1 failed=0" ] || { cat "$WORK/portcheck.log"; fail "check mode did not predict the options change"; }
cmp -s "$OPTIONS" "$WORK/options.before" || fail "check mode changed the service options"
no_secret_in "$WORK/portcheck.log"

echo "== 3e. a wrong passphrase for agent.json: refused with the file, the reason and the way out, nothing changes"
if play "$WORK/wrongkey.log" -e "@$WORK/vars.yml" -e duplicati_agent_settings_passphrase=another-long-passphrase; then
  cat "$WORK/wrongkey.log"; fail "a wrong passphrase was accepted"
fi
grep -q "agent.json: Invalid settings key provided. The passphrase does not match the one jwt was encrypted with. Give the passphrase" \
  "$WORK/wrongkey.log" || { cat "$WORK/wrongkey.log"; fail "the wrong-passphrase message is not as documented"; }
! grep -q "another-long-passphrase" "$WORK/wrongkey.log" || fail "the wrong passphrase was printed"
[ "$(registrations)" = 1 ] || fail "the wrong passphrase registered again"

echo "== 4. --check on a converged host: no change predicted"
play "$WORK/check2.log" -e "@$WORK/vars.yml" --check || { cat "$WORK/check2.log"; fail "check run on a converged host"; }
[ "$(recap "$WORK/check2.log")" = "changed=0 failed=0" ] || { cat "$WORK/check2.log"; fail "check mode predicted a change"; }
# a pinned version passes the input check (the package step is off here, so nothing else changes)
play "$WORK/pinned.log" -e "@$WORK/vars.yml" -e duplicati_agent_version=2.3.0.4 --check || { cat "$WORK/pinned.log"; fail "a pinned version was refused"; }

echo "== 5. a refused registration: the error is shown, the URL redacted"
write_vars "$WORK/revoked.yml" "${URL}remotecontrol/register?token=$REVOKED"
if play "$WORK/revoked.log" -e "@$WORK/revoked.yml" -e "duplicati_agent_data_folder=$WORK/other/Duplicati" \
     -e "duplicati_agent_preload_path=$WORK/other/preload.json"; then
  cat "$WORK/revoked.log"; fail "a revoked link registered"
fi
grep -q "The registration of the Duplicati Agent failed:" "$WORK/revoked.log" || { cat "$WORK/revoked.log"; fail "no error shown"; }
! grep -qF -- "$REVOKED" "$WORK/revoked.log" || { cat "$WORK/revoked.log"; fail "the URL token is shown"; }
[ ! -e "$WORK/other/Duplicati/agent.json" ] || fail "a refused registration wrote agent.json"

echo "== 6. bad input is refused before anything runs"
if play "$WORK/bad.log" -e "@$WORK/vars.yml" -e duplicati_agent_registration_method=carrier-pigeon; then fail "bad input accepted"; fi
grep -q "Validation of arguments failed" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "no argument spec error"; }
if play "$WORK/bad2.log" -e "@$WORK/vars.yml" -e duplicati_agent_settings_passphrase=sh0rtpw -v; then fail "short passphrase accepted"; fi
# one check per rule: the message names the broken rule and no other
grep -q "duplicati_agent_settings_passphrase needs at least 8 characters" "$WORK/bad2.log" || { cat "$WORK/bad2.log"; fail "no passphrase error"; }
! grep "FAILED!" "$WORK/bad2.log" | grep -q "package_url\|webservice_port\|daemon_opts" || { cat "$WORK/bad2.log"; fail "the error lists rules that were not broken"; }
! grep -qF sh0rtpw "$WORK/bad2.log" || fail "the refused passphrase is shown"
if play "$WORK/bad3.log" -e "@$WORK/vars.yml" -e duplicati_agent_webservice_port=70000; then fail "port 70000 accepted"; fi
grep -q "duplicati_agent_webservice_port must be between 1 and 65535" "$WORK/bad3.log" || { cat "$WORK/bad3.log"; fail "no port error"; }
! grep "FAILED!" "$WORK/bad3.log" | grep -q "passphrase\|package_url\|daemon_opts" || { cat "$WORK/bad3.log"; fail "the port error lists other rules"; }
# a value of the wrong type breaks its rule, with that rule's message and no template error
if play "$WORK/bad4.log" -e "@$WORK/vars.yml" -e '{"duplicati_agent_registration_url": 123, "duplicati_agent_daemon_opts": "--log-level=information"}'; then
  fail "a number as the registration URL and a string as the daemon options were accepted"
fi
grep -q "duplicati_agent_registration_url must be an http:// or https:// URL" "$WORK/bad4.log" || { cat "$WORK/bad4.log"; fail "no URL error"; }
grep -q "duplicati_agent_daemon_opts must be a list" "$WORK/bad4.log" || { cat "$WORK/bad4.log"; fail "no daemon_opts error"; }
! grep -qi "template error\|AnsibleUndefined\|Traceback" "$WORK/bad4.log" || { cat "$WORK/bad4.log"; fail "a template error instead of the rule's message"; }
[ "$(registrations)" = 1 ] || fail "refused input registered"
[ -f "$DATA/agent.json" ] || fail "refused input changed agent.json"

echo "== 6b. playbooks/deregister.yml clears the host; the console keeps its entry"
ansible-playbook -i "$HERE/inventory.yml" duplicati.fleet.deregister -e duplicati_hosts=agent_host \
  -e "duplicati_agent_data_folder=$DATA" > "$WORK/deregister.log" 2>&1 || { cat "$WORK/deregister.log"; fail "deregister.yml"; }
[ ! -e "$DATA/agent.json" ] || fail "deregister.yml left agent.json"
[ "$(service_state)" = "inactive disabled" ] || fail "the service is $(service_state) after deregister.yml"
[ "$(registrations)" = 1 ] || fail "the console's entry changed (deregister.yml cannot remove it)"

echo "== 7. state=absent clears the registration and preload.json, keeps the data folder"
play "$WORK/absent.log" -e "@$WORK/vars.yml" -e duplicati_agent_state=absent || { cat "$WORK/absent.log"; fail "absent run"; }
[ ! -e "$DATA/agent.json" ] || fail "agent.json is still there"
[ ! -e "$PRELOAD" ] || fail "preload.json is still there"
[ -f "$DATA/machineid.txt" ] || fail "the data folder was not kept"
[ "$(service_state)" = "inactive disabled" ] || fail "the service is $(service_state) after state=absent"
play "$WORK/absent2.log" -e "@$WORK/vars.yml" -e duplicati_agent_state=absent || { cat "$WORK/absent2.log"; fail "second absent run"; }
[ "$(recap "$WORK/absent2.log")" = "changed=0 failed=0" ] || { cat "$WORK/absent2.log"; fail "second absent run changed something"; }
play "$WORK/purge.log" -e "@$WORK/vars.yml" -e duplicati_agent_state=absent -e "{\"duplicati_agent_purge_data\": true}" \
  || { cat "$WORK/purge.log"; fail "purge run"; }
[ ! -e "$DATA" ] || fail "the data folder was not purged"

echo "== 7b. an unregistered host with an empty registration URL is refused before anything starts"
if play "$WORK/nourl.log" -e "@$WORK/vars.yml" -e duplicati_agent_registration_url=; then
  cat "$WORK/nourl.log"; fail "an unregistered agent was started without a registration URL"
fi
grep -q "duplicati_agent_registration_url is empty" "$WORK/nourl.log" || { cat "$WORK/nourl.log"; fail "no message about the empty URL"; }
grep -q "duplicati_agent_claim_by_hand=true" "$WORK/nourl.log" || { cat "$WORK/nourl.log"; fail "the message does not name the way out"; }
[ "$(service_state)" = "inactive disabled" ] || fail "the service is $(service_state) after the refused run"
[ ! -e "$PRELOAD" ] || fail "the refused run wrote preload.json"
[ "$(default_requests)" = 0 ] || fail "the refused run sent $(default_requests) requests to the default console"
# the role does not manage the service but installs a package, whose postinst would start the agent: refused too,
# before the package is fetched
ZEROS64=0000000000000000000000000000000000000000000000000000000000000000
if play "$WORK/nourl2.log" -e "@$WORK/vars.yml" -e duplicati_agent_registration_url= -e duplicati_agent_manage_service=false \
    -e duplicati_agent_package_source=url -e "duplicati_agent_package_checksum=sha256:$ZEROS64" \
    -e duplicati_agent_package_url=https://packages.invalid/duplicati-2.3.0.4_stable_2026-01-01-linux-x64-agent.deb; then
  cat "$WORK/nourl2.log"; fail "a package would have started an unregistered agent without a registration URL"
fi
grep -q "duplicati_agent_registration_url is empty" "$WORK/nourl2.log" || { cat "$WORK/nourl2.log"; fail "no message about the empty URL (package)"; }
[ ! -e "$PRELOAD" ] || fail "the refused run (package) wrote preload.json"

echo "== 8. a fresh host with the agent method, DUPLICATI_REMOTE_CONTROL_URL naming the fleet's console"
play "$WORK/agent.log" -e "@$WORK/vars.yml" -e duplicati_agent_registration_method=agent \
  -e "{\"duplicati_agent_preload_env\": {\"agent\": {\"DUPLICATI_REMOTE_CONTROL_URL\": \"${URL}remotecontrol/register\"}}}" \
  || { cat "$WORK/agent.log"; fail "agent method run"; }
no_secret_in "$WORK/agent.log"
[ "$(service_state)" = "active enabled" ] || fail "the service is $(service_state) after the agent method run"
"$PY" - "$WORK/ledger.json" "$URL" <<'PYCHECK' || fail "one registration per machine, none waiting for a claim"
import json, sys, time, urllib.request
time.sleep(0.5)
ledger = json.load(open(sys.argv[1]))["registrations"]
machines = [entry["machineId"] for entry in ledger]
assert len(machines) == 2 and len(set(machines)) == 2, ledger
assert all(entry["flow"] == "token" for entry in ledger), ledger
assert json.load(urllib.request.urlopen(sys.argv[2] + "_emulator/registrations")) == []
PYCHECK
[ "$(default_requests)" = 0 ] || fail "the runs sent $(default_requests) requests to the default console"
echo "   default console: 0 requests after every run"

echo "== 9. probe: an agent without a registration and without a link reaches the default console"
# state=absent first: it removes the preload.json that names the fleet's console
play "$WORK/absent3.log" -e "@$WORK/vars.yml" -e duplicati_agent_state=absent || { cat "$WORK/absent3.log"; fail "absent run"; }
[ ! -e "$PRELOAD" ] || fail "preload.json is still there"
"$WORK/install/duplicati-agent" run --agent-register-only --agent-settings-file="$WORK/probe/agent.json" \
  --server-datafolder="$WORK/probe" > "$WORK/probe.log" 2>&1 && fail "the probe registered"
[ "$(default_requests)" -ge 1 ] || { cat "$WORK/probe.log"; fail "the probe did not reach the default console"; }
echo "   default console: $(default_requests) requests from the probe"

echo "role_duplicati_agent: all checks passed"
