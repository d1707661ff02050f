"""A redis-server of the test's own, for end-to-end tests of a sluice cluster.

    from redis_server import RedisServer
    if not RedisServer.available():
        tap.skip("cluster", RedisServer.MISSING)
    with RedisServer() as redis:
        config = "redis:\\n  address: %s\\n" % redis.address
        ...
        redis.restart()          # same port, empty (nothing is persisted)
        redis.command("KEYS", "sluice:*")

    pki = TestPki(directory)     # a throwaway CA, server and client certificates (openssl CLI)
    with RedisServer(tls=pki, tls_auth_clients=True, password="...") as redis:
        ...                      # TLS only: --port 0 --tls-port <port>; command() speaks TLS

The server listens on a free loopback port, persists nothing, and is killed when the test ends
(also at interpreter exit). Only the Python standard library is used (and the openssl CLI for
TestPki).
"""
import atexit
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from sluicetest import free_port


class TestPki:
    """A CA made for one test run, a server certificate it signed for 127.0.0.1 and localhost, a
    client certificate it signed, and a key that belongs to neither. Nothing is committed: the
    keys are made here with the openssl CLI, in `directory`."""
    MISSING = "openssl is not installed"
    SCRIPT = r"""
set -e
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
key ca.key; key server.key; key client.key; key other.key
openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=sluice-e2e-ca
openssl req -new -key server.key -out server.csr -subj /CN=localhost
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem
openssl req -new -key client.key -out client.csr -subj /CN=sluice-e2e-client
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem
"""

    @staticmethod
    def available():
        return shutil.which("openssl") is not None

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        subprocess.run(["sh", "-c", self.SCRIPT], cwd=directory, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def path(self, name):
        return os.path.join(self.dir, name)

    @property
    def ca(self):
        return self.path("ca.pem")


class RedisServer:
    MISSING = "redis-server is not installed (scripts/deps.sh --test installs it)"

    @staticmethod
    def available():
        return shutil.which("redis-server") is not None

    def __init__(self, port=None, extra_args=(), tls=None, tls_auth_clients=False, password=None):
        """With `tls` (a TestPki) the server speaks TLS only, on `port`; with `tls_auth_clients`
        it wants a client certificate signed by the same CA. `password`: requirepass."""
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.tls = tls
        self.tls_auth_clients = tls_auth_clients
        self.password = password
        self.dir = tempfile.mkdtemp(prefix="sluice-redis-")
        self.proc = None
        self.log = []
        atexit.register(self.stop)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self, timeout=10):
        if self.tls:
            listen = ["--port", "0", "--tls-port", str(self.port),
                      "--tls-cert-file", self.tls.path("server.pem"),
                      "--tls-key-file", self.tls.path("server.key"),
                      "--tls-ca-cert-file", self.tls.ca,
                      "--tls-auth-clients", "yes" if self.tls_auth_clients else "no"]
        else:
            listen = ["--port", str(self.port)]
        if self.password:
            listen += ["--requirepass", self.password]
        args = ["redis-server"] + listen + ["--bind", "127.0.0.1", "--save", "",
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
        reply. Speaks TLS (with the client certificate) and AUTH when the server wants them."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as raw:
            s = raw
            if self.tls:
                ctx = ssl.create_default_context(cafile=self.tls.ca)
                ctx.load_cert_chain(self.tls.path("client.pem"), self.tls.path("client.key"))
                s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            f = s.makefile("rb")
            if self.password:
                s.sendall(_encode(["AUTH", self.password]))
                _read_reply(f)
            s.sendall(_encode(args))
            return _read_reply(f)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _encode(args):
    payload = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        payload += b"$%d\r\n%s\r\n" % (len(a), a)
    return payload


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
    if TestPki.available():
        pki = TestPki(tempfile.mkdtemp(prefix="sluice-pki-"))
        with RedisServer(tls=pki, tls_auth_clients=True, password="pw-0123") as r:
            assert r.command("PING") == "PONG"
            print("ok: redis-server over TLS on", r.address)
        shutil.rmtree(pki.dir)
