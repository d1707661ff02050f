#!/usr/bin/env bash
# RTMP ingest side by side: sluice (input-rtmp + output-file) against nginx + libnginx-mod-rtmp
# (`record all`), the same independent ffmpeg publishers for both, N = 1, 10, 50 concurrent
# streams. Writes bench/results/rtmp.txt. A measurement, not a test.
#
#   bench/rtmp.sh [build-dir]
#
# Environment: NS="1 10 50"  RUNS=1  DUR=20 (measured window, s)  SETTLE=5 (s after all publish)
#              MODES="mp4hls mp4" (sluice output sets; "none" = input-rtmp only)
#              BENCH_TMP=/tmp/sluice-bench (scratch: media, configs, recordings, logs)
#              FORCE=1 regenerates the test media; RESULT=FILE writes the table elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tmp=${BENCH_TMP:-/tmp/sluice-bench}
mkdir -p "$tmp"

for tool in ffmpeg ffprobe nginx python3; do
  command -v "$tool" >/dev/null || { echo "rtmp.sh: $tool is missing (scripts/deps.sh --test)" >&2; exit 1; }
done
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || {
  echo "rtmp.sh: /usr/lib/nginx/modules/ngx_rtmp_module.so is missing (apt-get install -y nginx-light libnginx-mod-rtmp)" >&2
  exit 1
}

# Test media, as in reference/bench-anchors.md §1: 60 s 1280x720 30 fps testsrc2 + temporal noise,
# x264 veryfast main, bf=2, fixed GOP of 60, 2500k VBV; AAC-LC 48 kHz stereo 128k (440 Hz sine).
src="$tmp/src720.flv"
if [ "${FORCE:-0}" = 1 ] || [ ! -s "$src" ]; then
  echo "generating $src (about a minute)..." >&2
  ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=6:allf=t+u,format=yuv420p" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000,pan=stereo|c0=c0|c1=c0" \
    -t 60 -c:v libx264 -preset veryfast -profile:v main -bf 2 -g 60 -keyint_min 60 \
    -sc_threshold 0 -b:v 2500k -maxrate 2500k -bufsize 5000k \
    -c:a aac -b:a 128k -ar 48000 -ac 2 -f flv "$src.part"
  mv "$src.part" "$src"
fi

# The driver writes the pid of every process it starts to $tmp/pids; whatever is still alive
# when this script exits (Ctrl-C, a crash of the driver) is killed here, by pid.
pidfile="$tmp/pids"
: >"$pidfile"
cleanup() {
  local pid
  [ -f "$pidfile" ] || return 0
  while read -r pid; do
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  done <"$pidfile"
  rm -f "$pidfile"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 bench/rtmp.py --build "$build" --tmp "$tmp" --src "$src" --pidfile "$pidfile"
