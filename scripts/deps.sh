#!/usr/bin/env bash
# Installs the Debian packages sluice needs to build, run and test.
# Idempotent: packages already present are skipped, apt runs only when something is missing.
#   scripts/deps.sh          build + run dependencies
#   scripts/deps.sh --test   also the programs the tests drive (ffmpeg, promtool, ...)
set -euo pipefail

build_pkgs=(
  meson ninja-build pkg-config gcc clang clang-format
  libglib2.0-dev libsoup-3.0-dev libyaml-dev libjson-glib-dev libssl-dev libhiredis-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-tools
  curl glib-networking
)
test_pkgs=(
  nodejs npm
  ffmpeg prometheus libclang-rt-14-dev gstreamer1.0-libav gstreamer1.0-plugins-ugly openssl
  nginx-light libnginx-mod-rtmp redis-server
)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# A node and npm already on the PATH (a newer one than Debian's) serve as well.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in nodejs|npm) ;; *) filtered+=("$p") ;; esac
  done
  missing=("${filtered[@]}")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The tests that drive sluice with npm clients (LiveKit's server SDK, Azurite, ali-oss) keep
# their packages in a package.json + package-lock.json per folder under tests/.
if [ "${1:-}" = "--test" ]; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  while IFS= read -r lock; do
    dir="$(dirname "$lock")"
    if [ ! -d "$dir/node_modules" ] || [ "$lock" -nt "$dir/node_modules" ]; then
      echo "deps: npm ci in ${dir#"$root"/}"
      (cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null && touch node_modules)
    fi
  done < <(find "$root/tests" -name package-lock.json -not -path '*/node_modules/*' | sort)
fi
