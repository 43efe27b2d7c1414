#!/usr/bin/env bash
# Installs what tlsheap needs on Debian (bookworm or later) and fetches the
# mbedTLS sources. Installs only what is missing; safe to run again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

packages=(
  # toolchain and build
  g++ cmake make pkg-config clang-format
  # the fuzz harnesses (scripts/fuzz.sh): clang and its runtimes, libFuzzer
  # among them (only a recommendation of clang, which we do not install)
  clang libclang-rt-dev
  # the device-like ABIs: 32-bit x86 (not the gcc-multilib metapackage, which
  # conflicts with the ARM cross compiler) and 32-bit ARM under qemu-user
  gcc-12-multilib g++-12-multilib g++-arm-linux-gnueabihf qemu-user
  # libraries tlsheap links (all found with find_package / pkg-config)
  libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libunwind-dev libdw-dev libxxhash-dev
  # validating every JSON document against its schema in the tests (header-only;
  # Debian's package drags in the backends of all its adapters, Qt5 among them)
  libvalijson-dev
  # fetching mbedTLS as Debian source packages
  dpkg-dev debian-archive-keyring
  # the independent TLS peer
  openssl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$here/fetch-mbedtls.sh"
