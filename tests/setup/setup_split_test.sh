#!/usr/bin/env bash
# The two set-ups of scripts/setup.sh: the main job's installs what building
# and profiling need and none of the test tools; `--tests` adds them. A build
# configured without the test frameworks (as after the main job's set-up)
# builds the tool alone, and CI (TLSHEAP_REQUIRE_ALL_TESTS) refuses it.
#   tests/setup/setup_split_test.sh SCRATCH_DIR
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scratch="$1"
fail() { echo "setup split: $*" >&2; exit 1; }

tool=$("$root/scripts/setup.sh" --list)
tests=$("$root/scripts/setup.sh" --tests --list)
for p in libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-dev clang-format \
  qemu-user g++-arm-linux-gnueabihf libunwind-dev python3-jsonschema valgrind; do
  grep -qx -- "$p" <<<"$tool" && fail "$p, a test tool, is in the main job's set-up"
  grep -qx -- "$p" <<<"$tests" || fail "$p is missing from the set-up with --tests"
done
for p in g++ cmake libfmt-dev libcli11-dev nlohmann-json3-dev libdw-dev libxxhash-dev \
  g++-12-multilib openssl gnutls-bin nginx-light mosquitto dpkg-dev debian-archive-keyring \
  help2man libprotobuf-dev protobuf-compiler golang-github-google-pprof-dev zlib1g-dev; do
  grep -qx -- "$p" <<<"$tool" || fail "$p, which profiling needs, is not in the main job's set-up"
done
grep -q valijson <<<"$tests" && fail "valijson is back (its Debian package pulls 156 others)"

rm -rf "$scratch" && mkdir -p "$scratch"
configure() {
  env -u TLSHEAP_REQUIRE_ALL_TESTS "$@" cmake -S "$root" -B "$scratch/build" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON
}
configure >"$scratch/tool.log" 2>&1 || { cat "$scratch/tool.log"; fail "no build without the test frameworks"; }
grep -q "GTest not found: building without the TESTS" "$scratch/tool.log" ||
  fail "no warning that the tests are left out"
[ ! -e "$scratch/build/tests" ] || fail "tests configured without GoogleTest"
cmake --build "$scratch/build" --target help >"$scratch/targets"
grep -qx '\.\.\. tlsheap' "$scratch/targets" || fail "no tlsheap target in the build"

rm -rf "$scratch/build"
if configure TLSHEAP_REQUIRE_ALL_TESTS=1 >"$scratch/ci.log" 2>&1; then
  fail "CI configured a build without its tests"
fi
grep -q "GTest not found: run scripts/setup.sh --tests" "$scratch/ci.log" ||
  { cat "$scratch/ci.log"; fail "CI's refusal does not say what to run"; }
rm -rf "$scratch"
echo "setup split: the main job's set-up has $(wc -l <<<"$tool") packages, --tests $(wc -l <<<"$tests")"
