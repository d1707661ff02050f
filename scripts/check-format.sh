#!/usr/bin/env bash
# Lint: every C file in the tree must be as clang-format (with the repo's .clang-format) makes it.
set -uo pipefail
cd "${1:-$(dirname "$0")/..}"
bad=0
n=0
while IFS= read -r f; do
  n=$((n + 1))
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run: clang-format -i $f, or make format)"
    bad=$((bad + 1))
  fi
done < <(find core include plugins tests fuzz examples bench -name '*.[ch]' 2>/dev/null | sort)
echo "$n C files checked, $bad not formatted"
[ $bad -eq 0 ]
