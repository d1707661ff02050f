#!/usr/bin/env bash
# Starts sluice from the build tree on the embedded single-node default (or on SLUICE_CONFIG_FILE
# / a config passed as arguments), with the plugins this build produced on the plugin path.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
plugin_path=$(find "$build/plugins" -name 'sluice-*.so' -printf '%h\n' 2>/dev/null | sort -u | paste -sd: -)
export SLUICE_PLUGIN_PATH="${plugin_path}${SLUICE_PLUGIN_PATH:+:$SLUICE_PLUGIN_PATH}"
echo "sluice: health on http://127.0.0.1:7888/ , metrics on http://127.0.0.1:7889/metrics (embedded default); Ctrl-C stops"
exec "$build/core/sluice" "$@"
