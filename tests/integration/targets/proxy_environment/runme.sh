#!/usr/bin/env bash
# The release lookup, the package download and the registration honour http_proxy, https_proxy and no_proxy:
# through a counting proxy (CONNECT for the https mirror, forwarding for the http console) they all go through it;
# with no_proxy naming the hosts, none does.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=$(command -v python3 || command -v python)
[ -n "${ANSIBLE_TEST_PYTHON_INTERPRETER:-}" ] && PY=$ANSIBLE_TEST_PYTHON_INTERPRETER
export PYTHONPATH=${ANSIBLE_COLLECTIONS_PATH:-$(cd "$HERE/../../../../../../.." && pwd)}${PYTHONPATH:+:$PYTHONPATH}
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
unset http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY

WORK=$(mktemp -d "${TMPDIR:-/tmp}/proxy_environment.XXXXXX")
chmod 700 "$WORK"
PIDS=()
cleanup() {
  "$PY" -m ansible_collections.duplicati.fleet.tests.emulator stop --state-dir "$WORK/console" console >/dev/null 2>&1 || true
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
wait_for() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; fail "$1 never appeared"; }

# the console (http), its link in a private file
(umask 077 && printf 'proxy=tok-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" > "$WORK/tokens")
"$PY" -m ansible_collections.duplicati.fleet.tests.emulator start console --state-dir "$WORK/console" \
  --token-file "$WORK/tokens" --max-lifetime 600 > "$WORK/console.json"
CONSOLE=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/console.json")
(umask 077 && printf '%sremotecontrol/register?token=%s' "$CONSOLE" "$(sed -n 's/^proxy=//p' "$WORK/tokens")" > "$WORK/registration_url")

# a mirror over https (self-signed) and the counting proxy
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 1 -subj /CN=127.0.0.1 2>/dev/null
mkdir -p "$WORK/mirror/stable"
"$PY" "$HERE/servers.py" mirror --dir "$WORK/mirror" --cert "$WORK/cert.pem" --key "$WORK/key.pem" --ready "$WORK/mirror.port" &
PIDS+=($!)
"$PY" "$HERE/servers.py" proxy --counts "$WORK/counts.json" --ready "$WORK/proxy.port" &
PIDS+=($!)
wait_for "$WORK/mirror.port"
wait_for "$WORK/proxy.port"
MIRROR=https://127.0.0.1:$(cat "$WORK/mirror.port")
PROXY=http://127.0.0.1:$(cat "$WORK/proxy.port")
printf 'package body' > "$WORK/mirror/stable/duplicati-2.3.0.4_stable_2026-07-09-linux-x64-agent.deb"
"$PY" -c 'import sys
from ansible_collections.duplicati.fleet.tests.emulator.packaging.package_index import write_index
write_index(sys.argv[1], {"linux-x64-agent.deb": sys.argv[1] + "/duplicati-2.3.0.4_stable_2026-07-09-linux-x64-agent.deb"},
            sys.argv[2] + "/stable", "2.3.0.4")' "$WORK/mirror/stable" "$MIRROR"

count() {  # requests the proxy saw whose "METHOD target" matches $1
  "$PY" -c 'import json,os,re,sys
c = json.load(open(sys.argv[1])) if os.path.exists(sys.argv[1]) else {}
print(sum(n for k, n in c.items() if re.match(sys.argv[2], k)))' "$WORK/counts.json" "$1"
}
play() {  # $1: run name; the environment decides the proxy
  ansible-playbook -i "$HERE/inventory.yml" "$HERE/proxy.yml" -e "work=$WORK" -e "run=$1" -e "mirror_base=$MIRROR" \
    > "$WORK/$1.log" 2>&1 || { cat "$WORK/$1.log"; fail "run $1"; }
}

echo "== 1. http_proxy and https_proxy: every request goes through the proxy"
http_proxy=$PROXY https_proxy=$PROXY play proxied
echo "   proxy saw: $(cat "$WORK/counts.json")"
[ "$(count "CONNECT 127.0.0.1:${MIRROR##*:}$")" -ge 2 ] || fail "the index and the package were not fetched through CONNECT"
CONSOLE_PORT=${CONSOLE##*:}
[ "$(count "POST 127.0.0.1:${CONSOLE_PORT%/}$")" -ge 1 ] || fail "the registration did not go through the proxy"

echo "== 2. no_proxy names the hosts: nothing goes through the proxy"
rm -f "$WORK/counts.json"
http_proxy=$PROXY https_proxy=$PROXY no_proxy=127.0.0.1,localhost play direct
[ "$(count ".")" = 0 ] || fail "no_proxy was ignored: $(cat "$WORK/counts.json")"

echo "proxy_environment: all checks passed"
