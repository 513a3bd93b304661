#!/usr/bin/env bash
# Build the HTML docs site of duplicati.fleet with antsibull-docs and Sphinx: every module, the
# lookup and the role (from its meta/argument_specs.yml), the guides in docs/docsite/rst and the
# links in docs/docsite/links.yml. The lint runs first, so broken docs stop the build.
# Output: .work/docs/build/html/index.html (the path is printed at the end).
set -euo pipefail
. "$(dirname "$0")/common.sh"

bash "$REPO/scripts/setup.sh" >/dev/null
"$PYTHON" -m pip install -q --disable-pip-version-check -r "$REPO/docs/docsite/requirements.txt"
sync_collection

say "antsibull-docs lint-collection-docs"
(cd "$COLL" && antsibull-docs lint-collection-docs --plugin-docs .)

site=$WORK/docs
rm -rf "$site"
mkdir -p "$WORK"
mkdir -m 0700 "$site"
say "antsibull-docs sphinx-init + build"
antsibull-docs sphinx-init --use-current --lenient --fail-on-error --dest-dir "$site" duplicati.fleet >/dev/null
(cd "$site" && bash ./build.sh) > "$site/build.log" 2>&1 || { tail -40 "$site/build.log"; exit 1; }
# Every Sphinx warning fails the build, except the links into docs.ansible.com that cannot be
# resolved without its inventory (this network has no route to it).
external="undefined label: '(common_return_values|ansible_configuration_settings|ansible_collections\.ansible\.builtin\.[a-z_]+)'"
if grep -E 'WARNING|ERROR' "$site/build.log" | grep -Ev "$external|failed to reach any of the inventories" >&2; then
  echo "docs: Sphinx reported the problems above" >&2
  exit 1
fi

html=$site/build/html
for page in index.html collections/duplicati/fleet/index.html \
            collections/duplicati/fleet/agent_registration_module.html \
            collections/duplicati/fleet/release_lookup.html \
            collections/duplicati/fleet/duplicati_agent_role.html \
            collections/duplicati/fleet/docsite/guide_fleet_rollout.html \
            collections/duplicati/fleet/docsite/guide_awx.html; do
  [ -s "$html/$page" ] || { echo "docs: $page is missing from the site" >&2; exit 1; }
done
echo "docs: open file://$html/collections/duplicati/fleet/index.html"
