#!/usr/bin/env bash
# Set up (scripts/setup.sh: Debian packages, mbedTLS sources) and build
# tlsheap with a CMake preset: `scripts/build-tlsheap.sh PRESET [ARGS]`,
# ARGS going to `cmake --build` (e.g. `--target tlsheap`). Safe to run again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="$1"
shift
"$root/scripts/setup.sh"
cd "$root"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "$@"
