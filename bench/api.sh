#!/usr/bin/env bash
# API start → EGRESS_ACTIVE latency (p50/p95) on a live session. Writes bench/results/api.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/api.py "${1:-build}"
