"""Outputs fail alone: one output of a live session failing mid-stream must not stop the source
or the session's other outputs.

The failure is a real one, a full disk as the file output's muxer sees it: sluice runs with a
file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored, so an over-long write fails with EFBIG as
on a full filesystem). The MP4 recording grows past the limit a few seconds in and fails; the HLS
segments of the same session are each far smaller than the limit and must go on to the end of the
publish. ffmpeg publishes a 20 s file in real time; the playlist is parsed and every segment
probed with ffprobe.
"""
import os
import re
import resource
import secrets
import shutil
import signal
import sys
import tempfile
import time

import media
from sluicetest import BUILD, SLUICE, Sluice, Tap, ports, write_config

t = Tap()
WORK = tempfile.mkdtemp(prefix="sluice-isolation-")
PLUGIN_PATH = os.pathsep.join(os.path.abspath(os.path.join(BUILD, "plugins", p))
                              for p in ["input-rtmp", "output-file"])
LIMIT = 1000 * 1000  # bytes a file of the service or its handlers may grow to
SECONDS = 20


def limited_sluice():
    """A launcher that runs sluice (and so its handlers) under the file-size limit."""
    path = os.path.join(WORK, "sluice-fsize")
    with open(path, "w") as f:
        f.write("#!%s\nimport os, resource, signal, sys\n"
                "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
                "resource.setrlimit(resource.RLIMIT_FSIZE, (%d, %d))\n"
                "os.execv(%r, [%r] + sys.argv[1:])\n"
                % (sys.executable, LIMIT, LIMIT, os.path.abspath(SLUICE), SLUICE))
    os.chmod(path, 0o755)
    return path


def wait_re(s, pattern, timeout):
    """The first match of `pattern` in the service's log within `timeout` s, or None."""
    deadline = time.monotonic() + timeout
    while True:
        m = re.search(pattern, s.log())
        if m or time.monotonic() > deadline or s.proc.poll() is not None:
            return m
        time.sleep(0.1)


def test_failing_file_output_leaves_segments_recording():
    src = media.cached_flv(640, 360, SECONDS)
    out = os.path.join(WORK, "recordings")
    os.makedirs(out)
    health, rtmp = ports(2)
    stream_key = "sk-iso-" + secrets.token_hex(6)
    config = write_config(
        "health_port: %d\nrtmp_port: %d\nbind_address: 127.0.0.1\noutput_dir: %s\n"
        "plugins:\n  enable: [input-rtmp, output-file]\n"
        "ingresses:\n  - name: iso\n    stream_key: %s\n    room_name: iso\n"
        "    participant_identity: cam\n    outputs:\n"
        "      file: { filepath: \"iso/rec.mp4\" }\n"
        "      segments: { filename_prefix: \"iso/hls/seg\", playlist_name: \"index.m3u8\","
        " segment_duration: 2 }\n" % (health, rtmp, out, stream_key), WORK)
    s = Sluice(["--config", config], env={"SLUICE_PLUGIN_PATH": PLUGIN_PATH},
               binary=limited_sluice())
    pub = None
    try:
        s.wait_ready(15)
        pub = media.ffmpeg_publish("rtmp://127.0.0.1:%d/live/%s" % (rtmp, stream_key),
                                   ["-re", "-i", src], name="ffmpeg-iso", directory=WORK)
        assert s.wait_for("ENDPOINT_PUBLISHING", 20), "never publishing:\n" + s.log()
        # the recording outgrows the limit: that output fails, with the reason
        # ... with the reason a person can act on, not only GStreamer's summary
        removed = wait_re(s, r"file output \S+ removed: (.+)", 20)
        assert removed, "the file output did not fail:\n" + s.log()
        assert "File too large" in removed.group(1), "no reason given: " + removed.group(1)
        failed_at = time.monotonic()
        rc = pub.wait(SECONDS + 30)
        assert rc == 0, "the publisher did not finish cleanly (exit %r): %s\nsluice:\n%s" % (
            rc, pub.output(), s.log())
        # the session was not stopped by that failure: the publisher ran to its end
        assert time.monotonic() - failed_at > 5, "the file output failed only at the end"
        assert s.wait_for("ENDPOINT_INACTIVE", 30), "the session did not end:\n" + s.log()
        assert "ENDPOINT_ERROR" not in s.log(), "the session ended in error:\n" + s.log()
        playlist_path = os.path.join(out, "iso", "hls", "index.m3u8")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(playlist_path) and media.Playlist(playlist_path).endlist:
                break
            time.sleep(0.2)
        pl = media.Playlist(playlist_path)
        assert pl.endlist, "the playlist was not finished:\n" + pl.text
        assert abs(pl.total() - SECONDS) < 2.5, "playlist covers %.1f s of %d:\n%s" % (
            pl.total(), SECONDS, pl.text)
        probed = 0.0
        for seg in pl.segments:
            info = media.ffprobe(seg["path"])
            v = media.stream(info, "video")
            assert v["codec_name"] == "h264" and (v["width"], v["height"]) == (640, 360), \
                media.summary(info)
            assert media.stream(info, "audio")["codec_name"] == "aac", media.summary(info)
            assert os.path.getsize(seg["path"]) < LIMIT
            probed += media.format_duration(info)
        assert abs(probed - SECONDS) < 2.5, "segments hold %.1f s of %d" % (probed, SECONDS)
    finally:
        if pub is not None:
            pub.kill()
        s.stop()


t.run(test_failing_file_output_leaves_segments_recording)
shutil.rmtree(WORK, ignore_errors=True)
t.done()
