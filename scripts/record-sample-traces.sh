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
# Every scenario on the default (32-bit) ABI.
for s in tls12-ecdhe-ecdsa-p256 tls12-ecdhe-rsa-chain tls13-ecdsa-p256 tls12-psk-aes128-ccm \
         tls12-ecdhe-ecdsa-mutual tls12-esp-https-request; do
  record "$s" --scenario "$s"
done
record tls12-ecdhe-ecdsa-p256-host --scenario tls12-ecdhe-ecdsa-p256 --abi host
record tls12-ecdhe-ecdsa-p256-arm --scenario tls12-ecdhe-ecdsa-p256 --abi arm
record tls12-ecdhe-ecdsa-p256-mbedtls228 --scenario tls12-ecdhe-ecdsa-p256 --mbedtls 2.28
record tls12-psk-aes128-ccm-server --scenario tls12-psk-aes128-ccm --side server
# On mbedTLS's own memory_buffer_alloc: the model's offsets are checked against these.
record tls12-ecdhe-ecdsa-p256-real-pool --scenario tls12-ecdhe-ecdsa-p256 --real-pool 131072
record tls12-ecdhe-rsa-chain-real-pool --scenario tls12-ecdhe-rsa-chain --real-pool 131072
record tls13-ecdsa-p256-real-pool --scenario tls13-ecdsa-p256 --real-pool 131072
record tls12-ecdhe-ecdsa-p256-host-real-pool --scenario tls12-ecdhe-ecdsa-p256 --real-pool 131072 --abi host
# Lifecycles (issue 10): two connections sharing one config, handshakes
# interleaved over two cycles; and TLS 1.3 with the second connection started
# while the first stays open.
record tls12-ecdhe-ecdsa-p256-2x2-together --scenario tls12-ecdhe-ecdsa-p256 --connections 2 \
  --start together --reconnects 2
record tls13-ecdsa-p256-2-staggered --scenario tls13-ecdsa-p256 --connections 2 --start staggered
