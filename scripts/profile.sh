#!/usr/bin/env bash
# The main job: set up, build tlsheap, and profile the default scenario
# (TLS 1.2 ECDHE-ECDSA P-256 against the deterministic mbedTLS peer, mbedTLS
# 3.6's default config). Arguments go to `tlsheap profile`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -x "$root/build/release/src/tlsheap" ]; then
  # Measured on a fresh clone on 2 cores with the packages installed (README,
  # "Two commands"): 7 minutes in all, the variants about a minute of it.
  echo "profile: first run: sets up what is missing, then builds tlsheap (about 5 minutes" \
    "on 2 cores) and the default variant with its peer (about a minute); later runs take" \
    "seconds" >&2
fi
"$root/scripts/build-tlsheap.sh" --tool release --target tlsheap
cd "$root"
exec "$root/build/release/src/tlsheap" profile "$@"
