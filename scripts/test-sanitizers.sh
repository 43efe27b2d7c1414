#!/usr/bin/env bash
# The sanitizer smoke that CI runs: under AddressSanitizer and
# UndefinedBehaviorSanitizer (the asan preset), builds only what the tests
# labelled sanitizer-smoke need (the unit test programs, one end-to-end test
# per stage, the tlsheap binary) and runs those tests. The whole suite under
# the sanitizers stays `scripts/test.sh asan`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$SECONDS
"$root/scripts/build-tlsheap.sh" asan --target sanitizer_smoke_tests
built=$SECONDS
cd "$root"
ctest --preset asan -L sanitizer-smoke -j "$(nproc)"
echo "test-sanitizers: build $((built - start)) s, tests $((SECONDS - built)) s"
