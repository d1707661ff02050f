"""End-to-end: `sluice upload` through the upload-alioss plugin into oss_server.mjs, which checks
every request's signature with the ali-oss client's own signing code.

Each check runs the real CLI with a YAML config (`alioss:` at the top level), then reads the
object back from the server and compares sha256 digests, and reads the server's counters to see
which path (PutObject or multipart) and which signature version was used.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SLUICE_SOURCE_ROOT", os.path.abspath(os.path.join(HERE, "..", "..", "..")))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))

from sluicetest import SLUICE, Tap, write_config  # noqa: E402

AK = "LTAI5tSluiceTestKey"
SECRET = "Sluice-Test-Secret-3f9a0c71d2"
WRONG_SECRET = "Wrong-Secret-Value-0b7e6a55c4"
BUCKET = "media"
MIB = 1024 * 1024

t = Tap()
tmp = tempfile.TemporaryDirectory(prefix="sluice-alioss-")


class OssServer:
    """oss_server.mjs on a free port of 127.0.0.1."""

    def __init__(self):
        if not os.path.isdir(os.path.join(HERE, "node_modules", "ali-oss")):
            raise RuntimeError("ali-oss is not installed in %s: run scripts/deps.sh --test "
                               "(npm ci there)" % HERE)
        self.err = open(os.path.join(tmp.name, "server.log"), "w+")
        self.proc = subprocess.Popen(
            ["node", os.path.join(HERE, "oss_server.mjs"), "--region", "cn-hangzhou",
             "--bucket", BUCKET, "--key", "%s:%s" % (AK, SECRET)],
            stdout=subprocess.PIPE, stderr=self.err, text=True, cwd=HERE)
        line = self.proc.stdout.readline()
        if not line:
            self.err.seek(0)
            raise RuntimeError("oss_server.mjs did not start:\n" + self.err.read())
        self.port = json.loads(line)["port"]
        self.base = "http://127.0.0.1:%d" % self.port

    def admin(self, path, method="GET", **query):
        url = "%s/_admin/%s?%s" % (self.base, path, urllib.parse.urlencode(query, quote_via=urllib.parse.quote))
        req = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read(), dict(r.headers)

    def stats(self):
        return json.loads(self.admin("stats")[0])

    def object(self, key):
        """(bytes, headers) of a stored object, or None."""
        try:
            return self.admin("object", bucket=BUCKET, key=key)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.err.close()


def make_file(name, size):
    path = os.path.join(tmp.name, name)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            chunk = os.urandom(min(left, 4 * MIB))
            f.write(chunk)
            h.update(chunk)
            left -= len(chunk)
    return path, h.hexdigest()


def config(server, region="cn-hangzhou", secret=SECRET, plugin=None, bucket=BUCKET):
    lines = ["plugins:", "  enable: [upload-alioss]"]
    if plugin:
        lines.append("  upload-alioss:")
        lines += ["    %s: %s" % kv for kv in plugin.items()]
    lines += ["alioss:",
              "  access_key: %s" % AK,
              "  secret: %s" % secret,
              "  endpoint: %s" % server.base,
              "  bucket: %s" % bucket]
    if region:
        lines.append("  region: %s" % region)
    return write_config("\n".join(lines) + "\n", tmp.name)


class Result:
    def __init__(self, rc, out, err, maxrss_kb):
        self.rc, self.out, self.err, self.maxrss_kb = rc, out, err, maxrss_kb

    def __str__(self):
        return "exit %s\nstdout: %s\nstderr: %s" % (self.rc, self.out, self.err)


def peak_rss_kb(pid):
    """The process's peak resident set so far (VmHWM: per address space, so it starts afresh at
    exec, unlike rusage's ru_maxrss which inherits the forking parent's), or 0 once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def upload(cfg, path, key, timeout=300):
    """Runs `sluice upload --config cfg path key`, sampling its peak RSS while it runs."""
    out = tempfile.TemporaryFile(mode="w+")
    err = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen([SLUICE, "upload", "--config", cfg, path, key], stdout=out, stderr=err)
    peak = 0
    deadline = time.monotonic() + timeout
    while p.poll() is None:
        peak = max(peak, peak_rss_kb(p.pid))
        if time.monotonic() > deadline:
            p.kill()
        time.sleep(0.01)
    out.seek(0)
    err.seek(0)
    return Result(p.returncode, out.read().strip(), err.read(), peak)


def expect_location(server, key):
    return "%s/%s/%s" % (server.base, BUCKET, urllib.parse.quote(key, safe="/-_.~"))


def check_stored(server, key, digest, content_type=None):
    got = server.object(key)
    assert got is not None, "no object %r on the server" % key
    data, headers = got
    assert hashlib.sha256(data).hexdigest() == digest, \
        "object %r differs from the file (%d bytes stored)" % (key, len(data))
    if content_type:
        assert headers.get("Content-Type") == content_type, headers
    return headers


def delta(before, after, *path):
    a, b = before, after
    for p in path:
        a, b = a.get(p, 0) if isinstance(a, dict) else 0, b.get(p, 0) if isinstance(b, dict) else 0
    return b - a


server = None
try:
    server = OssServer()
except Exception as e:  # the tests cannot run: say so as a failure, not a skip
    t.ok(False, "start oss_server.mjs", e)
    t.done()

small_path, small_sha = make_file("small.mp4", 300 * 1024 + 7)
large_path, large_sha = make_file("large.mp4", 64 * MIB + 12345)
cfg_v4 = config(server)
cfg_v1 = config(server, region=None)


def test_small_file_putobject_v4():
    before = server.stats()
    key = "rooms/r1/small.mp4"
    r = upload(cfg_v4, small_path, key)
    assert r.rc == 0, r
    assert r.out == expect_location(server, key), r
    check_stored(server, key, small_sha, "video/mp4")
    after = server.stats()
    assert delta(before, after, "ops", "PutObject") == 1, after
    assert delta(before, after, "multipart", "initiated") == 0, after
    assert delta(before, after, "auth", "v4") == 1 and delta(before, after, "auth", "v1") == 0, after


def test_large_file_multipart_v4():
    before = server.stats()
    key = "rooms/r1/large.mp4"
    r = upload(cfg_v4, large_path, key)
    assert r.rc == 0, r
    assert r.out == expect_location(server, key), r
    headers = check_stored(server, key, large_sha, "video/mp4")
    after = server.stats()
    # 64 MiB + 12345 bytes in 8 MiB parts
    assert headers.get("x-test-parts") == "9", headers
    assert delta(before, after, "multipart", "initiated") == 1, after
    assert delta(before, after, "multipart", "completed") == 1, after
    assert delta(before, after, "multipart", "parts") == 9, after
    assert delta(before, after, "ops", "PutObject") == 0, after
    assert delta(before, after, "auth", "v1") == 0, after
    assert after["openUploads"] == 0, after


def test_memory_bounded_by_parts():
    # With 1 MiB parts, two in flight, uploading 64 MiB must not cost much more memory than
    # uploading 300 KiB: the file is read a part at a time, never whole.
    cfg = config(server, plugin={"part_size": MIB, "parallel_parts": 2})
    small = upload(cfg, small_path, "mem/small.mp4")
    large = upload(cfg, large_path, "mem/large.mp4")
    assert small.rc == 0 and large.rc == 0, "%s\n%s" % (small, large)
    check_stored(server, "mem/large.mp4", large_sha)
    grown_mib = (large.maxrss_kb - small.maxrss_kb) / 1024.0
    print("# peak RSS %d KiB for 300 KiB, %d KiB for 64 MiB (+%.1f MiB)"
          % (small.maxrss_kb, large.maxrss_kb, grown_mib), flush=True)
    assert grown_mib < 24, "peak memory grew by %.1f MiB for a 64 MiB file" % grown_mib


def test_keys_with_spaces_plus_and_non_ascii():
    keys = [
        "with space/a b.mp4",
        "plus+sign/c+d+.ts",
        "非ASCII/录像 ✓ é.mp4",
        "reserved/!'()*@$&=;:,#[]~%20.txt",
        "/leading/slash.mp4",
    ]
    for cfg, version in ((cfg_v4, "v4"), (cfg_v1, "v1")):
        for key in keys:
            stored = key.lstrip("/")
            k = "%s/%s" % (version, stored)
            r = upload(cfg, small_path, ("/" if key.startswith("/") else "") + k)
            assert r.rc == 0, "%s %r: %s" % (version, k, r)
            assert r.out == expect_location(server, k), "%s %r: %s" % (version, k, r.out)
            check_stored(server, k, small_sha)


def test_v1_signing_when_no_region():
    before = server.stats()
    path, sha = make_file("v1-multi.mp4", 17 * MIB)
    r1 = upload(cfg_v1, small_path, "v1/small.mp4")
    r2 = upload(cfg_v1, path, "v1/multi part.mp4")
    assert r1.rc == 0 and r2.rc == 0, "%s\n%s" % (r1, r2)
    check_stored(server, "v1/small.mp4", small_sha)
    headers = check_stored(server, "v1/multi part.mp4", sha)
    assert headers.get("x-test-parts") == "3", headers
    after = server.stats()
    # PutObject + Initiate + 3 parts + Complete, all v1
    assert delta(before, after, "auth", "v1") == 6, after
    assert delta(before, after, "auth", "v4") == 0, after


def test_wrong_secret_is_refused_clearly():
    for region in ("cn-hangzhou", None):
        cfg = config(server, region=region, secret=WRONG_SECRET)
        for path, key in ((small_path, "denied/small.mp4"), (large_path, "denied/large.mp4")):
            before = server.stats()
            r = upload(cfg, path, key)
            assert r.rc == 1, r
            assert "SignatureDoesNotMatch" in r.err and "HTTP 403" in r.err, r
            assert WRONG_SECRET not in r.err + r.out and SECRET not in r.err + r.out, r
            assert server.object(key) is None
            after = server.stats()
            assert delta(before, after, "rejected", "SignatureDoesNotMatch") >= 1, after
            assert after["openUploads"] == 0, after


def test_retries_on_5xx_and_dropped_connections():
    before = server.stats()
    server.admin("fail", "POST", op="UploadPart", count=3, status=503)
    server.admin("fail", "POST", op="CompleteMultipartUpload", count=1, status=500)
    path, sha = make_file("retry.mp4", 20 * MIB)
    r = upload(cfg_v4, path, "retry/parts.mp4")
    assert r.rc == 0, r
    check_stored(server, "retry/parts.mp4", sha)
    retried = [l for l in r.err.splitlines() if "; retry " in l]
    assert sum("UploadPart" in l and "HTTP 503" in l for l in retried) == 3, r.err
    assert sum("CompleteMultipartUpload" in l and "HTTP 500" in l for l in retried) == 1, r.err
    after = server.stats()
    assert delta(before, after, "ops", "UploadPart") == 3 + 3, after
    assert delta(before, after, "ops", "CompleteMultipartUpload") == 2, after

    server.admin("fail", "POST", op="PutObject", count=2, mode="reset")
    r = upload(cfg_v1, small_path, "retry/reset.mp4")
    assert r.rc == 0, r
    check_stored(server, "retry/reset.mp4", small_sha)
    assert "retry 2 of 5" in r.err, r.err


def test_complete_whose_answer_was_lost():
    # CompleteMultipartUpload succeeds but its answer never arrives; the retry then hears
    # NoSuchUpload. The object is there with the file's size, so the upload counts as done.
    before = server.stats()
    server.admin("fail", "POST", op="CompleteMultipartUpload", count=1, mode="drop-answer")
    path, sha = make_file("lost-answer.mp4", 9 * MIB)
    r = upload(cfg_v4, path, "lost/answer.mp4")
    assert r.rc == 0, r
    check_stored(server, "lost/answer.mp4", sha)
    after = server.stats()
    assert delta(before, after, "ops", "CompleteMultipartUpload") == 2, after
    assert delta(before, after, "rejected", "NoSuchUpload") == 1, after
    assert delta(before, after, "ops", "HeadObject") == 1, after


def test_failed_part_aborts_the_upload():
    before = server.stats()
    cfg = config(server, plugin={"max_retries": 1})
    server.admin("fail", "POST", op="UploadPart", count=1000, status=500)
    try:
        r = upload(cfg, large_path, "abort/large.mp4")
    finally:
        server.admin("clear-faults", "POST")
    stats = server.stats()
    assert r.rc == 1, r
    assert "UploadPart" in r.err and "HTTP 500 InternalError" in r.err, r
    assert "failed after 2 attempts" in r.err and "the multipart upload was aborted" in r.err, r
    assert delta(before, stats, "multipart", "aborted") == 1, stats
    assert stats["openUploads"] == 0, stats
    assert server.object("abort/large.mp4") is None


def test_clock_skew_is_corrected():
    server.admin("skew", "POST", seconds=3600)
    try:
        r4 = upload(cfg_v4, small_path, "skew/v4.mp4")
        r1 = upload(cfg_v1, small_path, "skew/v1.mp4")
    finally:
        server.admin("skew", "POST", seconds=0)
    assert r4.rc == 0 and r1.rc == 0, "%s\n%s" % (r4, r1)
    assert "behind OSS's" in r4.err, r4.err
    check_stored(server, "skew/v4.mp4", small_sha)
    check_stored(server, "skew/v1.mp4", small_sha)


def test_concurrent_uploads_through_one_plugin():
    # One loaded plugin, six uploads at once from six threads (three multipart, three PutObject,
    # v4 then v1): each object arrives whole under its own key.
    if len(sys.argv) < 3:
        raise AssertionError("usage: test_upload_alioss.py CONCURRENT_HELPER PLUGIN_SO")
    helper, plugin = sys.argv[1], sys.argv[2]
    files = [make_file("conc-%d.mp4" % i, (19 * MIB + i) if i % 2 == 0 else (200 * 1024 + i))
             for i in range(6)]
    env = dict(os.environ, ALIOSS_ACCESS_KEY=AK, ALIOSS_SECRET=SECRET)
    for region in ("cn-hangzhou", "-"):
        before = server.stats()
        args = [helper, plugin, server.base, region]
        keys = []
        for i, (path, _) in enumerate(files):
            keys.append("concurrent/%s/file %d.mp4" % (region, i))
            args += [path, keys[-1]]
        p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, "exit %d\n%s\n%s" % (p.returncode, p.stdout, p.stderr)
        for key, (_, sha) in zip(keys, files):
            assert "ok %s %s" % (key, expect_location(server, key)) in p.stdout, p.stdout
            check_stored(server, key, sha)
        after = server.stats()
        assert delta(before, after, "multipart", "completed") == 3, after
        assert delta(before, after, "ops", "PutObject") == 3, after
        version = "v4" if region != "-" else "v1"
        assert delta(before, after, "auth", version) == 3 + 3 * (1 + 3 + 1), after


def test_unknown_bucket():
    r = upload(config(server, bucket="no-such-bucket"), small_path, "x.mp4")
    assert r.rc == 1, r
    assert "HTTP 404 NoSuchBucket" in r.err and "no-such-bucket" in r.err, r


for fn in (test_small_file_putobject_v4, test_large_file_multipart_v4, test_memory_bounded_by_parts,
           test_keys_with_spaces_plus_and_non_ascii, test_v1_signing_when_no_region,
           test_wrong_secret_is_refused_clearly, test_retries_on_5xx_and_dropped_connections,
           test_complete_whose_answer_was_lost, test_failed_part_aborts_the_upload,
           test_clock_skew_is_corrected,
           test_concurrent_uploads_through_one_plugin, test_unknown_bucket):
    t.run(fn)
server.stop()
tmp.cleanup()
t.done()
