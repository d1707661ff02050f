#!/usr/bin/env python3
"""End-to-end tests of the upload-gcp plugin through the real CLI (`sluice upload`).

They run against gcs_server.mjs, a GCS server written from Google's documentation (nothing real
runs offline): it verifies the service account's RS256-signed JWT with the PUBLIC half of a key
made here with openssl, requires the bearer token it issued on every upload request, and speaks
the resumable protocol (308 + Range), optionally keeping less than each chunk carried or failing
on purpose. Objects are read back over HTTP and compared by SHA-256 with the local files.

Environment (set by meson): SLUICE_BIN, SLUICE_PLUGIN_PATH. The node binary is the first
argument (else `node` on the PATH).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e"))
from sluicetest import SLUICE, Tap, write_config  # noqa: E402

NODE = sys.argv[1] if len(sys.argv) > 1 else shutil.which("node")
SERVER_JS = os.path.join(HERE, "gcs_server.mjs")
EMAIL = "recorder@sluice-test.iam.gserviceaccount.com"
BUCKET = "sluice-recordings"
MIB = 1024 * 1024

tap = Tap()
work = tempfile.mkdtemp(prefix="sluice-gcp-")
outputs = []  # every stdout/stderr sluice printed, checked for secrets at the end
issued_tokens = set()  # every access token the server issued, ditto


# ---- keys, files, server ---------------------------------------------------------------------
def make_key(name):
    key = os.path.join(work, name + ".pem")
    pub = os.path.join(work, name + ".pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", key], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    with open(key) as f:
        return f.read(), pub


def make_file(name, size):
    """A file of `size` random bytes; returns (path, sha256 hex)."""
    path = os.path.join(work, name)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            block = os.urandom(min(left, MIB))
            h.update(block)
            f.write(block)
            left -= len(block)
    return path, h.hexdigest()


class Server:
    def __init__(self, pub):
        self.dir = os.path.join(work, "server")
        self.log = open(os.path.join(work, "server.log"), "w")
        self.proc = subprocess.Popen(
            [NODE, SERVER_JS, "--dir", self.dir, "--account", "%s=%s" % (EMAIL, pub),
             "--bucket", BUCKET], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            text=True)  # stdin: the server exits when this process does
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("gcs_server.mjs did not start:\n" + open(self.log.name).read())
        self.port = json.loads(line)["port"]
        self.base = "http://127.0.0.1:%d" % self.port

    def call(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data,
                                     method="POST" if body is not None else "GET")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def state(self):
        s = self.call("/_debug/state")
        issued_tokens.update(s["tokens"])
        return s

    def reset(self, **config):
        self.state()  # remember the tokens before they are dropped
        self.call("/_debug/reset", {})
        base = {"token_lifetime": 3599, "short_accept": False, "put_delay_ms": 0, "faults": []}
        base.update(config)
        self.call("/_debug/config", base)

    def download_sha256(self, url):
        h = hashlib.sha256()
        n = 0
        with urllib.request.urlopen(url, timeout=60) as r:
            while True:
                block = r.read(MIB)
                if not block:
                    break
                h.update(block)
                n += len(block)
        return h.hexdigest(), n

    def object_sha256(self, name):
        """Downloads the object through the JSON API's media URL."""
        url = "%s/storage/v1/b/%s/o/%s?alt=media" % (self.base, BUCKET,
                                                     urllib.parse.quote(name, safe=""))
        return self.download_sha256(url)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def credentials(private_key, token_uri):
    return json.dumps({
        "type": "service_account",
        "project_id": "sluice-test",
        "private_key_id": "4f1e0c2d9b7a",
        "private_key": private_key,
        "client_email": EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })


def config(creds, endpoint=None, bucket=BUCKET):
    lines = ["plugins:", "  enable: [upload-gcp]", "gcp:",
             # YAML single quotes keep the JSON's backslash escapes as they are
             "  credentials_json: '%s'" % creds.replace("'", "''"),
             "  bucket: %s" % bucket]
    if endpoint:
        lines.append("  endpoint: %s" % endpoint)
    return write_config("\n".join(lines) + "\n", directory=work)


def upload(cfg, path, key, env=None):
    """Runs `sluice upload`; returns (exit code, stdout, stderr, peak RSS in KiB)."""
    e = dict(os.environ)
    for var in ("STORAGE_EMULATOR_HOST", "CLOUD_STORAGE_EMULATOR_HOST",
                "GOOGLE_APPLICATION_CREDENTIALS"):
        e.pop(var, None)
    if env:
        e.update(env)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([SLUICE, "upload", "--config", cfg, path, key], env=e, stdout=out,
                             stderr=err, text=True)
        deadline = time.monotonic() + 180
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        o, r = out.read(), err.read()
    outputs.append(o + r)
    return p.returncode, o, r, usage.ru_maxrss


def expect_ok(rc, out, err):
    if rc != 0:
        raise AssertionError("sluice upload exited %d\nstdout: %s\nstderr: %s" % (rc, out, err))


def location_of(base, key):
    return "%s/%s/%s" % (base, BUCKET, urllib.parse.quote(key, safe="/"))


def check_counters(c, **want):
    """Each keyword is an exact value, or a (min, max) pair with None for an open end."""
    for k, v in want.items():
        lo, hi = v if isinstance(v, tuple) else (v, v)
        if (lo is not None and c[k] < lo) or (hi is not None and c[k] > hi):
            raise AssertionError("server counter %s = %d, want %s\nall: %s" % (k, c[k], v, c))


# ---- set-up -----------------------------------------------------------------------------------
if NODE is None:
    tap.ok(False, "node is needed to run the GCS test server")
    tap.done()

private_key, public_pem = make_key("account")
rogue_key, _ = make_key("rogue")  # same account name, a key the server has never seen
srv = Server(public_pem)
token_uri = srv.base + "/token"
creds = credentials(private_key, token_uri)
cfg = config(creds, endpoint=srv.base)
small, small_sha = make_file("small.bin", 300 * 1000 + 7)
big, big_sha = make_file("big.bin", 64 * MIB)
baseline_rss = {}


# ---- tests ------------------------------------------------------------------------------------
def test_small_file_simple_upload_byte_identical():
    srv.reset()
    key = "rooms/my room/ü+1 (final).mp4"
    rc, out, err, rss = upload(cfg, small, key)
    expect_ok(rc, out, err)
    baseline_rss["small"] = rss
    assert out.strip() == location_of(srv.base, key), out
    s = srv.state()
    check_counters(s["counters"], simple_uploads=1, sessions_started=0, tokens_issued=1,
                   unauthorized=0, bad_requests=0)
    obj = s["objects"]["%s/%s" % (BUCKET, key)]
    assert obj["contentType"] == "video/mp4", obj
    assert srv.object_sha256(key) == (small_sha, 300 * 1000 + 7)
    # the reported location serves the same bytes
    assert srv.download_sha256(out.strip()) == (small_sha, 300 * 1000 + 7)


def test_empty_file():
    srv.reset()
    path, sha = make_file("empty.txt", 0)
    rc, out, err, _ = upload(cfg, path, "empty.txt")
    expect_ok(rc, out, err)
    check_counters(srv.state()["counters"], simple_uploads=1)
    assert srv.object_sha256("empty.txt") == (sha, 0)


def test_64_mib_resumable_upload_byte_identical_in_bounded_memory():
    srv.reset()
    key = "recordings/room-a/2024-01-01T120000.mp4"
    rc, out, err, rss = upload(cfg, big, key)
    expect_ok(rc, out, err)
    assert out.strip() == location_of(srv.base, key), out
    c = srv.state()["counters"]
    # 64 MiB in 8 MiB chunks: 7 answered 308, the last 200; no request body above one chunk
    check_counters(c, sessions_started=1, chunk_puts=8, resume_308=7, short_acceptances=0,
                   simple_uploads=0, tokens_issued=1, max_body_bytes=8 * MIB, bad_requests=0)
    assert srv.object_sha256(key) == (big_sha, 64 * MIB)
    # Streamed from disk: the process grew by far less than the file (one 8 MiB chunk buffer,
    # plus what libsoup holds while sending it).
    grew = rss - baseline_rss["small"]
    assert grew < 32 * 1024, "peak RSS %d KiB vs %d KiB for a small file" % (
        rss, baseline_rss["small"])


def test_one_byte_past_the_simple_limit_goes_resumable():
    srv.reset()
    path, sha = make_file("edge.bin", 8 * MIB + 1)
    rc, out, err, _ = upload(cfg, path, "edge.bin")
    expect_ok(rc, out, err)
    check_counters(srv.state()["counters"], sessions_started=1, chunk_puts=2, resume_308=1)
    assert srv.object_sha256("edge.bin") == (sha, 8 * MIB + 1)


def test_server_keeping_less_than_sent_still_gives_identical_object():
    srv.reset(short_accept=True)
    rc, out, err, _ = upload(cfg, big, "short/accept.bin")
    expect_ok(rc, out, err)
    c = srv.state()["counters"]
    # every full chunk lost its last 256 KiB and had to be resent from the Range
    check_counters(c, short_acceptances=(8, None), chunk_puts=(10, None), bad_requests=0,
                   objects_finalized=1)
    assert srv.object_sha256("short/accept.bin") == (big_sha, 64 * MIB)


def test_token_refreshed_during_a_long_upload():
    # 3 s tokens and half a second per chunk: the 64 MiB upload outlives its first token.
    srv.reset(token_lifetime=3, put_delay_ms=500)
    t0 = time.monotonic()
    rc, out, err, _ = upload(cfg, big, "long/refresh.bin")
    took = time.monotonic() - t0
    expect_ok(rc, out, err)
    c = srv.state()["counters"]
    assert took > 4, "the upload took %.1f s, too short to need a second token" % took
    # replaced before expiry: the server never saw an expired token
    check_counters(c, tokens_issued=(2, None), expired_token_refusals=0, unauthorized=0)
    assert srv.object_sha256("long/refresh.bin") == (big_sha, 64 * MIB)


def test_failures_mid_upload_are_resumed():
    # chunk 2: connection cut after half of it was stored; chunk 4: 503; chunk 6: every token
    # revoked (401); chunk 8: the session forgotten (410), so the upload starts over.
    srv.reset(faults=[{"put": 2, "kind": "drop"}, {"put": 4, "kind": "503"},
                      {"put": 6, "kind": "401"}, {"put": 8, "kind": "410"}])
    path, sha = make_file("faults.bin", 40 * MIB + 12345)
    rc, out, err, _ = upload(cfg, path, "faults.bin")
    expect_ok(rc, out, err)
    c = srv.state()["counters"]
    check_counters(c, faults_fired=4, status_queries=(3, None), sessions_started=2,
                   unauthorized=1, tokens_issued=2, bad_requests=0, objects_finalized=1)
    assert srv.object_sha256("faults.bin") == (sha, 40 * MIB + 12345)
    assert "retry" in err and "new session" in err, err


def test_last_chunk_stored_but_not_finished():
    # the server keeps the whole last chunk yet answers 308: the client asks once more
    srv.reset(faults=[{"put": 2, "kind": "hold"}])
    path, sha = make_file("hold.bin", 9 * MIB + 3)
    rc, out, err, _ = upload(cfg, path, "hold.bin")
    expect_ok(rc, out, err)
    check_counters(srv.state()["counters"], faults_fired=1, chunk_puts=2, status_queries=1,
                   objects_finalized=1, bad_requests=0)
    assert srv.object_sha256("hold.bin") == (sha, 9 * MIB + 3)


def test_storage_emulator_host_instead_of_endpoint():
    srv.reset()
    cfg_env = config(creds)  # no endpoint
    hostport = "127.0.0.1:%d" % srv.port  # the bare form Google's clients accept
    rc, out, err, _ = upload(cfg_env, small, "via-env.bin", {"STORAGE_EMULATOR_HOST": hostport})
    expect_ok(rc, out, err)
    assert out.strip() == location_of("http://" + hostport, "via-env.bin"), out
    check_counters(srv.state()["counters"], simple_uploads=1, tokens_issued=1)
    assert srv.object_sha256("via-env.bin") == (small_sha, 300 * 1000 + 7)
    # an explicit endpoint wins over the variable
    rc, out, err, _ = upload(cfg, small, "explicit.bin",
                             {"STORAGE_EMULATOR_HOST": "127.0.0.1:1"})
    expect_ok(rc, out, err)
    assert out.strip() == location_of(srv.base, "explicit.bin"), out


def test_unknown_key_is_refused_with_a_clear_error():
    srv.reset()
    bad_cfg = config(credentials(rogue_key, token_uri), endpoint=srv.base)
    rc, out, err, _ = upload(bad_cfg, small, "never.bin")
    assert rc == 1, "exit %d\n%s\n%s" % (rc, out, err)
    assert out.strip() == ""
    assert re.search(r"token request to \S+/token for %s failed: HTTP 400 Bad Request: "
                     r"invalid_grant: Invalid JWT Signature\." % re.escape(EMAIL), err), err
    c = srv.state()["counters"]
    check_counters(c, token_refusals=1, tokens_issued=0, objects_finalized=0, simple_uploads=0)


def test_unknown_bucket_reports_googles_message():
    srv.reset()
    rc, out, err, _ = upload(config(creds, endpoint=srv.base, bucket="no-such-bucket"), small,
                             "x.bin")
    assert rc == 1, "exit %d\n%s\n%s" % (rc, out, err)
    assert "upload of gs://no-such-bucket/x.bin failed: HTTP 404 Not Found: " \
           "The specified bucket does not exist." in err, err


def test_no_secret_in_any_output():
    srv.state()
    assert issued_tokens, "the server issued no tokens to look for"
    pem_lines = [l for k in (private_key, rogue_key) for l in k.splitlines()
                 if l and not l.startswith("-----")]
    for text in outputs:
        assert "PRIVATE KEY" not in text
        for line in pem_lines:
            assert line not in text, "a line of a private key was printed"
        for tok in issued_tokens:
            assert tok not in text, "an access token was printed"
        assert "eyJ" not in text, "something that looks like a signed JWT was printed"
    assert len(outputs) >= 10


try:
    for t in [test_small_file_simple_upload_byte_identical,
              test_empty_file,
              test_64_mib_resumable_upload_byte_identical_in_bounded_memory,
              test_one_byte_past_the_simple_limit_goes_resumable,
              test_server_keeping_less_than_sent_still_gives_identical_object,
              test_token_refreshed_during_a_long_upload,
              test_failures_mid_upload_are_resumed,
              test_last_chunk_stored_but_not_finished,
              test_storage_emulator_host_instead_of_endpoint,
              test_unknown_key_is_refused_with_a_clear_error,
              test_unknown_bucket_reports_googles_message,
              test_no_secret_in_any_output]:
        tap.run(t)
finally:
    srv.stop()
    shutil.rmtree(work, ignore_errors=True)
tap.done()
