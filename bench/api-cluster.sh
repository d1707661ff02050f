#!/usr/bin/env bash
# API latency (start → EGRESS_ACTIVE, forwarded to the owning worker) and start/stop throughput on a
# two-worker cluster over an own redis-server. Writes bench/results/api-cluster.txt.
# A measurement, not a test. Usage: bench/api-cluster.sh [build]   (env: N=40 P=200 W=20 KS="1 8")
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/api_cluster.py "${1:-build}"
