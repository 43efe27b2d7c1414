#!/usr/bin/env bash
# The host / ilp32 / arm table of the README: every committed scenario on the
# three ABIs (mbedTLS 3.6 default config, deterministic peer).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tlsheap="${TLSHEAP:-$root/build/release/src/tlsheap}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "| scenario | live peak host / ilp32 / arm | mbedtls-pool footprint host / ilp32 / arm | ilp32 vs arm |"
echo "|---|---|---|---|"
for s in tls12-ecdhe-ecdsa-p256 tls12-ecdhe-rsa-chain tls13-ecdsa-p256 tls12-psk-aes128-ccm tls12-ecdhe-ecdsa-mutual; do
  "$tlsheap" profile --quiet --scenario "$s" --abi host --abi ilp32 --abi arm --json "$out/$s.json" >/dev/null
  python3 - "$out/$s.json" "$s" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["profiles"]
live = [x["live_peak"]["bytes"] for x in p]
pool = [next(m["footprint"] for m in x["models"] if m["name"] == "mbedtls-pool") for x in p]
diff = abs(live[1] - live[2]) / max(live[1], live[2]) * 100
print(f"| {sys.argv[2]} | {live[0]:,} / {live[1]:,} / {live[2]:,} | {pool[0]:,} / {pool[1]:,} / {pool[2]:,} | {diff:.2f}% |")
PY
done
