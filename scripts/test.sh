#!/usr/bin/env bash
# The whole test suite: set up, build everything (tests and benchmarks
# included) and run ctest. `scripts/test.sh asan` runs it under
# AddressSanitizer and UndefinedBehaviorSanitizer instead.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-release}"
"$root/scripts/build-tlsheap.sh" "$preset"
cd "$root"
ctest --preset "$preset" -j "$(nproc)" --no-tests=error
