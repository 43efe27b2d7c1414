#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, the fuzz preset: clang,
# AddressSanitizer, UndefinedBehaviorSanitizer) and runs each one, starting
# from its committed corpus (tests/fuzz/corpus/HARNESS), for a bounded time:
#   scripts/fuzz.sh               45 seconds per harness
#   scripts/fuzz.sh SECONDS       SECONDS per harness
#   scripts/fuzz.sh --runs N      N inputs per harness
# Fails on any crash, sanitizer report, leak, timeout or out-of-memory; the
# input that caused it is left in build/fuzz/artifacts/HARNESS/. New inputs
# found go to build/fuzz/corpus/HARNESS, never into the committed corpus.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
limit=(-max_total_time=45)
case "${1:-}" in
  "") ;;
  --runs) limit=(-runs="${2:?--runs needs a number}") ;;
  *[!0-9]* | 0) echo "usage: scripts/fuzz.sh [SECONDS | --runs N]" >&2; exit 2 ;;
  *) limit=(-max_total_time="$1") ;;
esac

"$root/scripts/build-tlsheap.sh" fuzz --target fuzzers
build="$root/build/fuzz"

# Inputs the size of the seeds and a little more: a trace seed is a few
# kilobytes (scripts/fuzz-seeds.sh), the other inputs are small documents.
max_len() {
  case "$1" in
    trace_replay_fuzzer) echo 32768 ;;
    *) echo 4096 ;;
  esac
}

failed=()
summary=()
for source in "$root"/tests/fuzz/*_fuzzer.cpp; do
  name="$(basename "$source" .cpp)"
  corpus="$build/corpus/$name"
  artifacts="$build/artifacts/$name"
  log="$build/logs/$name.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  echo "fuzz: $name (${limit[*]})"
  status=0
  # -timeout: one input taking longer is a finding (unbounded work).
  "$build/tests/fuzz/$name" "${limit[@]}" -max_len="$(max_len "$name")" -timeout=20 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "$root/tests/fuzz/corpus/$name" >"$log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  summary+=("$name: ${execs:-?} executions, exit $status")
  if [ "$status" -ne 0 ]; then
    failed+=("$name")
    echo "fuzz: $name FAILED (exit $status); its log ends:" >&2
    tail -n 40 "$log" >&2
  fi
done

printf 'fuzz: %s\n' "${summary[@]}"
echo "fuzz: $((${#summary[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in $build/artifacts)" >&2
  exit 1
fi
