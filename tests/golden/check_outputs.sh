#!/usr/bin/env bash
# Every output tlsheap computes from a trace alone (terminal reports, JSON
# documents, `trace export --stable`), for every committed sample trace,
# compared with the SHA-256 of what the tree produced when outputs.sha256 was
# last written. It pins behaviour across refactorings: a change that moves a
# byte of any report fails here, and says which output moved.
#
#   tests/golden/check_outputs.sh TLSHEAP [--update]
#
# --update rewrites outputs.sha256 (only when a change of output is meant;
# say why in the commit). Outputs are kept under $TLSHEAP_GOLDEN_OUT (default:
# a temporary directory) so that two trees can be diffed file by file.
set -euo pipefail

tlsheap="$(realpath "$1")"
update="${2:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
manifest="$here/outputs.sha256"
out="${TLSHEAP_GOLDEN_OUT:-$(mktemp -d)}"
mkdir -p "$out"
[ -n "${TLSHEAP_GOLDEN_OUT:-}" ] || trap 'rm -rf "$out"' EXIT

all_models=(--model ideal --model mbedtls-pool --model freertos-heap4 --model esp-tlsf --model umm)

# run NAME ARGS...: stdout to NAME.out, stderr to NAME.err, exit code to NAME.rc.
# Relative trace paths keep the outputs independent of where the tree is.
run() {
  local name="$1"
  shift
  set +e
  (cd "$root" && "$tlsheap" "$@") >"$out/$name.out" 2>"$out/$name.err"
  echo $? >"$out/$name.rc"
  set -e
}

for path in "$root"/traces/*.trace; do
  t="traces/$(basename "$path")"
  n="$(basename "$path" .trace)"
  run "$n.replay" replay "$t" --json "$out/$n.replay.json"
  run "$n.replay-all" replay "$t" "${all_models[@]}" --top 30 --json "$out/$n.replay-all.json"
  run "$n.replay-pool" replay "$t" "${all_models[@]}" --pool 40000
  run "$n.replay-esp" replay "$t" --transform esp-dynamic "${all_models[@]}" --json "$out/$n.replay-esp.json"
  run "$n.replay-axtls" replay "$t" --transform axtls-growth "${all_models[@]}" --json "$out/$n.replay-axtls.json"
  run "$n.minpool" minpool "$t" --json "$out/$n.minpool.json"
  # compare searches a min pool per scheme and model: every model on one short trace.
  run "$n.compare" compare "$t" --model ideal --model freertos-heap4 --json "$out/$n.compare.json"
  run "$n.advise" advise "$t" --json "$out/$n.advise.json"
  run "$n.show" trace show "$t"
  run "$n.show-events" trace show "$t" --events
  run "$n.export" trace export --stable --json "$out/$n.export.json" "$t"
  run "$n.folded" trace export --format folded --output - "$t"
  run "$n.folded-allocated" trace export --format folded-allocated --output - "$t"
  run "$n.massif" trace export --format massif --model mbedtls-pool --output - "$t"
  run "$n.chrome-trace" trace export --format chrome-trace --model freertos-heap4 --output - "$t"
  run "$n.pprof" trace export --format pprof --output - "$t"
done
run psk.compare-all compare traces/tls12-psk-aes128-ccm.trace traces/tls12-psk-aes128-ccm-server.trace \
  "${all_models[@]}" --json "$out/psk.compare-all.json"

# A JSON file that a failed command did not write is simply absent.
(cd "$out" && find . -type f ! -name '*.sha256' -printf '%P\n' | LC_ALL=C sort |
  xargs sha256sum) >"$out/actual.sha256"

if [ "$update" = "--update" ]; then
  cp "$out/actual.sha256" "$manifest"
  echo "golden outputs: wrote $(wc -l <"$manifest") hashes to ${manifest#"$root"/}"
  exit 0
fi

if diff -u "$manifest" "$out/actual.sha256" >"$out/difference.txt"; then
  echo "golden outputs: $(wc -l <"$manifest") outputs identical"
  exit 0
fi
echo "golden outputs: these outputs changed (keep them with TLSHEAP_GOLDEN_OUT=DIR and diff against the previous tree):"
grep -E '^[-+][0-9a-f]' "$out/difference.txt" | awk '{print "  " substr($0,1,1) " " $2}' | sort -k2 -u
exit 1
