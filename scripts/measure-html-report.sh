#!/usr/bin/env bash
# The HTML report of a long recording, measured: records the default scenario
# with --reconnects N (about 8,800 events each; 6 gives about 53,000), writes
# `tlsheap report TRACE --html`, and opens the page RUNS times in headless
# Chromium (Debian's chromium), printing the page's size and the time its
# script took to draw everything (the page's own data-render-ms, from its
# first line of script to the last drawn element; Chromium's start-up is not
# in it). Usage: scripts/measure-html-report.sh [RECONNECTS] [RUNS]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
reconnects="${1:-6}"
runs="${2:-5}"
command -v chromium >/dev/null || {
  echo "measure-html-report: chromium missing (scripts/setup.sh --tests installs it)" >&2
  exit 2
}
"$root/scripts/build-tlsheap.sh" --tool release --target tlsheap
tlsheap="$root/build/release/src/tlsheap"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$tlsheap" profile --reconnects "$reconnects" --trace "$work/long.trace" >"$work/profile.txt" 2>&1 ||
  { cat "$work/profile.txt" >&2; exit 1; }
events="$(sed -n 's/^  trace: .*(\([0-9,]*\) events.*/\1/p' "$work/profile.txt" | head -1)"
"$tlsheap" report "$work/long.trace" --html "$work/long.html"
echo "trace: $events events ($reconnects reconnects); page: $(stat -c %s "$work/long.html") bytes"
for run in $(seq "$runs"); do
  rm -rf "$work/chromium"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/chromium" --virtual-time-budget=20000 --dump-dom \
    "file://$work/long.html" 2>/dev/null |
    sed -n 's/.*data-render-ms="\([0-9]*\)".*/render ms: \1/p' | head -1
done
