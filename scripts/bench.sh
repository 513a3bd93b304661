#!/usr/bin/env bash
# Run the benchmarks under benchmarks/ and print their tables. Figures, not pass/fail.
#   scripts/bench.sh                   every benchmarks/*_bench.py with its defaults (`make bench`)
#   scripts/bench.sh NAME [ARGS...]    only benchmarks/NAME_bench.py, with ARGS passed through,
#                                      e.g. scripts/bench.sh fleet --sizes 10,100,500
set -euo pipefail
. "$(dirname "$0")/common.sh"
if [ $# -gt 0 ]; then
  bench=$REPO/benchmarks/$1_bench.py
  shift
  [ -f "$bench" ] || { echo "bench.sh: no benchmark $bench" >&2; exit 2; }
  sync_collection
  say "$(basename "$bench")"
  exec "$PYTHON" "$bench" "$@"
fi
sync_collection
for bench in "$REPO"/benchmarks/*_bench.py; do
  [ -e "$bench" ] || continue
  say "$(basename "$bench")"
  "$PYTHON" "$bench"
done
