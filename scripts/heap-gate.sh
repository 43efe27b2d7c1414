#!/usr/bin/env bash
# tlsheap gates itself: three scenarios against the deterministic mbedTLS
# peer, on the ilp32 ABI, replayed through every embedded allocator model,
# compared with the committed .ci/heap-baseline.json at zero tolerance. Any
# byte more of live peak, footprint or minimum pool fails (exit 1). After an
# intended change, `scripts/heap-gate.sh --update-baseline` rewrites the
# baseline; commit it with the change. Other arguments go to `tlsheap gate`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build-tlsheap.sh" --tool release --target tlsheap
cd "$root"

# The baseline holds for the mbedTLS it was measured with. When a Debian
# point release moves trixie's mbedTLS, every figure may move for reasons
# that are not this change: say so loudly and do not gate until the baseline
# is refreshed (which is itself a reviewed change).
baseline="$root/.ci/heap-baseline.json"
cache="${TLSHEAP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tlsheap}"
have=$(sed -n 's/^#define MBEDTLS_VERSION_STRING *"\(.*\)"/\1/p' \
  "$cache/mbedtls/3.6/include/mbedtls/build_info.h")
want=$(sed -n 's/^ *"mbedtls": "\([0-9.]*\)",*$/\1/p' "$baseline" | head -n 1)
if [[ "$have" != "$want" && " $* " != *" --update-baseline "* ]]; then
  echo "heap-gate: NOT GATED: .ci/heap-baseline.json was measured on mbedTLS $want, the fetched" \
    "tree is $have; run scripts/heap-gate.sh --update-baseline and commit the baseline" >&2
  exit 0
fi

exec "$root/build/release/src/tlsheap" gate --baseline "$baseline" \
  --abi ilp32 --peer mbedtls \
  --scenario tls12-ecdhe-ecdsa-p256 --scenario tls12-psk-aes128-ccm --scenario tls13-ecdsa-p256 \
  --model mbedtls-pool --model freertos-heap4 --model esp-tlsf --model umm \
  "$@"
