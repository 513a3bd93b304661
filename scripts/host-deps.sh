#!/usr/bin/env bash
# What the stages of `make test` need from the host beyond .venv, checked first and, when
# something is missing, installed (as root, with apt) or named with the command to run:
#   - the Debian packages of tests/bindep.txt with the profile `test` (every stage) or the stage's
#     own name (`sanity`: shellcheck; `molecule`: podman, runc, debootstrap);
#   - for molecule, the host settings scripts/molecule.sh checks: podman on runc with explicit
#     default ulimits (a containers.conf drop-in), fs.inotify.max_user_instances >= 4096.
# Usage: scripts/host-deps.sh [stage ...]   (default: every stage). Exit 0 when all is there.
set -euo pipefail
. "$(dirname "$0")/common.sh"

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(sanity units integration build lint ecosystem molecule)
CONTAINERS_CONF=/etc/containers/containers.conf.d/50-duplicati-fleet.conf
CONTAINERS_TEXT='[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"'
INOTIFY_INSTANCES=4096

# The packages of tests/bindep.txt whose profiles name `test` or one of the stages (platform:dpkg).
wanted_packages() {
  local line name profiles p
  while read -r line; do
    line=${line%%#*}
    name=${line%% *}
    [[ $line == *'['*']'* && $line == *platform:dpkg* ]] || continue
    profiles=${line#*[}; profiles=${profiles%]*}
    for p in $profiles; do
      if [ "$p" = test ] || [[ " ${stages[*]} " == *" $p "* ]]; then echo "$name"; break; fi
    done
  done < "$REPO/tests/bindep.txt"
}

missing_packages() {
  local pkg
  for pkg in $(wanted_packages); do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || echo "$pkg"
  done
}

needs_molecule_settings() {
  [[ " ${stages[*]} " == *" molecule "* ]] || return 1
  [ "$(cat "$CONTAINERS_CONF" 2>/dev/null)" != "$CONTAINERS_TEXT" ] ||
    [ "$(sysctl -n fs.inotify.max_user_instances)" -lt "$INOTIFY_INSTANCES" ]
}

command -v dpkg-query >/dev/null ||
  { echo "host-deps: this is not a Debian-like system; install the packages of tests/bindep.txt by hand" >&2; exit 1; }
mapfile -t missing < <(missing_packages)
settings=
if needs_molecule_settings; then settings=yes; fi
[ ${#missing[@]} -gt 0 ] || [ -n "$settings" ] || exit 0

if [ "$(id -u)" != 0 ]; then
  {
    [ ${#missing[@]} -eq 0 ] || echo "host-deps: missing Debian packages: ${missing[*]}"
    [ -z "$settings" ] || echo "host-deps: the molecule host settings are not in place ($CONTAINERS_CONF, fs.inotify.max_user_instances)"
    echo "host-deps: run as root, then run the tests again:"
    echo "  sudo bash $REPO/scripts/host-deps.sh ${stages[*]}"
  } >&2
  exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "host-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null </dev/null
fi
if [ -n "$settings" ]; then
  echo "host-deps: podman drop-in $CONTAINERS_CONF, fs.inotify.max_user_instances=$INOTIFY_INSTANCES"
  # without CAP_SYS_RESOURCE podman cannot apply its default rlimits: give explicit ones;
  # crun refuses this cgroup v1/v2 hybrid, runc works
  mkdir -p "$(dirname "$CONTAINERS_CONF")"
  printf '%s\n' "$CONTAINERS_TEXT" > "$CONTAINERS_CONF"
  # every systemd in a container takes inotify instances; the default 128 runs out
  [ "$(sysctl -n fs.inotify.max_user_instances)" -ge "$INOTIFY_INSTANCES" ] ||
    sysctl -q -w fs.inotify.max_user_instances=$INOTIFY_INSTANCES
fi
