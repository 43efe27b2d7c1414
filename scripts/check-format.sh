#!/usr/bin/env bash
# Fails when a C or C++ file of the repository is not formatted as the
# committed .clang-format says; prints the files. `--fix` formats them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(git ls-files '*.c' '*.cpp' '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
unformatted=$(clang-format --dry-run --Werror "${files[@]}" 2>&1 | grep -oE '^[^:]+:[0-9]+:[0-9]+: error' | cut -d: -f1 | sort -u || true)
if [ -n "$unformatted" ]; then
  echo "check-format: not formatted as .clang-format says (scripts/check-format.sh --fix):"
  echo "$unformatted" | sed 's/^/  /'
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
