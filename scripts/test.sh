#!/usr/bin/env bash
# Every test of the collection, in the order a failure is cheapest to find:
#   sanity, units (module_utils, modules, the emulator), integration (modules against the
#   emulator), build (ansible-galaxy collection build + install, from the tarball and from a git
#   checkout), lint (ruff, ansible-lint, antsibull-docs, antsibull-changelog, ansible-builder),
#   ecosystem (AWX credential injection, rollout.yml through ansible-runner), molecule (podman
#   containers). First scripts/host-deps.sh (system packages, host settings), then .venv. Each
#   stage is counted from structured results (JUnit XML, ansible-test's data, per-scenario exit
#   codes). Ends with one line "summary: N passed, N failed" and a non-zero exit on any failure.
# Usage: scripts/test.sh [stage ...]   (default: all stages)
set -uo pipefail
. "$(dirname "$0")/common.sh"

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(sanity units integration build lint ecosystem molecule)
# system packages and host settings first (installed as root, else the command to run)
bash "$REPO/scripts/host-deps.sh" "${stages[@]}" || { echo "summary: 0 passed, 1 failed"; exit 1; }
bash "$REPO/scripts/setup.sh" >/dev/null || { echo "summary: 0 passed, 1 failed"; exit 1; }
sync_collection
LOGS=$WORK/logs
mkdir -p "$LOGS"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

passed=0 failed=0 failed_stages=()
count() { passed=$((passed + $1)); failed=$((failed + $2)); [ "$2" -eq 0 ] || failed_stages+=("$3"); }

# count_results STAGE EXIT_CODE LOG KIND ARGS...: the stage's counts from the structured results
# (scripts/results.py KIND ARGS...: JUnit XML, or ansible-test's integration data). A stage that
# failed without a failed test in them (a crash, no results at all) counts as one failure; so
# does one in which nothing ran.
count_results() {
  local stage=$1 rc=$2 log=$3 p f s names
  shift 3
  { read -r p f s; mapfile -t names; } < <(python "$REPO/scripts/results.py" "$@" 2>>"$log" || echo "0 0 0")
  [ ${#names[@]} -eq 0 ] || printf '%s: FAILED %s\n' "$stage" "${names[@]}"
  echo "$stage: $p passed, $f failed, $s skipped or not applicable (log: $log)"
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    grep -E '^(ERROR|FATAL)' "$log" | tail -20
    echo "$stage: exited with $rc without a failed test in its results"
    f=1
  elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    echo "$stage: no test ran"
    f=1
  fi
  count "$p" "$f" "$stage"
}

stage_sanity() {
  say "ansible-test sanity"
  local log=$LOGS/sanity.log
  rm -rf "$COLL/tests/output/junit"
  (cd "$COLL" && ansible-test sanity --python 3.11 --local --color no --junit) > "$log" 2>&1
  count_results sanity $? "$log" junit "$COLL/tests/output/junit"
}

stage_units() {
  say "ansible-test units"
  local log=$LOGS/units.log
  rm -rf "$COLL/tests/output/junit"
  (cd "$COLL" && ansible-test units --python 3.11 --local --color no) > "$log" 2>&1
  count_results units $? "$log" junit "$COLL/tests/output/junit"
}

stage_integration() {
  say "ansible-test integration (local, against the emulator)"
  local log=$LOGS/integration.log targets
  rm -rf "$COLL/tests/output/data"
  mapfile -t targets < <(cd "$COLL" && ansible-test integration --list-targets 2>/dev/null)
  (cd "$COLL" && ansible-test integration --python 3.11 --local --color no --continue-on-error) > "$log" 2>&1
  count_results integration $? "$log" integration "$COLL/tests/output/data" "${targets[@]}"
}

stage_build() {
  say "ansible-galaxy collection build + install (tarball, git checkout)"
  local out=$WORK/build
  rm -rf "$out"; mkdir -p "$out/installed" "$out/from-git"
  if (cd "$COLL" && ansible-galaxy collection build --force --output-path "$out" >"$LOGS/build.log" 2>&1) &&
     ansible-galaxy collection install --force --offline -p "$out/installed" "$out"/duplicati-fleet-*.tar.gz >>"$LOGS/build.log" 2>&1 &&
     ANSIBLE_COLLECTIONS_PATH=$out/installed ansible-doc -l duplicati.fleet >>"$LOGS/build.log" 2>&1 &&
     [ -f "$out/installed/ansible_collections/duplicati/fleet/MANIFEST.json" ]; then
    echo "build: $(basename "$out"/duplicati-fleet-*.tar.gz) built and installed"
    count 1 0 build
  else
    tail -20 "$LOGS/build.log"
    count 0 1 build
  fi
  # Install from a git checkout, as `ansible-galaxy collection install git+https://...` does: a
  # repository holding the working tree, installed through git+file://.
  local gitsrc=$out/git-source inst=$out/from-git/ansible_collections/duplicati/fleet
  rm -rf "$gitsrc"; cp -a "$COLL" "$gitsrc"; rm -rf "$gitsrc/.git"
  if git -C "$gitsrc" init -q && git -C "$gitsrc" add -A &&
     git -C "$gitsrc" -c user.name=duplicati.fleet -c user.email=ci@duplicati.fleet.invalid commit -q -m "checkout under test" &&
     ansible-galaxy collection install --force --offline -p "$out/from-git" "git+file://$gitsrc/.git" >"$LOGS/build-git.log" 2>&1 &&
     [ -f "$inst/MANIFEST.json" ] && [ -f "$inst/roles/duplicati_agent/meta/argument_specs.yml" ] &&
     [ ! -e "$inst/tests/unit" ] && [ ! -e "$inst/scripts" ] &&
     ANSIBLE_COLLECTIONS_PATH=$out/from-git ansible-doc duplicati.fleet.agent_registration >>"$LOGS/build-git.log" 2>&1 &&
     ANSIBLE_COLLECTIONS_PATH=$out/from-git ansible-playbook --syntax-check "$inst/playbooks/rollout.yml" >>"$LOGS/build-git.log" 2>&1; then
    echo "build: installed from a git checkout (git+file://)"
    count 1 0 build
  else
    tail -20 "$LOGS/build-git.log"
    count 0 1 build
  fi
  # The tarball ships the emulator its integration targets need: one target runs from the installed tarball.
  # (git init: the install lies inside this checkout, whose git would hide its files from ansible-test.)
  if (cd "$out/installed/ansible_collections/duplicati/fleet" && [ -f tests/emulator/__main__.py ] && git init -q &&
      ansible-test integration --python 3.11 --local --color no server_info) >"$LOGS/build-integration.log" 2>&1; then
    echo "build: ansible-test integration server_info ran from the installed tarball"
    count 1 0 build
  else
    tail -20 "$LOGS/build-integration.log"
    count 0 1 build
  fi
  # The emulator starts from a clone (any folder name) in a fresh shell, with the documented command.
  local clone=$out/clone
  rm -rf "$clone"
  if git clone -q "$gitsrc" "$clone/duplicati-fleet" &&
     env -i HOME="$clone" PATH=/usr/bin:/bin PYTHON="$VENV/bin/python" \
       bash "$clone/duplicati-fleet/scripts/emulator.sh" start server --state-dir "$clone/server" >"$clone/server.json" 2>"$LOGS/build-emulator.log" &&
     "$VENV/bin/python" -c 'import json, sys, urllib.error, urllib.request
url = json.load(open(sys.argv[1]))["url"]
try:
    print(urllib.request.urlopen(url + "api/v1/serverstate").status)
except urllib.error.HTTPError as err:  # an answer (401 without a login) is what is checked here
    print(err.code)' "$clone/server.json" >>"$LOGS/build-emulator.log" 2>&1 &&
     env -i HOME="$clone" PATH=/usr/bin:/bin PYTHON="$VENV/bin/python" \
       bash "$clone/duplicati-fleet/scripts/emulator.sh" stop --state-dir "$clone/server" server >>"$LOGS/build-emulator.log" 2>&1; then
    echo "build: the emulator started from a clone in a fresh shell (scripts/emulator.sh)"
    count 1 0 build
  else
    tail -20 "$LOGS/build-emulator.log"
    count 0 1 build
  fi
}

# One check of the lint stage: its name, its log, then the command.
lint_check() {
  local name=$1 log=$LOGS/lint-$1.log; shift
  if (cd "$COLL" && "$@") > "$log" 2>&1; then
    echo "lint: $name passed"
    count 1 0 lint
  else
    tail -30 "$log"
    echo "lint: $name FAILED (see $log)"
    count 0 1 lint
  fi
}

ee_check() {
  # The example EE builds from the collection tarball, as an AWX project would lay it out (collections/ with the
  # tarball and requirements.yml): ansible-builder's context holds the tarball, its requirements.yml names it, and
  # ansible-galaxy installs the collection from the context as the build does (and from the project, as the
  # controller's project sync does). ansible-builder finds the collection's own dependencies in it.
  local ctx=$WORK/ee project=$WORK/ee-project
  rm -rf "$ctx" "$project"; mkdir -p "$project"
  cp -a extensions/awx/. "$project/" &&
    ansible-galaxy collection build --force --output-path "$project/collections" . >/dev/null &&
    ansible-builder create -f "$project/execution-environment.yml" --context "$ctx" &&
    (cd "$ctx" && find . -path ./_build/scripts -prune -o -type f -print | sort) &&
    ls "$ctx"/_build/collections/duplicati-fleet-*.tar.gz &&
    (cd "$ctx/_build" && ansible-galaxy collection install --force --offline -r requirements.yml -p "$ctx/installed") &&
    [ -f "$ctx/installed/ansible_collections/duplicati/fleet/MANIFEST.json" ] &&
    (cd "$project" && ansible-galaxy collection install --force --offline -r collections/requirements.yml -p "$project/installed") &&
    [ -f "$project/installed/ansible_collections/duplicati/fleet/MANIFEST.json" ] &&
    ansible-builder introspect --sanitize "$ctx/installed" > "$ctx/introspect.yml" &&
    cat "$ctx/introspect.yml" &&
    grep -q "cryptography.*from collection duplicati.fleet" "$ctx/introspect.yml" &&
    grep -q "libssl-dev \[compile platform:dpkg\].*from collection duplicati.fleet" "$ctx/introspect.yml"
}

stage_lint() {
  say "lint: ruff, ansible-lint, collection docs, changelog, execution environment"
  local lint_paths=() p
  for p in roles playbooks; do [ -d "$COLL/$p" ] && lint_paths+=("$p"); done
  lint_check ruff ruff check --no-cache --output-format concise .
  lint_check ansible-lint env NO_COLOR=1 ansible-lint --nocolor "${lint_paths[@]}"
  lint_check collection-docs antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .
  lint_check changelog antsibull-changelog lint
  lint_check execution-environment ee_check
}

stage_ecosystem() {
  say "ecosystem: AWX credential injection + playbooks/rollout.yml through ansible-runner"
  local log=$LOGS/ecosystem.log
  rm -f "$LOGS/ecosystem.xml"
  (cd "$COLL" && python -m pytest -q -p no:cacheprovider --junit-xml "$LOGS/ecosystem.xml" tests/ecosystem) > "$log" 2>&1
  count_results ecosystem $? "$log" junit "$LOGS/ecosystem.xml"
}

stage_molecule() {
  local scenarios=("$REPO"/extensions/molecule/*/molecule.yml)
  [ -e "${scenarios[0]}" ] || return 0
  say "molecule"
  local results=$WORK/molecule/results.txt p=0 f=0 name outcome
  rm -f "$results"
  bash "$REPO/scripts/molecule.sh" > "$LOGS/molecule.log" 2>&1
  local rc=$?
  grep -E '^(INFO|CRITICAL|ERROR).*(scenario|Scenario)|failed=|RECAP' "$LOGS/molecule.log" | tail -20
  # one line "<scenario> passed|failed" per scenario run (scripts/molecule.sh)
  while read -r name outcome; do
    if [ "$outcome" = passed ]; then p=$((p + 1)); else f=$((f + 1)); echo "molecule: FAILED $name"; fi
  done < <(cat "$results" 2>/dev/null)
  echo "molecule: $p passed, $f failed (log: $LOGS/molecule.log)"
  if [ $rc -ne 0 ] && [ $f -eq 0 ]; then tail -5 "$LOGS/molecule.log"; f=1; fi
  count "$p" "$f" molecule
}

for s in "${stages[@]}"; do "stage_$s"; done
echo
[ ${#failed_stages[@]} -eq 0 ] || echo "failed stages: ${failed_stages[*]} (logs in $LOGS)"
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
