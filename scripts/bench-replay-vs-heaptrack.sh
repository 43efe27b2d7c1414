#!/usr/bin/env bash
# `tlsheap replay` and `tlsheap minpool` (default models) on a long trace,
# timed against `heaptrack_print` on a heaptrack data file of the same number
# of heap events, in one run: the commands take turns (interleaved, so load
# from elsewhere falls on all of them), RUNS times each, and the medians of
# wall time, CPU time (user + system) and peak RSS are printed with the ratio
# of each tlsheap command to heaptrack_print.
#
# Two traces: a committed sample's connection repeated to EVENTS allocation
# events (tests/bench/repeated_trace.h, written by write_repeated_trace: every
# connection the same, which the min-pool searches serve once), and
# a recording of as many reconnects of the default scenario (`tlsheap profile
# --reconnects N`: connections differ a little, ECDHE's numbers being random,
# so the searches serve each different one once). The heaptrack file is heaptrack's
# recording of tests/bench/malloc_free_pairs.c making as many malloc and free
# calls as the first trace has events.
#
#   scripts/bench-replay-vs-heaptrack.sh [--tlsheap PATH] [--events N] [--runs N]
#                                        [--build-dir DIR] [--jobs N]
#
# --tlsheap   the binary to time (default: DIR/src/tlsheap, built here); it
#             records RECORDED too (`tlsheap profile`, default scenario)
# --events    heap events in each file (default 10000000)
# --runs      runs of each command (default 5)
# --build-dir the CMake build (release preset) that write_repeated_trace,
#             and tlsheap without --tlsheap, are built in (default build/release)
# --jobs      build jobs (default 2)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tlsheap=""
events=10000000
runs=5
build="$root/build/release"
jobs=2
while [ $# -gt 0 ]; do
  case "$1" in
  --tlsheap) tlsheap="$2"; shift 2 ;;
  --events) events="$2"; shift 2 ;;
  --runs) runs="$2"; shift 2 ;;
  --build-dir) build="$2"; shift 2 ;;
  --jobs) jobs="$2"; shift 2 ;;
  *) echo "bench-replay-vs-heaptrack: unknown argument $1 (see the script's header)" >&2; exit 2 ;;
  esac
done
for tool in heaptrack heaptrack_print cc /usr/bin/time; do
  command -v "$tool" >/dev/null || {
    echo "bench-replay-vs-heaptrack: $tool missing" >&2
    exit 2
  }
done

targets=(write_repeated_trace)
[ -n "$tlsheap" ] || targets+=(tlsheap)
[ -f "$build/CMakeCache.txt" ] || (cd "$root" && cmake --preset release >/dev/null)
cmake --build "$build" -j "$jobs" --target "${targets[@]}" >/dev/null
[ -n "$tlsheap" ] || tlsheap="$build/src/tlsheap"
tlsheap="$(realpath "$tlsheap")"
writer="$(find "$build/tests/bench" -name write_repeated_trace -type f -perm -u+x | head -1)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

read -r trace_events repetitions < <("$writer" "$work/long.trace" "$events")
"$tlsheap" profile --reconnects "$repetitions" --trace "$work/recorded.trace" >"$work/profile.log" 2>&1 || {
  echo "bench-replay-vs-heaptrack: recording $repetitions reconnects failed:" >&2
  tail -5 "$work/profile.log" >&2
  exit 1
}
cc -O0 -o "$work/malloc_free_pairs" "$root/tests/bench/malloc_free_pairs.c"
heaptrack -o "$work/pairs" "$work/malloc_free_pairs" "$trace_events" >"$work/heaptrack.log" 2>&1
heaptrack_file="$(ls "$work"/pairs.*)"
heaptrack_events="$(zstdcat -f "$heaptrack_file" 2>/dev/null | grep -c '^[+-] ' || true)"
recorded_events="$(sed -n 's/^  trace: .*(\([0-9,]*\) events.*/\1/p' "$work/profile.log" | head -1)"
echo "TRACE: $trace_events events ($repetitions equal connections), $(($(stat -c %s "$work/long.trace") >> 20)) MiB;" \
  "RECORDED: $recorded_events events ($repetitions reconnects), $(($(stat -c %s "$work/recorded.trace") >> 20)) MiB;" \
  "heaptrack FILE: $heaptrack_events events, $(($(stat -c %s "$heaptrack_file") >> 10)) KiB"
echo "tlsheap: $tlsheap ($("$tlsheap" --version | head -1))"

# time_one NAME COMMAND...: one run, its wall time, CPU time and peak RSS
# appended to NAME.wall, NAME.cpu and NAME.rss.
time_one() {
  local name="$1"
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$work/out" 2>&1 || {
    echo "bench-replay-vs-heaptrack: $* failed:" >&2
    tail -5 "$work/out" >&2
    exit 1
  }
  local wall user sys rss
  read -r wall user sys rss <"$work/time"
  echo "$wall" >>"$work/$name.wall"
  echo "$user + $sys" | bc >>"$work/$name.cpu"
  echo "$rss" >>"$work/$name.rss"
}

echo "commands: tlsheap replay and minpool of TRACE and RECORDED; heaptrack_print FILE"
for _ in $(seq "$runs"); do
  time_one replay "$tlsheap" replay "$work/long.trace"
  time_one minpool "$tlsheap" minpool "$work/long.trace"
  time_one replay_recorded "$tlsheap" replay "$work/recorded.trace"
  time_one minpool_recorded "$tlsheap" minpool "$work/recorded.trace"
  time_one heaptrack_print heaptrack_print "$heaptrack_file"
done

# The median (the upper one of an even count), as tests/bench does.
median() { sort -g "$1" | awk '{v[NR] = $1} END {print v[int(NR / 2) + 1]}'; }
base_wall="$(median "$work/heaptrack_print.wall")"
base_cpu="$(median "$work/heaptrack_print.cpu")"
echo "medians of $runs runs:"
printf '  %-24s %9s %9s %11s %11s %12s\n' command "wall s" "CPU s" "wall ratio" "CPU ratio" "max RSS MiB"
for name in replay minpool replay_recorded minpool_recorded heaptrack_print; do
  wall="$(median "$work/$name.wall")"
  cpu="$(median "$work/$name.cpu")"
  rss="$(median "$work/$name.rss")"
  case "$name" in
  heaptrack_print) label="heaptrack_print FILE" ;;
  *_recorded) label="tlsheap ${name%_recorded} RECORDED" ;;
  *) label="tlsheap $name TRACE" ;;
  esac
  printf '  %-24s %9.2f %9.2f %11.2f %11.2f %12.1f\n' "$label" "$wall" "$cpu" \
    "$(echo "$wall / $base_wall" | bc -l)" "$(echo "$cpu / $base_cpu" | bc -l)" \
    "$(echo "$rss / 1024" | bc -l)"
done
