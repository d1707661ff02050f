"""Media helpers for sluice's end-to-end tests: test media made once and cached, publishers that
cannot hang a test, ffprobe, decoding and HLS playlist parsing.

Only the Python standard library is used; the programs are ffmpeg, ffprobe and gst-launch-1.0.
"""
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe") or "ffprobe"
GST_LAUNCH = shutil.which("gst-launch-1.0") or "gst-launch-1.0"
GST_INSPECT = shutil.which("gst-inspect-1.0") or "gst-inspect-1.0"

CACHE = os.environ.get("SLUICE_TEST_MEDIA_CACHE",
                       os.path.join(tempfile.gettempdir(), "sluice-e2e-media"))


# ---------------------------------------------------------------------------------------------
# Child processes


class Proc:
    """A child process whose output goes to a file, so that nothing blocks on a full pipe.

    wait() never waits longer than it is told; kill() is safe to call at any time and is what
    every test calls in `finally`."""

    def __init__(self, args, name=None, directory=None, env=None):
        self.args = list(args)
        self.name = name or os.path.basename(self.args[0])
        fd, self.out_path = tempfile.mkstemp(prefix=self.name + "-", suffix=".log", dir=directory)
        self.out = os.fdopen(fd, "w+")
        e = dict(os.environ)
        if env:
            e.update(env)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, env=e)
        self.pid = self.proc.pid

    def poll(self):
        return self.proc.poll()

    def wait(self, timeout):
        """The exit status, or None when the process is still running after `timeout` s."""
        try:
            return self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self):
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def output(self, tail=4000):
        try:
            self.out.flush()
            with open(self.out_path, errors="replace") as f:
                text = f.read()
        except OSError:
            return ""
        return text[-tail:]

    def describe(self):
        return "%s (pid %d, exit %r): %s\n%s" % (self.name, self.pid, self.proc.poll(),
                                                  " ".join(self.args), self.output())


def ffmpeg_publish(url, input_args, output_args=("-c", "copy"), name="ffmpeg", directory=None):
    """ffmpeg publishing to an RTMP(S) URL in real time (-re belongs in input_args)."""
    args = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "warning"] + list(input_args) + \
        list(output_args) + ["-f", "flv", url]
    return Proc(args, name=name, directory=directory)


def run_quiet(args, timeout):
    return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


# ---------------------------------------------------------------------------------------------
# Test media, made once


def cached_flv(width, height, seconds, fps=30, gop=60, audio_rate=48000):
    """An FLV of testsrc2 video (H.264, a keyframe every `gop` frames) and a 440 Hz sine (AAC),
    encoded once and kept under CACHE; later runs reuse it."""
    os.makedirs(CACHE, exist_ok=True)
    name = "testsrc2-%dx%d-%dfps-g%d-a%d-%ds.flv" % (width, height, fps, gop, audio_rate, seconds)
    path = os.path.join(CACHE, name)
    if os.path.exists(path):
        try:
            info = ffprobe(path)
            if abs(float(info["format"]["duration"]) - seconds) < 0.5:
                return path
        except Exception:
            pass
    fd, tmp = tempfile.mkstemp(prefix=name + ".", suffix=".tmp", dir=CACHE)
    os.close(fd)
    args = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=%dx%d:rate=%d" % (width, height, fps),
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=%d" % audio_rate,
            "-t", str(seconds),
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-c:a", "aac", "-b:a", "96k", "-f", "flv", tmp]
    try:
        r = run_quiet(args, timeout=300)
        if r.returncode != 0:
            raise RuntimeError("could not encode %s: %s" % (name, r.stderr))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


# ---------------------------------------------------------------------------------------------
# Probing and decoding


def ffprobe(path, timeout=60):
    """ffprobe -show_format -show_streams as a dict; raises with ffprobe's message on failure."""
    r = run_quiet([FFPROBE, "-v", "error", "-of", "json", "-show_format", "-show_streams", path],
                  timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("ffprobe %s failed (%d): %s" % (path, r.returncode, r.stderr.strip()))
    info = json.loads(r.stdout or "{}")
    info.setdefault("streams", [])
    info.setdefault("format", {})
    info["stderr"] = r.stderr
    return info


def stream(info, kind):
    """The first stream of codec_type `kind` ('video', 'audio'), or None."""
    for s in info.get("streams", []):
        if s.get("codec_type") == kind:
            return s
    return None


def _float(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def stream_duration(s):
    """A stream's duration in seconds: its own field, else the DURATION tag, else None."""
    if s is None:
        return None
    d = _float(s.get("duration"))
    if d is not None:
        return d
    tag = (s.get("tags") or {}).get("DURATION")
    if tag:
        h, m, sec = tag.split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    return None


def format_duration(info):
    return _float(info.get("format", {}).get("duration"))


def bit_rate(s):
    return _float((s or {}).get("bit_rate"))


def summary(info):
    """One line per stream and one for the container, for diagnostics."""
    out = []
    for s in info.get("streams", []):
        keys = ["codec_type", "codec_name", "profile", "width", "height", "sample_rate",
                "channels", "start_time", "duration", "bit_rate", "nb_frames"]
        out.append("  stream %s: %s" % (s.get("index"), ", ".join(
            "%s=%s" % (k, s[k]) for k in keys if k in s)))
    f = info.get("format", {})
    out.append("  format: %s" % ", ".join("%s=%s" % (k, f[k]) for k in
                                            ["format_name", "start_time", "duration", "size",
                                             "bit_rate"] if k in f))
    return "\n".join(out)


def decode_errors(path, timeout=120):
    """(exit status, what `ffmpeg -v error -i PATH -f null -` printed): a clean file prints
    nothing."""
    r = run_quiet([FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-f", "null",
                   "-"], timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).strip()


def decoded_video_frames(path, timeout=120):
    """How many video frames ffmpeg decodes from PATH (framecrc lists one line per frame)."""
    r = run_quiet([FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0",
                   "-f", "framecrc", "-"], timeout=timeout)
    return len([l for l in r.stdout.splitlines() if l and not l.startswith("#")])


# ---------------------------------------------------------------------------------------------
# HLS


class Playlist:
    """A parsed media playlist: header tags and segments (uri, extinf, program date-time)."""

    def __init__(self, path):
        self.path = path
        with open(path) as f:
            self.text = f.read()
        self.lines = [l.strip() for l in self.text.splitlines() if l.strip()]
        self.tags = {}
        self.segments = []
        self.endlist = False
        self.pdt_count = 0
        pending = {}
        for l in self.lines:
            if l.startswith("#EXTINF:"):
                pending["extinf"] = float(l[len("#EXTINF:"):].split(",")[0])
            elif l.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
                self.pdt_count += 1
                pending["pdt"] = parse_pdt(l.split(":", 1)[1])
            elif l == "#EXT-X-ENDLIST":
                self.endlist = True
            elif l.startswith("#"):
                name, _, value = l[1:].partition(":")
                self.tags[name] = value
            else:
                seg = {"uri": l, "extinf": pending.get("extinf"), "pdt": pending.get("pdt")}
                seg["path"] = os.path.join(os.path.dirname(path), l)
                self.segments.append(seg)
                pending = {}

    @property
    def target_duration(self):
        v = self.tags.get("EXT-X-TARGETDURATION")
        return int(v) if v is not None else None

    @property
    def playlist_type(self):
        return self.tags.get("EXT-X-PLAYLIST-TYPE")

    def total(self):
        return sum(s["extinf"] or 0 for s in self.segments)


def parse_pdt(text):
    """An EXT-X-PROGRAM-DATE-TIME value (ISO 8601, Z or an offset) as an aware datetime."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:?\d\d)$", t)
    if not m:
        raise ValueError("not a date-time: %r" % text)
    frac = (m.group(2) or ".0")[:7]
    off = m.group(3)
    if ":" not in off:
        off = off[:3] + ":" + off[3:]
    return datetime.datetime.fromisoformat(m.group(1) + frac + off)


# ---------------------------------------------------------------------------------------------
# GStreamer publishers


def gst_has(element):
    try:
        return run_quiet([GST_INSPECT, "--exists", element], timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def gst_h264_encoder(gop):
    """(element description, expected H.264 profile) for the first H.264 encoder installed:
    x264enc (gstreamer1.0-plugins-ugly), else openh264enc (gstreamer1.0-plugins-bad)."""
    if gst_has("x264enc"):
        return ("x264enc key-int-max=%d tune=zerolatency speed-preset=veryfast "
                "! video/x-h264,profile=high" % gop, "High")
    if gst_has("openh264enc"):
        return ("openh264enc gop-size=%d complexity=low bitrate=2000000" % gop,
                "Constrained Baseline")
    return None, None


def gst_aac_encoder():
    """The first AAC encoder installed. avenc_aac comes last: fed from a live source it stamps
    its frames unevenly (with buffers other than 1024 samples, even twice with the same time),
    which would be the publisher's fault, not the server's."""
    for e in ["fdkaacenc", "voaacenc", "avenc_aac"]:
        if gst_has(e):
            return e
    return None
