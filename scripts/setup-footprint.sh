#!/usr/bin/env bash
# What the two set-ups cost on a clean machine: a minimal Debian bookworm made
# with debootstrap (needs root and the debootstrap package) in a scratch
# directory, then, for `scripts/setup.sh` and `scripts/setup.sh --tests`,
# the packages apt would install there, their download size and, with
# --install, the time to install them (each into its own copy).
#   scripts/setup-footprint.sh [--install] [SCRATCH_DIR]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
install=0
[ "${1:-}" = --install ] && { install=1; shift; }
scratch="${1:-$(mktemp -d /tmp/tlsheap-footprint.XXXXXX)}"
mirror="${TLSHEAP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
command -v debootstrap >/dev/null || { echo "setup-footprint: install debootstrap" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "setup-footprint: needs root (debootstrap, chroot)" >&2; exit 1; }

mkdir -p "$scratch"
clean="$scratch/bookworm"
if [ ! -x "$clean/usr/bin/apt-get" ]; then
  echo "setup-footprint: debootstrap --variant=minbase bookworm into $clean"
  debootstrap --variant=minbase bookworm "$clean" "$mirror" >"$scratch/debootstrap.log"
  cp /etc/resolv.conf "$clean/etc/resolv.conf"
  chroot "$clean" apt-get update -qq
fi

for set in "" --tests; do
  packages=$("$root/scripts/setup.sh" $set --list | tr '\n' ' ')
  chroot "$clean" apt-get install --print-uris -qq -y --no-install-recommends $packages |
    awk -v set="scripts/setup.sh${set:+ $set}" '{bytes += $3; n++}
      END {printf "%-26s %d packages, %.0f MiB to download\n", set ":", n, bytes / 1048576}'
  if [ "$install" = 1 ]; then
    copy="$scratch/copy"
    rm -rf "$copy" && cp -a "$clean" "$copy"
    start=$SECONDS
    DEBIAN_FRONTEND=noninteractive chroot "$copy" apt-get install -y -qq --no-install-recommends \
      $packages >"$scratch/install.log" 2>&1
    echo "                           installed in $((SECONDS - start)) s"
    rm -rf "$copy"
  fi
done
