#!/usr/bin/env bash
# Idle footprint and start-up time of the service with every plugin of the build loaded
# (plus the out-of-tree example). Writes bench/results/idle.txt. A measurement, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
exec python3 bench/idle.py "$build"
