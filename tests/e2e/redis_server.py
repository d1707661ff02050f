"""A redis-server of the test's own, for end-to-end tests of a sluice cluster.

    from redis_server import RedisServer
    if not RedisServer.available():
        tap.skip("cluster", RedisServer.MISSING)
    with RedisServer() as redis:
        config = "redis:\\n  address: %s\\n" % redis.address
        ...
        redis.restart()          # same port, empty (nothing is persisted)
        redis.command("KEYS", "sluice:*")

The server listens on a free loopback port, persists nothing, and is killed when the test ends
(also at interpreter exit). Only the Python standard library is used.
"""
import atexit
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from sluicetest import free_port


class RedisServer:
    MISSING = "redis-server is not installed (scripts/deps.sh --test installs it)"

    @staticmethod
    def available():
        return shutil.which("redis-server") is not None

    def __init__(self, port=None, extra_args=()):
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.dir = tempfile.mkdtemp(prefix="sluice-redis-")
        self.proc = None
        self.log = []
        atexit.register(self.stop)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self, timeout=10):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir] + self.extra_args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        seen = b""
        # Ready when it says so (the log line), not when a poll of the port happens to succeed.
        while b"Ready to accept connections" not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                self.stop()
                raise RuntimeError("redis-server did not start: %s" % seen.decode(errors="replace"))
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("redis-server exited: %s" % seen.decode(errors="replace"))
            seen += chunk
        self.log.append(seen.decode(errors="replace"))
        # Keep reading its log so it never blocks on a full pipe.
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        return self

    def _drain(self, proc):
        for line in proc.stdout:
            self.log.append(line.decode(errors="replace"))

    def stop(self):
        """Kills the server (SIGKILL: what a crash looks like to its clients)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def restart(self):
        """Kill, then start again on the same port with nothing in it."""
        self.stop()
        return self.start()

    def pause(self):
        """SIGSTOP: the server keeps its connections and answers nothing."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def command(self, *args, timeout=5):
        """Runs one command and returns its reply (str, int, list or None); raises on an error
        reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            payload = b"*%d\r\n" % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                payload += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(payload)
            return _read_reply(s.makefile("rb"))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _read_reply(f):
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode(errors="replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise RuntimeError("unexpected reply from redis: %r" % line)


if __name__ == "__main__":
    # A quick self-check: python3 tests/e2e/redis_server.py
    with RedisServer() as r:
        assert r.command("PING") == "PONG"
        r.command("SET", "k", "v")
        assert r.command("GET", "k") == "v"
        r.restart()
        assert r.command("GET", "k") is None
        print("ok: redis-server on", r.address)
