#!/usr/bin/env bash
# tlsheap beside the tools our users would otherwise reach for, in one run:
# a warm `tlsheap profile` against valgrind's massif + ms_print and heaptrack
# + heaptrack_print on the same client handshake, interleaved, and what a
# cold and a new variant cost to build (tests/bench/peer_comparison_bench);
# then replay and minpool of a 10-million-event trace against heaptrack_print
# on a heaptrack file of the same event count
# (scripts/bench-replay-vs-heaptrack.sh). Installs and builds what it needs.
# Usage: scripts/bench-vs-peers.sh [ROUNDS [NEW_VARIANTS]]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-9}"
variants="${2:-3}"
"$root/scripts/setup.sh" --bench
cd "$root"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target tlsheap peer_comparison_bench
echo "# $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$root/build/release/tests/bench/peer_comparison_bench" "$rounds" "$variants"
"$root/scripts/bench-replay-vs-heaptrack.sh" --tlsheap "$root/build/release/src/tlsheap"
