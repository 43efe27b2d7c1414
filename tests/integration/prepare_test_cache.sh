#!/usr/bin/env bash
# Fixture for the end-to-end tests: points the test cache at the fetched
# mbedTLS sources, then builds the default variant (and so the deterministic
# peer) once, before the tests that share it run in parallel.
set -euo pipefail
tlsheap="$1"
test_cache="$2"
user_cache="${TLSHEAP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tlsheap}"
mkdir -p "$test_cache"
[ -e "$test_cache/mbedtls" ] || ln -s "$user_cache/mbedtls" "$test_cache/mbedtls"
TLSHEAP_CACHE_DIR="$test_cache" "$tlsheap" profile --quiet --scenario tls12-psk-aes128-ccm >/dev/null
