#!/usr/bin/env bash
# ESP-IDF's published heap figures for its https_request example (docs:
# api-reference/protocols/mbedtls.rst, "Reducing Heap Usage") next to
# tlsheap's, for the same four configurations, on the 32-bit ABI:
#   default, MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH on, MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
#   off, and dynamic TX/RX buffers with the config data and the CA chain freed.
# The ESP-IDF-like base config: mbedTLS 3.6's default with
# MBEDTLS_SSL_OUT_CONTENT_LEN 4096 and TLS 1.3 off, as ESP-IDF v5.5 ships.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tlsheap="${TLSHEAP:-$root/build/release/src/tlsheap}"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
base=(--scenario tls12-esp-https-request --set MBEDTLS_SSL_OUT_CONTENT_LEN=4096 --unset MBEDTLS_SSL_PROTO_TLS1_3 --quiet)

"$tlsheap" profile "${base[@]}" --trace "$out/default.trace" >/dev/null
"$tlsheap" profile "${base[@]}" --set MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH --trace "$out/variable.trace" >/dev/null
"$tlsheap" profile "${base[@]}" --unset MBEDTLS_SSL_KEEP_PEER_CERTIFICATE --trace "$out/no-peer-cert.trace" >/dev/null

row() {  # label, ESP-IDF figure, trace, transform
  local json="$out/$RANDOM.json"
  if [ -n "$4" ]; then
    "$tlsheap" replay "$3" --model esp-tlsf --transform "$4" --json "$json" >/dev/null
  else
    "$tlsheap" replay "$3" --model esp-tlsf --json "$json" >/dev/null
  fi
  python3 - "$json" "$1" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
tlsf = j["models"][0]
print(f"| {sys.argv[2]:<58} | {int(sys.argv[3]):>9,} | {j['live_peak']['bytes']:>9,} | {tlsf['used_peak']:>9,} |")
PY
}
echo "| configuration                                              | ESP-IDF   | live peak | TLSF peak |"
echo "|------------------------------------------------------------|----------:|----------:|----------:|"
row "default" 42196 "$out/default.trace" ""
row "MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH on" 42120 "$out/variable.trace" ""
row "MBEDTLS_SSL_KEEP_PEER_CERTIFICATE off" 38533 "$out/no-peer-cert.trace" ""
row "dynamic TX/RX buffers + free config data + free CA cert" 22013 "$out/default.trace" "esp-dynamic:free_ca_cert=on,free_config_data=on"
