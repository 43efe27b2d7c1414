#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, the fuzz preset: clang,
# AddressSanitizer, UndefinedBehaviorSanitizer) and runs each one, starting
# from its committed corpus (tests/fuzz/corpus/HARNESS), for a bounded time:
#   scripts/fuzz.sh                      45 seconds per harness
#   scripts/fuzz.sh SECONDS              SECONDS per harness
#   scripts/fuzz.sh --runs N             N inputs per harness
#   scripts/fuzz.sh ... HARNESS...       only those (e.g. trace_replay_fuzzer)
#   scripts/fuzz.sh --long --runs N ...  a long campaign: the fuzz-long preset
#       (UndefinedBehaviorSanitizer without AddressSanitizer, 2-3x the inputs
#       per second), then every input of the corpus it grew run once more
#       under the fuzz preset's AddressSanitizer
# Fails on any crash, sanitizer report, leak, timeout or out-of-memory; the
# input that caused it is left in build/PRESET/artifacts/HARNESS/. New inputs
# found go to build/PRESET/corpus/HARNESS, never into the committed corpus.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage="usage: scripts/fuzz.sh [--long] [SECONDS | --runs N] [HARNESS...]"
preset=fuzz
if [ "${1:-}" = --long ]; then
  preset=fuzz-long
  shift
fi
limit=(-max_total_time=45)
case "${1:-}" in
  "" | *_fuzzer) ;;
  --runs)
    case "${2:-}" in
      "" | *[!0-9]* | 0) echo "$usage" >&2; exit 2 ;;
    esac
    limit=(-runs="$2")
    shift 2 ;;
  *[!0-9]* | 0) echo "$usage" >&2; exit 2 ;;
  *) limit=(-max_total_time="$1"); shift ;;
esac
harnesses=("$@")
if [ "${#harnesses[@]}" -eq 0 ]; then
  for source in "$root"/tests/fuzz/*_fuzzer.cpp; do
    harnesses+=("$(basename "$source" .cpp)")
  done
fi
for name in "${harnesses[@]}"; do
  if [ ! -f "$root/tests/fuzz/$name.cpp" ]; then
    echo "fuzz: no harness $name (tests/fuzz/$name.cpp); $usage" >&2
    exit 2
  fi
done

"$root/scripts/build-tlsheap.sh" "$preset" --target fuzzers
build="$root/build/$preset"
if [ "$preset" = fuzz-long ]; then
  "$root/scripts/build-tlsheap.sh" fuzz --target fuzzers
fi

# Inputs the size of the seeds and a little more: a trace seed is a few
# kilobytes (scripts/fuzz-seeds.sh), the other inputs are small documents.
max_len() {
  case "$1" in
    trace_replay_fuzzer) echo 32768 ;;
    *) echo 4096 ;;
  esac
}

# libFuzzer's entropic scheduling spends 40% of the trace harness's time
# weighing its ~30,000 features; without it the harness runs 3x the inputs.
schedule() {
  case "$1" in
    trace_replay_fuzzer) echo -entropic=0 ;;
    *) echo -entropic=1 ;;
  esac
}

failed=()
summary=()
for name in "${harnesses[@]}"; do
  corpus="$build/corpus/$name"
  artifacts="$build/artifacts/$name"
  log="$build/logs/$name.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  echo "fuzz: $name (${limit[*]})"
  status=0
  # -timeout: one input taking longer is a finding (unbounded work).
  "$build/tests/fuzz/$name" "${limit[@]}" -max_len="$(max_len "$name")" -timeout=20 \
    "$(schedule "$name")" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "$root/tests/fuzz/corpus/$name" >"$log" 2>&1 ||
    status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  if [ "$status" -eq 0 ] && [ "$preset" = fuzz-long ]; then
    # Memory errors that did not crash the build without AddressSanitizer:
    # every input of the grown corpus once under it (-runs=0 only reads
    # the corpus).
    asan_log="$build/logs/$name.asan.log"
    "$root/build/fuzz/tests/fuzz/$name" -runs=0 -max_len="$(max_len "$name")" -timeout=20 \
      -rss_limit_mb=2048 -artifact_prefix="$artifacts/" "$corpus" \
      "$root/tests/fuzz/corpus/$name" >"$asan_log" 2>&1 || status=$?
    inputs="$(find "$corpus" -type f | wc -l)"
    log="$asan_log"
    summary+=("$name: ${execs:-?} executions, $inputs corpus inputs under AddressSanitizer, exit $status")
  else
    summary+=("$name: ${execs:-?} executions, exit $status")
  fi
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
