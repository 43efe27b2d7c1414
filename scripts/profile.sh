#!/usr/bin/env bash
# The main job: set up, build tlsheap, and profile the default scenario
# (TLS 1.2 ECDHE-ECDSA P-256 against the deterministic mbedTLS peer, mbedTLS
# 3.6's default config). Arguments go to `tlsheap profile`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build-tlsheap.sh" release --target tlsheap
cd "$root"
exec "$root/build/release/src/tlsheap" profile "$@"
