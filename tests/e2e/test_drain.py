"""SIGTERM drains: no new publishers, /availability says draining, the running session finishes
and is recorded whole, then the process exits 0. SIGINT stops a running session cleanly."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from sluicetest import BUILD, Sluice, Tap, free_port, http_get, write_config

t = Tap()
PLUGINS = ":".join(os.path.join(BUILD, "plugins", p) for p in ("input-rtmp", "output-file"))


def publisher(port, key, seconds):
    return subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i",
         "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=sample_rate=48000",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-c:a", "aac",
         "-f", "flv", "rtmp://127.0.0.1:%d/live/%s" % (port, key)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def probe_duration(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-of", "json", "-show_format", path],
                       capture_output=True, text=True)
    return float(json.loads(r.stdout)["format"]["duration"])


def service(work):
    h, r = free_port(), free_port()
    cfg = write_config(
        "health_port: %d\nrtmp_port: %d\nbind_address: 127.0.0.1\noutput_dir: %s\n"
        "cpu_cost:\n  max_cpu_utilization: 1.0\n  rtmp_bypass_transcoding_cpu_cost: 0.0\n"
        "ingresses:\n  - name: a\n    stream_key: drain-key-a\n    room_name: ra\n"
        "    outputs:\n      file: { filepath: \"{room_name}.mp4\" }\n"
        "  - name: b\n    stream_key: drain-key-b\n    room_name: rb\n"
        "plugins:\n  enable: [input-rtmp, output-file]\n"
        % (h, r, os.path.join(work, "rec")), directory=work)
    return Sluice(["--config", cfg], env={"SLUICE_PLUGIN_PATH": PLUGINS}), h, r


def test_sigterm_drains_a_live_session():
    work = tempfile.mkdtemp(prefix="sluice-drain-")
    svc, h, r = service(work)
    pub = None
    try:
        svc.wait_ready()
        pub = publisher(r, "drain-key-a", 8)
        assert svc.wait_for("ENDPOINT_PUBLISHING", 15), svc.log()
        time.sleep(2)
        svc.signal(signal.SIGTERM)
        assert svc.wait_for("draining", 5), svc.log()
        status, body = http_get("http://127.0.0.1:%d/availability" % h)
        assert status == 503 and "draining" in body, (status, body)
        # a new publisher is refused while the first one goes on
        late = publisher(r, "drain-key-b", 2)
        assert late.wait(30) != 0, "a publisher was accepted while draining"
        assert svc.proc.poll() is None, "the service exited with a session still running"
        assert pub.wait(30) == 0, pub.stderr.read()
        rc = svc.wait_exit(30)
        assert rc == 0, "exit status %r\n%s" % (rc, svc.log())
        dur = probe_duration(os.path.join(work, "rec", "ra.mp4"))
        assert 7.0 <= dur <= 9.0, "recording lasted %.2f s of an 8 s publish" % dur
    finally:
        if pub and pub.poll() is None:
            pub.kill()
        svc.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_sigint_stops_a_live_session_cleanly():
    work = tempfile.mkdtemp(prefix="sluice-sigint-")
    svc, h, r = service(work)
    pub = None
    try:
        svc.wait_ready()
        pub = publisher(r, "drain-key-a", 30)
        assert svc.wait_for("ENDPOINT_PUBLISHING", 15), svc.log()
        time.sleep(4)
        t0 = time.monotonic()
        svc.signal(signal.SIGINT)
        rc = svc.wait_exit(30)
        assert rc == 0, "exit status %r\n%s" % (rc, svc.log())
        assert time.monotonic() - t0 < 10, "SIGINT took %.1f s" % (time.monotonic() - t0)
        assert "ended: ENDPOINT_INACTIVE" in svc.log(), svc.log()
        dur = probe_duration(os.path.join(work, "rec", "ra.mp4"))
        assert dur >= 3.0, "recording lasted %.2f s" % dur
        assert pub.wait(15) is not None
    finally:
        if pub and pub.poll() is None:
            pub.kill()
        svc.stop()
        shutil.rmtree(work, ignore_errors=True)


t.run(test_sigterm_drains_a_live_session)
t.run(test_sigint_stops_a_live_session_cleanly)
t.done()
