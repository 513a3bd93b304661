# shellcheck shell=bash
# Paths shared by the scripts under scripts/. Source it; do not run it.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${DUPLICATI_FLEET_WORK:-$REPO/.work}
VENV=${DUPLICATI_FLEET_VENV:-$REPO/.venv}
# ansible-test and ansible need the collection at .../ansible_collections/duplicati/fleet
COLLECTIONS=$WORK/collections
COLL=$COLLECTIONS/ansible_collections/duplicati/fleet
export PYTHON=$VENV/bin/python
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS
export PYTHONPATH=$COLLECTIONS${PYTHONPATH:+:$PYTHONPATH}

# Copy the working tree (tracked files and new files git does not ignore) to $COLL.
sync_collection() {
  rm -rf "$COLL"
  mkdir -p "$COLL"
  # (files deleted but not yet committed are listed by git and skipped here)
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - -cf -) | tar -C "$COLL" -xf -
  # A repository of its own, so that ansible-test lists these files and not the ones of
  # an enclosing checkout (which ignores .work/).
  git -C "$COLL" init -q
}

say() { printf '\n=== %s\n' "$*"; }
