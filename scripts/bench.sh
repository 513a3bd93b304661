#!/usr/bin/env bash
# Run every benchmark under benchmarks/ and print their tables. Figures, not pass/fail.
set -euo pipefail
. "$(dirname "$0")/common.sh"
sync_collection
for bench in "$REPO"/benchmarks/*_bench.py; do
  [ -e "$bench" ] || continue
  say "$(basename "$bench")"
  "$PYTHON" "$bench"
done
