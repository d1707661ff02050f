#!/usr/bin/env bash
# Runs every test: the normal build (unit, end-to-end, lint), the unit tests and the cluster and
# CLI end-to-end suites again in an ASan+UBSan build, and a short run of every libFuzzer target. Prints one closing line "N passed, N failed[, N skipped]" counting individual
# checks, and writes it to <build>/test-summary.txt.
set -uo pipefail
cd "$(dirname "$0")/.."

asan_only=0
build=build
for a in "$@"; do
  case "$a" in
    --asan-only) asan_only=1 ;;
    *) build=$a ;;
  esac
done

logs=()
if [ $asan_only -eq 0 ]; then
  rm -f "$build/meson-logs/testlog.json"
  meson test -C "$build" --print-errorlogs --num-processes 2 --no-rebuild
  logs+=("$build/meson-logs/testlog.json")
fi

asan=build-asan
mkdir -p $asan/meson-logs
if [ ! -f $asan/build.ninja ]; then
  meson setup $asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null
fi
if ninja -C $asan >$asan.log 2>&1; then
  rm -f $asan/meson-logs/testlog.json
  meson test -C $asan --suite unit --print-errorlogs --num-processes 2 --no-rebuild
  # The service's own paths (API, cluster over Redis, control channel) under the sanitizers too:
  # a memory error aborts the service or a handler and fails the suite. Leaks are the unit
  # tests' business: GStreamer keeps process-wide allocations until a handler exits.
  if [ $asan_only -eq 0 ]; then
    rm -f $asan/meson-logs/asan-e2e.json
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      meson test -C $asan --logbase asan-e2e --print-errorlogs --no-rebuild e2e-cluster e2e-cli_api
    logs+=("$asan/meson-logs/asan-e2e.json")
  fi
else
  cat $asan.log
  echo '{"name": "asan-build", "stdout": "", "result": "FAIL"}' > $asan/meson-logs/testlog.json
fi
logs+=("$asan/meson-logs/testlog.json")

# libFuzzer targets: a short run of each over its committed corpus (make fuzz runs 1,000,000).
if [ $asan_only -eq 0 ]; then
  fz=build-fuzz
  if [ ! -f $fz/build.ninja ]; then
    CC=clang meson setup $fz -Dfuzzing=true -Dtests=false -Db_sanitize=address,undefined \
      -Db_lundef=false -Dfuzz_runs=20000 >/dev/null
  else
    meson configure $fz -Dfuzz_runs=20000 >/dev/null
  fi
  if ninja -C $fz >$fz.log 2>&1; then
    rm -f $fz/meson-logs/testlog.json
    meson test -C $fz --suite fuzz --print-errorlogs --num-processes 2 --no-rebuild
  else
    cat $fz.log
    mkdir -p $fz/meson-logs
    echo '{"name": "fuzz-build", "stdout": "", "result": "FAIL"}' > $fz/meson-logs/testlog.json
  fi
  logs+=("$fz/meson-logs/testlog.json")
fi

python3 scripts/summarize.py "${logs[@]}" | tee "$build/test-summary.txt.tmp"
status=${PIPESTATUS[0]}
tail -n 1 "$build/test-summary.txt.tmp" > "$build/test-summary.txt"
rm -f "$build/test-summary.txt.tmp"
exit $status
