#!/usr/bin/env bash
# Fetch mbedTLS source as Debian source packages into tlsheap's cache:
#   3.6  from trixie   (the default tree)
#   2.28 from bookworm
# apt is pointed at a private sources list and state directory, so the
# system's apt configuration is never touched. Safe to run again: a tree
# that is already unpacked is kept.
set -euo pipefail

cache="${TLSHEAP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tlsheap}"
apt_root="$cache/apt"
dest="$cache/mbedtls"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mirror="${TLSHEAP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

for tool in apt-get dpkg-source; do
  command -v "$tool" >/dev/null || { echo "fetch-mbedtls: '$tool' is missing (install dpkg-dev and apt)" >&2; exit 1; }
done
[ -r "$keyring" ] || { echo "fetch-mbedtls: $keyring is missing (install debian-archive-keyring)" >&2; exit 1; }

# name  suite     (the name is what `tlsheap --mbedtls NAME` accepts)
trees=("3.6 trixie" "2.28 bookworm")

have_all=1
for t in "${trees[@]}"; do
  set -- $t
  [ -f "$dest/$1/.tlsheap-source" ] || have_all=0
done
if [ "$have_all" = 1 ]; then
  for t in "${trees[@]}"; do set -- $t; echo "mbedTLS $1: $(cat "$dest/$1/.tlsheap-source")"; done
  exit 0
fi

mkdir -p "$apt_root/lists/partial" "$apt_root/cache/archives/partial" "$apt_root/etc" "$dest"
{
  for t in "${trees[@]}"; do
    set -- $t
    echo "deb-src [signed-by=$keyring] $mirror $2 main"
  done
} >"$apt_root/etc/sources.list"

apt_opts=(
  -o "Dir::Etc::sourcelist=$apt_root/etc/sources.list"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$apt_root/lists"
  -o "Dir::Cache=$apt_root/cache"
  -o "APT::Get::List-Cleanup=0"
  -o "APT::Sandbox::User=root"
  -o "Debug::NoLocking=1"
)
echo "fetch-mbedtls: reading Debian's source indexes ($mirror)"
apt-get "${apt_opts[@]}" -qq update

for t in "${trees[@]}"; do
  set -- $t
  name=$1 suite=$2
  [ -f "$dest/$name/.tlsheap-source" ] && { echo "mbedTLS $name: $(cat "$dest/$name/.tlsheap-source")"; continue; }
  echo "fetch-mbedtls: downloading and unpacking mbedTLS $name ($suite), a few seconds"
  work="$apt_root/download/$suite"
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && apt-get "${apt_opts[@]}" -qq source --download-only "mbedtls/$suite" >/dev/null)
  dsc=$(ls "$work"/*.dsc)
  version=$(sed -n 's/^Version: //p' "$dsc")
  rm -rf "$dest/$name.tmp"
  dpkg-source --no-check --no-copy -x "$dsc" "$dest/$name.tmp" >/dev/null
  echo "debian mbedtls $version ($suite)" >"$dest/$name.tmp/.tlsheap-source"
  rm -rf "$dest/$name" && mv "$dest/$name.tmp" "$dest/$name"
  rm -rf "$work"
  echo "mbedTLS $name: $(cat "$dest/$name/.tlsheap-source")"
done
