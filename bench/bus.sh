#!/usr/bin/env bash
# Job-bus throughput: start/stop pairs per second across 2 workers, over Redis (a redis-server
# started by the program on a free loopback port) and over the local backend. Writes
# bench/results/bus.txt. A measurement, not a test. Usage: bench/bus.sh [build-dir] [--pairs N]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
ninja -C "$build" bench/bench-bus >/dev/null
mkdir -p bench/results
exec "$build/bench/bench-bus" --out bench/results/bus.txt "$@"
