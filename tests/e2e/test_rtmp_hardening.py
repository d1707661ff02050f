"""The RTMP listener under hostile or broken clients: garbage, silence, floods of connections.
None of it may cost more than the connection itself."""
import os
import socket
import subprocess
import time

from sluicetest import BUILD, Sluice, Tap, free_port, http_get, write_config

t = Tap()
RTMP_PLUGIN = os.path.join(BUILD, "plugins", "input-rtmp")

h, r = free_port(), free_port()
cfg = write_config(
    "health_port: %d\nrtmp_port: %d\nbind_address: 127.0.0.1\n"
    "plugins:\n  enable: [input-rtmp]\n  input-rtmp:\n    handshake_timeout: 1s\n"
    "    max_pending_connections: 8\n"
    "ingresses:\n  - name: studio\n    stream_key: hardening-key-1\n" % (h, r))
svc = Sluice(["--config", cfg], env={"SLUICE_PLUGIN_PATH": RTMP_PLUGIN})


def connect():
    s = socket.create_connection(("127.0.0.1", r), timeout=5)
    s.settimeout(5)
    return s


def closed_by_server(s, within):
    """True when the server closes `s` within `within` seconds."""
    s.settimeout(within)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def alive():
    return svc.proc.poll() is None and http_get("http://127.0.0.1:%d/" % h)[0] == 200


def test_garbage_closes_connection_only():
    s = connect()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(4000))
    assert closed_by_server(s, 5), "server kept a connection that sent garbage"
    s.close()
    assert alive()
    assert svc.wait_for("unsupported RTMP version", 2) or svc.wait_for("protocol error", 2), svc.log()


def test_random_bytes_after_handshake_prefix():
    for _ in range(20):
        s = connect()
        s.sendall(b"\x03" + os.urandom(1536 + 1536 + 3000))
        closed_by_server(s, 3)
        s.close()
    assert alive()


def test_silent_connection_times_out():
    s = connect()
    t0 = time.monotonic()
    assert closed_by_server(s, 5), "a silent connection was not closed"
    took = time.monotonic() - t0
    s.close()
    assert 0.5 < took < 4, "closed after %.2fs (handshake_timeout 1s)" % took
    assert svc.wait_for("not publishing within 1000 ms", 2), svc.log()


def test_unauthenticated_connection_cap():
    socks = [connect() for _ in range(8)]
    time.sleep(0.2)
    extra = connect()
    try:
        assert closed_by_server(extra, 2), "the 9th pending connection was accepted"
        assert svc.wait_for("connections are already waiting to publish", 2), svc.log()
    finally:
        extra.close()
        for s in socks:
            s.close()
    time.sleep(1.5)  # the held ones time out; new connections are welcome again
    s = connect()
    assert not closed_by_server(s, 0.3), "a connection was refused after the flood ended"
    s.close()
    assert alive()


def test_publish_without_outputs_still_works_after_abuse():
    p = subprocess.run(["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i",
                        "testsrc2=size=320x240:rate=15", "-t", "2", "-c:v", "libx264", "-g", "30",
                        "-f", "flv", "rtmp://127.0.0.1:%d/live/hardening-key-1" % r],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert svc.wait_for("ended: ENDPOINT_INACTIVE", 10), svc.log()


try:
    svc.wait_ready()
    for fn in [test_garbage_closes_connection_only, test_random_bytes_after_handshake_prefix,
               test_silent_connection_times_out, test_unauthenticated_connection_cap,
               test_publish_without_outputs_still_works_after_abuse]:
        t.run(fn)
finally:
    svc.stop()
    os.unlink(cfg)
t.done()
