#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, ASan and UBSan in build-fuzz/ and runs each one.
#   scripts/fuzz.sh [RUNS]      default 1000000 executions per target
# New inputs land in build-fuzz/fuzz/scratch-*/; the committed corpora in fuzz/corpus/ are only
# read. A crash leaves its reproducer in the current directory (crash-*), named in the output.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
dir=build-fuzz
if [ ! -f $dir/build.ninja ]; then
  CC=clang meson setup $dir -Dfuzzing=true -Dtests=false -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debugoptimized -Dfuzz_runs="$runs" >/dev/null
else
  meson configure $dir -Dfuzz_runs="$runs" >/dev/null
fi
ninja -C $dir >/dev/null
meson test -C $dir --suite fuzz --print-errorlogs --num-processes 2 --no-rebuild
