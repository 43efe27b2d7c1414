#!/usr/bin/env bash
# Re-records the sample traces committed under traces/ (used by tests, the
# replay benchmark and the docs). Run after a trace format change.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tlsheap="${TLSHEAP:-$root/build/release/src/tlsheap}"
out="$root/traces"
mkdir -p "$out"
record() {
  local name="$1"; shift
  "$tlsheap" profile --quiet --trace "$out/$name.trace" "$@" >/dev/null
  echo "traces/$name.trace: $(stat -c %s "$out/$name.trace") bytes"
}
record tls12-ecdhe-ecdsa-p256 --scenario tls12-ecdhe-ecdsa-p256
record tls12-ecdhe-rsa-chain --scenario tls12-ecdhe-rsa-chain
record tls13-ecdsa-p256 --scenario tls13-ecdsa-p256
record tls12-psk-aes128-ccm --scenario tls12-psk-aes128-ccm
record tls12-ecdhe-ecdsa-p256-mbedtls228 --scenario tls12-ecdhe-ecdsa-p256 --mbedtls 2.28
# On mbedTLS's own memory_buffer_alloc: the model's offsets are checked against these.
record tls12-ecdhe-ecdsa-p256-real-pool --scenario tls12-ecdhe-ecdsa-p256 --real-pool 131072
record tls12-ecdhe-rsa-chain-real-pool --scenario tls12-ecdhe-rsa-chain --real-pool 131072
record tls13-ecdsa-p256-real-pool --scenario tls13-ecdsa-p256 --real-pool 131072
