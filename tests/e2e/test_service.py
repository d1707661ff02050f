"""The service: health and metrics surfaces, availability, signals, start-up failures."""
import os
import shutil
import signal
import subprocess
import time

from sluicetest import Sluice, Tap, free_port, http_get, run, write_config, SLUICE

t = Tap()


def config(health, prom, extra=""):
    return write_config("health_port: %d\nprometheus_port: %d\nbind_address: 127.0.0.1\n"
                        "plugins:\n  enable: []\n%s" % (health, prom, extra))


def test_health_availability_metrics():
    h, p = free_port(), free_port()
    path = config(h, p)
    s = Sluice(["--config", path])
    try:
        s.wait_ready()
        status, body = http_get("http://127.0.0.1:%d/" % h)
        assert (status, body.strip()) == (200, "Healthy"), (status, body)
        status, body = http_get("http://127.0.0.1:%d/availability" % h)
        assert (status, body.strip()) == (200, "Available"), (status, body)
        status, body = http_get("http://127.0.0.1:%d/nope" % h)
        assert status == 404, status
        status, body = http_get("http://127.0.0.1:%d/metrics" % p)
        assert status == 200, status
        for name in ["livekit_node_cpu_load{", "livekit_ingress_available{",
                     "livekit_egress_available{", "process_resident_memory_bytes ",
                     "process_cpu_seconds_total ", "sluice_sessions_active ",
                     "sluice_cpu_capacity_cores ", "sluice_build_info{"]:
            assert name in body, "missing %s in:\n%s" % (name, body)
        assert 'livekit_ingress_available{node_id="' in body and '"} 1' in body
        promtool = shutil.which("promtool")
        assert promtool, "promtool is not installed (Debian package prometheus)"
        r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                           text=True)
        assert r.returncode == 0, "promtool: %s %s" % (r.stdout, r.stderr)
    finally:
        s.stop()
        os.unlink(path)


def test_sigterm_exits_idle_within_a_second():
    h = free_port()
    path = config(h, 0)
    s = Sluice(["--config", path])
    try:
        s.wait_ready()
        t0 = time.monotonic()
        s.signal(signal.SIGTERM)
        rc = s.wait_exit(5)
        took = time.monotonic() - t0
        assert rc == 0, "exit status %r\n%s" % (rc, s.log())
        assert took < 1.0, "took %.2fs" % took
        assert "draining" in s.log()
    finally:
        s.stop()
        os.unlink(path)


def test_sigint_exits_idle_within_a_second():
    h = free_port()
    path = config(h, 0)
    s = Sluice(["--config", path])
    try:
        s.wait_ready()
        t0 = time.monotonic()
        s.signal(signal.SIGINT)
        rc = s.wait_exit(5)
        assert rc == 0, "exit status %r\n%s" % (rc, s.log())
        assert time.monotonic() - t0 < 1.0
    finally:
        s.stop()
        os.unlink(path)


def test_no_capacity_is_503_with_reason():
    h, p = free_port(), free_port()
    path = config(h, p, "cpu_cost:\n  max_cpu_utilization: 0.01\n")
    s = Sluice(["--config", path])
    try:
        s.wait_ready()
        status, body = http_get("http://127.0.0.1:%d/availability" % h)
        assert status == 503, (status, body)
        assert "no capacity" in body, body
        status, body = http_get("http://127.0.0.1:%d/metrics" % p)
        assert "livekit_ingress_available{node_id=" in body
        line = [l for l in body.splitlines() if l.startswith("livekit_ingress_available{")][0]
        assert line.endswith(" 0"), line
    finally:
        s.stop()
        os.unlink(path)


def test_health_and_metrics_share_a_port():
    h = free_port()
    path = config(h, h)
    s = Sluice(["--config", path])
    try:
        s.wait_ready()
        assert http_get("http://127.0.0.1:%d/" % h)[0] == 200
        status, body = http_get("http://127.0.0.1:%d/metrics" % h)
        assert status == 200 and "livekit_node_cpu_load" in body
    finally:
        s.stop()
        os.unlink(path)


def test_port_in_use_fails_clearly():
    import socket
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    path = config(port, 0)
    try:
        r = run([SLUICE, "--config", path], timeout=10)
        assert r.returncode != 0
        assert "cannot open the HTTP surfaces" in r.stderr, r.stderr
    finally:
        busy.close()
        os.unlink(path)


def test_missing_enabled_plugin_stops_startup():
    path = write_config("plugins:\n  enable: [does-not-exist]\n")
    try:
        r = run([SLUICE, "--config", path], timeout=10, env={"SLUICE_PLUGIN_PATH": ""})
        assert r.returncode != 0
        assert "plugin 'does-not-exist' is enabled but sluice-does-not-exist.so is in none of" \
            in r.stderr, r.stderr
    finally:
        os.unlink(path)


def test_invalid_config_stops_startup_with_line():
    path = write_config("plugins:\n  enable: []\nhealth_port: 80000\n")
    try:
        r = run([SLUICE, "--config", path], timeout=10)
        assert r.returncode != 0
        assert "%s:3: health_port:" % path in r.stderr, r.stderr
    finally:
        os.unlink(path)


def test_dropin_ingress_config_body():
    h = free_port()
    s = Sluice([], env={"INGRESS_CONFIG_BODY": "health_port: %d\nplugins:\n  enable: []\n" % h})
    try:
        s.wait_ready()
        assert "<INGRESS_CONFIG_BODY>" in s.log()
        assert http_get("http://127.0.0.1:%d/" % h)[0] == 200
    finally:
        s.stop()


for fn in [test_health_availability_metrics, test_sigterm_exits_idle_within_a_second,
           test_sigint_exits_idle_within_a_second, test_no_capacity_is_503_with_reason,
           test_health_and_metrics_share_a_port, test_port_in_use_fails_clearly,
           test_missing_enabled_plugin_stops_startup, test_invalid_config_stops_startup_with_line,
           test_dropin_ingress_config_body]:
    t.run(fn)
t.done()
