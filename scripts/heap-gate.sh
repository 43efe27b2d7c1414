#!/usr/bin/env bash
# tlsheap gates itself: three scenarios against the deterministic mbedTLS
# peer, on the ilp32 ABI, replayed through every embedded allocator model,
# compared with the committed .ci/heap-baseline.json at zero tolerance. Any
# byte more of live peak, footprint or minimum pool fails (exit 1). After an
# intended change, `scripts/heap-gate.sh --update-baseline` rewrites the
# baseline; commit it with the change. Other arguments go to `tlsheap gate`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target tlsheap
exec "$root/build/release/src/tlsheap" gate --baseline "$root/.ci/heap-baseline.json" \
  --abi ilp32 --peer mbedtls \
  --scenario tls12-ecdhe-ecdsa-p256 --scenario tls12-psk-aes128-ccm --scenario tls13-ecdsa-p256 \
  --model mbedtls-pool --model freertos-heap4 --model esp-tlsf --model umm \
  "$@"
