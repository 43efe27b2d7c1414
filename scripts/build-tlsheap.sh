#!/usr/bin/env bash
# Set up and build tlsheap with a CMake preset:
#   scripts/build-tlsheap.sh [--tool] PRESET [ARGS]
# ARGS go to `cmake --build` (e.g. `--target tlsheap`). The set-up
# (scripts/setup.sh) installs what the tests need too, or with --tool only
# what building and profiling need. Safe to run again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
setup=(--tests)
if [ "${1:-}" = --tool ]; then
  setup=()
  shift
fi
preset="$1"
shift
"$root/scripts/setup.sh" "${setup[@]}"
cd "$root"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "$@"
