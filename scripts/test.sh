#!/usr/bin/env bash
# Every test of the collection, in the order a failure is cheapest to find:
#   sanity, units (module_utils, modules, the emulator), integration (modules against the
#   emulator), build (ansible-galaxy collection build + install, from the tarball and from a git
#   checkout), lint (ruff, ansible-lint, antsibull-docs, antsibull-changelog, ansible-builder),
#   ecosystem (AWX credential injection, rollout.yml through ansible-runner), molecule (when
#   podman is present). Ends with one line "summary: N passed, N failed" and a non-zero exit on any failure.
# Usage: scripts/test.sh [stage ...]   (default: all stages)
set -uo pipefail
. "$(dirname "$0")/common.sh"

bash "$REPO/scripts/setup.sh" >/dev/null || { echo "summary: 0 passed, 1 failed"; exit 1; }
sync_collection
LOGS=$WORK/logs
mkdir -p "$LOGS"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(sanity units integration build lint ecosystem molecule)

passed=0 failed=0 failed_stages=()
count() { passed=$((passed + $1)); failed=$((failed + $2)); [ "$2" -eq 0 ] || failed_stages+=("$3"); }

stage_sanity() {
  say "ansible-test sanity"
  command -v shellcheck >/dev/null || echo "note: shellcheck is not installed; ansible-test skips that sanity test (apt-get install shellcheck)"
  local log=$LOGS/sanity.log
  (cd "$COLL" && ansible-test sanity --python 3.11 --local --color no) > "$log" 2>&1
  local rc=$?
  local total; total=$(grep -c '^Running sanity test' "$log")
  local bad; bad=$(sed -n 's/^FATAL: The \([0-9]\+\) sanity test(s) listed below (out of \([0-9]\+\)) failed.*/\1/p' "$log")
  grep -E '^(ERROR|FATAL)|^WARNING: (Required|Skipping)' "$log" | head -60
  if [ $rc -ne 0 ]; then
    bad=${bad:-1}
    echo "sanity: $bad of $total tests failed"
    count $((total - bad > 0 ? total - bad : 0)) "$bad" sanity
  else
    echo "sanity: $total tests passed"
    count "$total" 0 sanity
  fi
}

stage_units() {
  say "ansible-test units"
  local log=$LOGS/units.log
  (cd "$COLL" && ansible-test units --python 3.11 --local --color no) > "$log" 2>&1
  local rc=$?
  # ansible-test runs one pytest session per group (modules, module_utils, other tests)
  local p=0 f=0 line n
  while read -r line; do
    echo "$line"
    n=$(sed -n 's/.* \([0-9]\+\) passed.*/\1/p' <<<"$line"); p=$((p + ${n:-0}))
    n=$(sed -n 's/.* \([0-9]\+\) failed.*/\1/p' <<<"$line"); f=$((f + ${n:-0}))
    n=$(sed -n 's/.* \([0-9]\+\) errors\?.*/\1/p' <<<"$line"); f=$((f + ${n:-0}))
  done < <(grep -E '^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s' "$log")
  if [ $rc -ne 0 ]; then
    grep -E '^(FAILED|ERROR) |^FATAL' "$log" | head -40
    [ "$f" -gt 0 ] || f=1
  fi
  count "$p" "$f" units
}

stage_integration() {
  say "ansible-test integration (local, against the emulator)"
  local log=$LOGS/integration.log
  (cd "$COLL" && ansible-test integration --python 3.11 --local --color no) > "$log" 2>&1
  local rc=$?
  local targets; targets=$(grep -cE '^Running .* integration test (role|script)' "$log")
  grep -E 'PLAY RECAP|failed=[1-9]|^ERROR|^FATAL' "$log" | tail -20
  if [ $rc -ne 0 ]; then
    echo "integration: failed (see $log)"
    count $((targets > 0 ? targets - 1 : 0)) 1 integration
  else
    echo "integration: $targets targets passed"
    count "$targets" 0 integration
  fi
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
  (cd "$COLL" && python -m pytest -q -p no:cacheprovider tests/ecosystem) > "$log" 2>&1
  local rc=$?
  local line; line=$(grep -E '^=* *[0-9]+ (passed|failed)|no tests ran|error' "$log" | tail -1)
  echo "ecosystem: ${line:-no result line}"
  local p f
  p=$(sed -n 's/.*\b\([0-9]\+\) passed.*/\1/p' <<<"$line"); p=${p:-0}
  f=$(sed -n 's/.*\b\([0-9]\+\) failed.*/\1/p' <<<"$line"); f=${f:-0}
  if [ $rc -ne 0 ]; then
    grep -E '^(FAILED|ERROR) |^E  ' "$log" | head -30
    [ "$f" -gt 0 ] || f=1
  elif [ "$p" -eq 0 ]; then
    echo "ecosystem: no test ran"; f=1
  fi
  count "$p" "$f" ecosystem
}

stage_molecule() {
  local scenarios=("$REPO"/extensions/molecule/*/molecule.yml)
  [ -e "${scenarios[0]}" ] || return 0
  say "molecule"
  if ! command -v podman >/dev/null; then
    echo "molecule: podman is not installed; scenarios not run (.ci/run installs it)"
    count 0 1 molecule
    return
  fi
  bash "$REPO/scripts/molecule.sh" > "$LOGS/molecule.log" 2>&1
  local rc=$?
  grep -E '^(INFO|CRITICAL|ERROR).*(scenario|Scenario)|failed=|RECAP' "$LOGS/molecule.log" | tail -20
  if [ $rc -eq 0 ]; then count "${#scenarios[@]}" 0 molecule; else count 0 1 molecule; fi
}

for s in "${stages[@]}"; do "stage_$s"; done
echo
[ ${#failed_stages[@]} -eq 0 ] || echo "failed stages: ${failed_stages[*]} (logs in $LOGS)"
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
