"""Shared helpers for sluice's end-to-end tests: TAP output, free ports, running sluice.

Only the Python standard library is used, so the tests run on a fresh Debian machine.
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

SLUICE = os.environ.get("SLUICE_BIN", "sluice")
SRC = os.environ.get("SLUICE_SOURCE_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("SLUICE_BUILD_ROOT", os.path.join(SRC, "build"))


class Tap:
    """Minimal TAP producer: one line per check, the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, name), flush=True)
        if not cond:
            self.failed += 1
            if diag:
                for line in str(diag).splitlines():
                    print("# " + line, flush=True)
        return cond

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why), flush=True)

    def run(self, fn):
        """Runs one test function; an exception is a failure with its traceback."""
        name = fn.__name__.replace("test_", "").replace("_", " ")
        try:
            fn()
            self.ok(True, name)
        except Exception:
            self.ok(False, name, traceback.format_exc())

    def done(self):
        print("1..%d" % self.n, flush=True)
        sys.exit(1 if self.failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ports(n):
    """n distinct free ports."""
    out = []
    while len(out) < n:
        p = free_port()
        if p not in out:
            out.append(p)
    return out


def http_get(url, timeout=5):
    """Returns (status, body) without raising on HTTP error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def write_config(text, directory=None):
    fd, path = tempfile.mkstemp(suffix=".yaml", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def run(args, env=None, timeout=60, **kw):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(args, env=e, timeout=timeout, capture_output=True, text=True, **kw)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def api_token(key, secret, subject="e2e", video=None):
    """An HS256 access token as LiveKit's server SDKs make one: iss = the API key, `video` grants
    (ingress admin and room record unless told otherwise), valid for ten minutes."""
    now = int(time.time())
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"iss": key, "sub": subject, "nbf": now - 10, "exp": now + 600,
                                "video": video or {"ingressAdmin": True, "roomRecord": True}}).encode())
    sig = hmac.new(secret.encode(), ("%s.%s" % (header, claims)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (header, claims, b64url(sig))


class Api:
    """Twirp JSON calls to the API of workers that share one key and secret. A worker is a dict
    with its "name" and "api" port."""

    def __init__(self, key, secret, subject="e2e"):
        self.key, self.secret, self.subject = key, secret, subject

    def twirp(self, worker, service, method, body, timeout=20):
        """(status, answer) of one call."""
        req = urllib.request.Request(
            "http://127.0.0.1:%d/twirp/livekit.%s/%s" % (worker["api"], service, method),
            data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": "Bearer " + api_token(self.key, self.secret, self.subject)})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read().decode() or "{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode() or "{}")

    def call(self, worker, service, method, body):
        """The answer of a call that must succeed."""
        status, answer = self.twirp(worker, service, method, body)
        assert status == 200, "%s/%s on %s: %d %s" % (service, method, worker["name"], status,
                                                       answer)
        return answer

    def ingress(self, worker, ingress_id):
        items = self.call(worker, "Ingress", "ListIngress", {"ingressId": ingress_id})
        return (items.get("items") or [None])[0]

    def egress(self, worker, egress_id):
        items = self.call(worker, "Egress", "ListEgress", {"egressId": egress_id})
        return (items.get("items") or [None])[0]


def wait_until(fn, timeout, step=0.2):
    """The first truthy value of fn() within `timeout` s (an AssertionError or OSError counts as
    none yet), else the last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        try:
            value = fn()
        except (AssertionError, OSError):
            value = None
        if value:
            return value
        time.sleep(step)
    return value


def status_of(info):
    """The state of an IngressInfo as a JSON object (None or no state: ENDPOINT_INACTIVE)."""
    return (info or {}).get("state", {}).get("status", "ENDPOINT_INACTIVE")


class Sluice:
    """A running sluice service; stderr is collected line by line."""

    def __init__(self, args, env=None, binary=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        self.proc = subprocess.Popen([binary or SLUICE] + list(args), env=e,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_for(self, text, timeout=10):
        """Waits until a stderr line contains `text`; False when the process ends first."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if any(text in l for l in self.lines):
                    return True
                if self.proc.poll() is not None and not self.reader.is_alive():
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.1))

    def wait_ready(self, timeout=10):
        if not self.wait_for(" ready: ", timeout):
            raise AssertionError("sluice did not become ready:\n" + self.log())

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.reader.join(timeout=2)
