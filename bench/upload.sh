#!/usr/bin/env bash
# sluice upload vs curl -T: MB/s on moto_server (SigV4 enforced) and Azurite, peak RSS of a 1 GiB
# upload. Writes bench/results/upload.txt. Needs moto_server, curl with --aws-sigv4 and
# `npm ci` in tests/plugins/upload-azure. SIZES_MIB, REPS, BIG_MIB, BACKENDS tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/upload.py "${1:-build}"
