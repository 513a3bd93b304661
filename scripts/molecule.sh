#!/usr/bin/env bash
# The molecule scenarios under extensions/molecule/, on podman containers that boot a real
# systemd, from a Debian image built here (no registry is reachable):
#   1. check the host: root, podman with runc and explicit ulimits, enough inotify
#      instances (scripts/host-deps.sh sets these up; this script never changes the host);
#   2. the image: debootstrap + chroot install + `podman import`, cached by the hash of
#      the recipe below (a rootfs tarball under $WORK/molecule and the podman image);
#   3. the emulator's stand-in .deb packages (the role copies the agent's from here);
#   4. a podman network of our own, and two emulated consoles bound to that network's
#      gateway address only (reachable from the containers, not from beyond this machine):
#      the fleet's, and one standing for Duplicati's default address, which the agents in
#      the containers use when they hold no registration (prepare.yml); it must record no
#      request;
#   5. `molecule test` for each scenario (or those named: scripts/molecule.sh fleet).
# Everything it started is stopped on exit. Molecule's own files go to $WORK/molecule/home.
set -euo pipefail
. "$(dirname "$0")/common.sh"

MOL=$WORK/molecule
IMAGE_NAME=localhost/duplicati-fleet-molecule
# Podman's names are per machine: a suffix from this clone's work folder keeps two clones' runs (a CI checkout and
# a working copy) from removing each other's network, anchor and containers.
CLONE_ID=$(printf '%s' "$WORK" | sha256sum | cut -c1-8)
NETWORK=duplicati-fleet-molecule-$CLONE_ID
ANCHOR=duplicati-fleet-molecule-anchor-$CLONE_ID
SUITE=bookworm

die() { printf 'molecule.sh: %s\n' "$*" >&2; exit 2; }
lap() { printf '::: %4ss  %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
T0=$(date +%s)

# ---------------------------------------------------------------------------------------
# 1. the host
check_host() {
  local missing=() cmd conf
  [ "$(id -u)" = 0 ] || die "run as root: the containers boot systemd, which needs rootful podman on this machine"
  for cmd in podman runc debootstrap dpkg-deb chroot; do
    command -v "$cmd" >/dev/null || missing+=("$cmd")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing programs: ${missing[*]} (as root: scripts/host-deps.sh molecule)"
  [ "$(podman info --format '{{.Host.OCIRuntime.Name}}' 2>/dev/null)" = runc ] ||
    die "podman does not use runc (crun cannot run containers under this cgroup v1/v2 hybrid): set runtime = \"runc\" under [engine] in /etc/containers/containers.conf (scripts/host-deps.sh molecule does)"
  conf=$(cat /etc/containers/containers.conf /etc/containers/containers.conf.d/*.conf 2>/dev/null || true)
  grep -Eq '^[[:space:]]*default_ulimits[[:space:]]*=.*nproc=' <<<"$conf" ||
    die "podman has no explicit default_ulimits (nofile, nproc) in /etc/containers/containers.conf[.d]: without CAP_SYS_RESOURCE its defaults cannot be applied (scripts/host-deps.sh molecule sets them)"
  [ "$(sysctl -n fs.inotify.max_user_instances)" -ge 1024 ] ||
    die "fs.inotify.max_user_instances is $(sysctl -n fs.inotify.max_user_instances): every systemd in a container needs some; set it to 4096 (scripts/host-deps.sh molecule does)"
  command -v molecule >/dev/null || die "molecule is not in $VENV (scripts/setup.sh installs tests/requirements.txt)"
}

# ---------------------------------------------------------------------------------------
# 2. the image. The recipe is this function and the package list; their hash names the
# image, so changing either rebuilds it and anything else reuses it.
# python3-cryptography and python3-jwt: the stand-in packages depend on them (packaging/standin.py)
IMAGE_PACKAGES="systemd systemd-sysv dbus python3 python3-apt python3-cryptography python3-jwt sudo iproute2 procps"
image_recipe() {
  local rootfs=$1 mirror
  mirror=$(sed -n 's/^URIs: *\(.*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$MOL/debootstrap.log" 2>&1 ||
    { tail -5 "$MOL/debootstrap.log"; die "debootstrap failed (log: $MOL/debootstrap.log)"; }
  mount -t proc proc "$rootfs/proc"
  # no daemon may start inside the chroot
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  local rc=0
  # shellcheck disable=SC2086  # the package list is split on purpose
  chroot "$rootfs" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends $IMAGE_PACKAGES && apt-get clean && rm -rf /var/lib/apt/lists/*" \
      >"$MOL/chroot-install.log" 2>&1 || rc=$?
  umount "$rootfs/proc"
  rm -f "$rootfs/usr/sbin/policy-rc.d"
  [ $rc -eq 0 ] || { tail -5 "$MOL/chroot-install.log"; die "package install in the image failed (log: $MOL/chroot-install.log)"; }
  # an empty machine-id: systemd makes a fresh one at each container's first boot, so
  # every container is its own machine for the agent and the console ledger
  : > "$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
}

ensure_image() {
  local key rootfs tarball
  key=$( { declare -f image_recipe; echo "$SUITE $IMAGE_PACKAGES"; } | sha256sum | cut -c1-16)
  IMAGE=$IMAGE_NAME:$key
  tarball=$MOL/image-$key.tar
  if podman image exists "$IMAGE"; then
    lap "image $IMAGE (cached)"
    return
  fi
  if [ ! -s "$tarball" ]; then
    rootfs=$MOL/rootfs-$key
    if mountpoint -q "$rootfs/proc" 2>/dev/null; then umount "$rootfs/proc"; fi
    rm -rf "$rootfs"
    image_recipe "$rootfs"
    tar -C "$rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
    # earlier recipes' tarballs are of no use any more
    find "$MOL" -maxdepth 1 -name 'image-*.tar' ! -name "image-$key.tar" -delete
    lap "rootfs built ($(du -sh "$tarball" | cut -f1))"
  fi
  podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' "$tarball" "$IMAGE" >/dev/null
  lap "image $IMAGE imported"
  # images of earlier recipes
  podman images --format '{{.Repository}}:{{.Tag}}' --filter "reference=$IMAGE_NAME" | grep -vxF "$IMAGE" |
    xargs -r podman rmi >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------------------
# 3-4. packages, network, console; stopped again by cleanup
CONSOLE_STATE=$MOL/console
DEFAULT_CONSOLE_STATE=$MOL/default-console
cleanup() {
  set +e
  local state
  for state in "$CONSOLE_STATE" "$DEFAULT_CONSOLE_STATE"; do
    if [ -f "$state/console.pid" ]; then
      "$PYTHON" -m ansible_collections.duplicati.fleet.tests.emulator stop --state-dir "$state" console
    fi
  done
  podman rm -f -t 0 "$ANCHOR" >/dev/null 2>&1
  podman network exists "$NETWORK" 2>/dev/null && podman network rm -f "$NETWORK" >/dev/null 2>&1
  return 0
}

start_network_and_console() {
  local gateway bridge token
  cleanup   # whatever an earlier, killed run left behind
  podman network create "$NETWORK" >/dev/null
  # netavark creates the bridge with the first container on it: a sleeping container
  # keeps it up for the whole run, so the console can bind to the gateway address
  podman run -d --rm --name "$ANCHOR" --network "$NETWORK" "$IMAGE" sleep infinity >/dev/null
  gateway=$(podman network inspect "$NETWORK" --format '{{range .Subnets}}{{.Gateway}}{{end}}')
  bridge=$(podman network inspect "$NETWORK" --format '{{.NetworkInterface}}')
  ip -4 addr show dev "$bridge" | grep -qw "inet $gateway" ||
    die "the bridge $bridge of network $NETWORK does not carry the gateway address $gateway"
  case $gateway in
    10.*|172.1[6-9].*|172.2[0-9].*|172.3[01].*|192.168.*) ;;
    *) die "the gateway $gateway of network $NETWORK is not a private address: refusing to serve on it" ;;
  esac

  mkdir -p "$CONSOLE_STATE"
  chmod 700 "$CONSOLE_STATE"
  token=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')
  (umask 077; printf '{"molecule": "%s"}\n' "$token" > "$CONSOLE_STATE/tokens.json")
  rm -f "$CONSOLE_STATE/ledger.json"
  CONSOLE_URL=$("$PYTHON" -m ansible_collections.duplicati.fleet.tests.emulator start console \
      --state-dir "$CONSOLE_STATE" --host "$gateway" --port 0 \
      --token-file "$CONSOLE_STATE/tokens.json" --ledger-file "$CONSOLE_STATE/ledger.json" \
      | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["url"])') ||
    die "the emulated console did not start (log: $CONSOLE_STATE/console.log)"
  # the registration link is a secret: it goes to the playbooks in a private file only
  (umask 077; printf '%sremotecontrol/register?token=%s\n' "$CONSOLE_URL" "$token" > "$CONSOLE_STATE/registration_url")
  # the passphrase that encrypts the secrets of agent.json, for the role's preload.json
  (umask 077; "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))' > "$CONSOLE_STATE/settings_passphrase")
  # the server scenario's password, the password it is changed to, and its settings encryption key
  local secret
  for secret in server_password server_password_new server_key; do
    (umask 077; "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))' > "$CONSOLE_STATE/$secret")
  done
  lap "console at $CONSOLE_URL (bridge $bridge only)"
  GATEWAY=$gateway
}

# The default address, a fresh one for each scenario so that its record is the scenario's: no
# tokens, short claims (the probe in verify.yml gives up after a few seconds).
start_default_console() {
  if [ -f "$DEFAULT_CONSOLE_STATE/console.pid" ]; then
    "$PYTHON" -m ansible_collections.duplicati.fleet.tests.emulator stop --state-dir "$DEFAULT_CONSOLE_STATE" console
  fi
  mkdir -p "$DEFAULT_CONSOLE_STATE"
  chmod 700 "$DEFAULT_CONSOLE_STATE"
  DEFAULT_CONSOLE_URL=$("$PYTHON" -m ansible_collections.duplicati.fleet.tests.emulator start console \
      --state-dir "$DEFAULT_CONSOLE_STATE" --host "$GATEWAY" --port 0 --claim-retry-seconds 1 --claim-lifetime 3 \
      | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["url"])') ||
    die "the emulated default console did not start (log: $DEFAULT_CONSOLE_STATE/console.log)"
  export DFLEET_DEFAULT_CONSOLE_URL=$DEFAULT_CONSOLE_URL
  lap "default console at $DEFAULT_CONSOLE_URL"
}

build_packages() {
  rm -rf "$MOL/debs"
  "$PYTHON" -m ansible_collections.duplicati.fleet.tests.emulator.packaging --out "$MOL/debs" >"$MOL/packaging.log" 2>&1 ||
    { cat "$MOL/packaging.log"; die "building the stand-in packages failed"; }
  lap "packages: $(cd "$MOL/debs" && printf '%s ' ./*.deb)"
}

default_console_requests() {
  "$PYTHON" -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "_emulator/requests"))["count"])' "$DEFAULT_CONSOLE_URL"
}

# ---------------------------------------------------------------------------------------
main() {
  local scenarios=("$@") s rc=0 failed=()
  if [ ${#scenarios[@]} -eq 0 ]; then
    for s in "$REPO"/extensions/molecule/*/molecule.yml; do
      [ -e "$s" ] && scenarios+=("$(basename "$(dirname "$s")")")
    done
  fi
  [ ${#scenarios[@]} -gt 0 ] || die "no scenario under extensions/molecule/"
  check_host
  mkdir -p "$MOL"
  ensure_image
  # a copy of the working tree of our own, so that no other stage's copy is disturbed
  COLLECTIONS=$MOL/collections
  COLL=$COLLECTIONS/ansible_collections/duplicati/fleet
  sync_collection
  export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS PYTHONPATH=$COLLECTIONS
  build_packages
  trap cleanup EXIT
  start_network_and_console

  # molecule's ephemeral files, ansible's async results and caches stay under $WORK: a
  # HOME of their own, never the checkout or the user's home
  mkdir -p "$MOL/home"
  export HOME=$MOL/home ANSIBLE_HOME=$MOL/home/.ansible
  local debs=("$MOL"/debs/*-agent.deb)
  export DFLEET_MOLECULE_IMAGE=$IMAGE DFLEET_MOLECULE_NETWORK=$NETWORK DFLEET_MOLECULE_ID=$CLONE_ID DFLEET_MOLECULE_AGENT_DEB=${debs[0]}
  export DFLEET_CONSOLE_URL=$CONSOLE_URL DFLEET_REGISTRATION_URL_FILE=$CONSOLE_STATE/registration_url
  export DFLEET_PASSPHRASE_FILE=$CONSOLE_STATE/settings_passphrase
  local server_debs=("$MOL"/debs/*-cli.deb)
  export DFLEET_MOLECULE_SERVER_DEB=${server_debs[0]} DFLEET_SECRETS_DIR=$CONSOLE_STATE
  export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_LOCAL_TEMP=$MOL/home/tmp
  # one line per scenario for scripts/test.sh to count
  : > "$MOL/results.txt"
  for s in "${scenarios[@]}"; do
    start_default_console
    lap "molecule test -s $s"
    if (cd "$COLL" && molecule test -s "$s"); then
      lap "scenario $s passed (default console: $(default_console_requests) requests, the probes' included)"
      echo "$s passed" >> "$MOL/results.txt"
    else
      rc=1; failed+=("$s")
      lap "scenario $s FAILED"
      echo "$s failed" >> "$MOL/results.txt"
    fi
  done
  if [ $rc -eq 0 ]; then lap "all scenarios passed: ${scenarios[*]}"; else lap "failed scenarios: ${failed[*]}"; fi
  return $rc
}

main "$@"
