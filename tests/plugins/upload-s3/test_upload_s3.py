#!/usr/bin/env python3
"""End-to-end tests of the upload-s3 plugin through the real CLI (`sluice upload`).

The S3 server is moto_server with SigV4 enforced: its first three requests (creating an IAM user,
its access key and an allow-all policy) are free, every later one must be signed by that key and
is checked by recomputing the signature. What moto does not check, a small proxy written here
does: it sits in front of moto (as a reverse proxy, or as a forward HTTP proxy with Basic auth),
records every request, verifies that each body matches its signed x-amz-content-sha256, and
injects faults (503s, a 200 carrying an <Error>, a lost answer, clock skew, a region redirect).

moto falsely answers SignatureDoesNotMatch to correctly signed requests for keys with '+' or
non-ASCII characters (it rebuilds the URL before checking; getmoto/moto#5948; botocore's own
uploads fail the same way). Those keys are therefore uploaded to a second moto_server with auth
off, to check that the key S3 stores is exactly the one asked for, while botocore's signer
(S3SigV4Auth, the AWS SDK for Python's) checks the signature of every request sluice sent.

Roles (assume_role_arn): a second IAM user may do nothing but sts:AssumeRole on one role, whose
own policy allows s3:*; its trust policy names that user and requires an ExternalId. sluice must
call STS AssumeRole on the same endpoint (moto serves STS and S3 on one port and tells them apart
by the credential scope) and sign every S3 request with the temporary credentials. moto checks
the AssumeRole signature, the user's permission, the trust policy's principal and a wrong
ExternalId (StringEquals), and authorises S3 requests signed with the temporary key by the role's
policy. What it does not check is checked through the recording proxy: that an ExternalId is sent
at all (moto lets a request without one through a StringEquals condition), how many AssumeRole
calls were made, and which key signed each S3 request. moto accepts any well-formed-looking role
ARN without validating it, so the ValidationError STS gives a malformed ARN comes from the proxy.

Needs moto_server and boto3 (both in the c image's Python); without them the whole file is
reported as skipped.
"""
import base64
import datetime
import email.utils
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.environ.get("SLUICE_SOURCE_ROOT", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")), "tests", "e2e"))
from sluicetest import SLUICE, Tap, free_port  # noqa: E402

try:
    import boto3
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
except ImportError:
    boto3 = None

BUCKET = "media"
MIB = 1024 * 1024


# --- moto_server -------------------------------------------------------------------------------

class Moto:
    """One moto_server on a free port. With auth, an IAM user with an allow-all policy is made
    with the free requests and the bucket is created with that user's key."""

    def __init__(self, auth=True):
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        env = dict(os.environ)
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
        if auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
        self.logfile = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     env=env, stdout=self.logfile, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.1)
        if auth:
            iam = boto3.client("iam", endpoint_url=self.endpoint, region_name="us-east-1",
                               aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
            iam.create_user(UserName="sluice")
            key = iam.create_access_key(UserName="sluice")["AccessKey"]
            iam.put_user_policy(UserName="sluice", PolicyName="all", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
            self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        else:
            self.key_id, self.secret = "AKIDNOAUTH", "no-auth-secret"
        self.s3 = self.client("s3")
        self.s3.create_bucket(Bucket=BUCKET)

    def client(self, service, **kw):
        args = dict(endpoint_url=self.endpoint, region_name="us-east-1",
                    aws_access_key_id=self.key_id, aws_secret_access_key=self.secret)
        if service == "s3":
            args["config"] = Config(s3={"addressing_style": "path"})
        args.update(kw)
        return boto3.client(service, **args)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- the recording, fault-injecting proxy -------------------------------------------------------

class Req:
    def __init__(self, method, target, path, host, headers, body):
        self.method, self.target, self.path, self.host = method, target, path, host
        self.headers = headers  # [(name, value)] as received
        self.body = body
        self.status, self.response = None, b""  # moto's answer, when the request reached it
        split = urllib.parse.urlsplit(path)
        self.object_path = split.path
        self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "%s %s" % (self.method, self.target)


class Fault:
    """Answers requests that `match` with (status, headers, body) at most `times` times
    (None: always). With forward=True the request still reaches moto first and only its answer
    is replaced (an answer lost on the way back). With `rewrite`, moto's answer is passed through
    rewrite(status, headers, body) -> (status, headers, body) instead; with only `delay`, moto's
    answer is held back that many seconds."""

    def __init__(self, match, status=None, body=b"", headers=None, times=None, forward=False,
                 rewrite=None, delay=0):
        self.match, self.status, self.body = match, status, body
        self.headers = headers or {}
        self.times = times
        self.forward = forward or rewrite is not None or status is None
        self.rewrite, self.delay = rewrite, delay


def s3_error(code, message, extra="", prolog='<?xml version="1.0" encoding="UTF-8"?>\n'):
    return ('%s<Error><Code>%s</Code><Message>%s</Message>%s<RequestId>FAKE</RequestId></Error>'
            % (prolog, code, message, extra)).encode()


class Proxy:
    """HTTP proxy in front of moto. Requests in origin form (reverse proxy: sluice's endpoint
    points here) and in absolute form (forward proxy: sluice's proxy_config points here) both go
    to moto with their Host header untouched, so signatures stay valid. With `auth`, absolute-form
    requests must carry Proxy-Authorization: Basic."""

    def __init__(self, upstream_port, auth=None):
        self.upstream = upstream_port
        self.auth = auth
        self.lock = threading.Lock()
        self.faults = []
        self.log = []
        self.problems = []
        self.denied = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_request(self):
                owner._handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_request

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self, faults=()):
        with self.lock:
            self.faults = list(faults)
            self.log = []
            self.problems = []
            self.denied = 0

    def requests(self, method=None, query=None):
        with self.lock:
            return [r for r in self.log if (method is None or r.method == method) and
                    (query is None or query in r.query)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def _send(h, status, headers, body, head):
        h.send_response_only(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                 "keep-alive"):
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)

    def _handle(self, h):
        if h.headers.get("Transfer-Encoding"):
            with self.lock:
                self.problems.append("%s %s sent Transfer-Encoding: %s" % (
                    h.command, h.path, h.headers.get("Transfer-Encoding")))
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        absolute = h.path.startswith("http://")
        if absolute:
            u = urllib.parse.urlsplit(h.path)
            path = u.path + ("?" + u.query if u.query else "")
            host = u.netloc
        else:
            path, host = h.path, h.headers.get("Host")
        head = h.command == "HEAD"
        if absolute and self.auth is not None:
            want = "Basic " + base64.b64encode(("%s:%s" % self.auth).encode()).decode()
            if h.headers.get("Proxy-Authorization") != want:
                with self.lock:
                    self.denied += 1
                self._send(h, 407, [("Proxy-Authenticate", 'Basic realm="sluice-test"')], b"",
                           head)
                return
        req = Req(h.command, h.path, path, host, list(h.headers.items()), body)
        sha = req.header("x-amz-content-sha256")
        if sha is not None and sha != hashlib.sha256(body).hexdigest():
            with self.lock:
                self.problems.append("%r: x-amz-content-sha256 is not the body's" % req)
        fault = None
        with self.lock:
            self.log.append(req)
            for f in self.faults:
                if (f.times is None or f.times > 0) and f.match(req):
                    if f.times is not None:
                        f.times -= 1
                    fault = f
                    break
        if fault is not None and not fault.forward:
            time.sleep(fault.delay)
            self._send(h, fault.status, list(fault.headers.items()), fault.body, head)
            return
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=120)
        conn.putrequest(h.command, path, skip_host=True, skip_accept_encoding=True)
        for k, v in h.headers.items():
            if k.lower() not in ("proxy-authorization", "proxy-connection", "expect",
                                 "connection", "keep-alive"):
                conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        rbody = resp.read()
        headers = resp.getheaders()
        conn.close()
        with self.lock:
            req.status, req.response = resp.status, rbody
        if fault is not None:
            time.sleep(fault.delay)
        if fault is not None and fault.rewrite is not None:
            status, headers, rbody = fault.rewrite(resp.status, headers, rbody)
            self._send(h, status, headers, rbody, head)
        elif fault is not None and fault.status is not None:
            self._send(h, fault.status, list(fault.headers.items()), fault.body, head)
        else:
            self._send(h, resp.status, headers, rbody, head)


def botocore_signature_ok(req, secret, service="s3"):
    """Recomputes the signature of a recorded request with botocore's signer (S3's for "s3", the
    generic SigV4 one for "sts"), over exactly the headers the request says it signed. Returns
    (ok, detail)."""
    auth = req.header("Authorization") or ""
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/%s/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})" % service, auth)
    if not m:
        return False, "malformed Authorization: %r" % auth
    key_id, _, region, signed, signature = m.groups()
    headers = {}
    for name in signed.split(";"):
        value = req.header(name)
        if value is None:
            return False, "signed header %s was not sent" % name
        headers[name] = value
    if service == "s3":
        for name in ("host", "x-amz-date", "x-amz-content-sha256"):
            if name not in headers:
                return False, "%s is not signed" % name
        if req.header("x-amz-security-token") is not None and "x-amz-security-token" not in headers:
            return False, "the session token is sent but not signed"
    r = AWSRequest(method=req.method, url="http://%s%s" % (req.host, req.path), headers=headers,
                   data=req.body)
    r.context["timestamp"] = headers["x-amz-date"]
    signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(Credentials(key_id, secret), service,
                                                            region)
    expected = signer.signature(signer.string_to_sign(r, signer.canonical_request(r)), r)
    return expected == signature, "%r: botocore %s, sluice %s" % (req, expected, signature)


def is_assume_role(req):
    return req.method == "POST" and b"Action=AssumeRole" in req.body


def form(req):
    return urllib.parse.parse_qs(req.body.decode(), keep_blank_values=True)


def signing_key(req):
    """The access key id in a request's Authorization header."""
    m = re.search(r"Credential=([^/]+)/", req.header("Authorization") or "")
    return m.group(1) if m else None


def issued_credentials(req):
    """(AccessKeyId, SecretAccessKey, SessionToken) of a recorded AssumeRole's answer."""
    ns = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/"}
    creds = ET.fromstring(req.response).find("sts:AssumeRoleResult/sts:Credentials", ns)
    return tuple(creds.find("sts:" + n, ns).text.strip()
                 for n in ("AccessKeyId", "SecretAccessKey", "SessionToken"))


def sts_error(code, message, status_type="Sender"):
    return ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s'
            '</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>FAKE</RequestId>'
            '</ErrorResponse>' % (status_type, code, message)).encode()


# --- running sluice -----------------------------------------------------------------------------

class Result:
    def __init__(self, code, out, err, maxrss_kib):
        self.returncode, self.stdout, self.stderr, self.maxrss_kib = code, out, err, maxrss_kib

    def __repr__(self):
        return "exit %s\nstdout: %s\nstderr: %s" % (self.returncode, self.stdout, self.stderr)


def sluice_upload(config, path, key, timeout=300):
    """Runs `sluice upload --config CONFIG PATH KEY`; also returns the process's peak RSS."""
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:  # under ASan, freed buffers would stay resident in its quarantine
        env["ASAN_OPTIONS"] += ":quarantine_size_mb=0"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([SLUICE, "upload", "--config", config, path, key], stdout=out,
                             stderr=err, env=env)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Result(p.returncode, out.read().decode(errors="replace"),
                      err.read().decode(errors="replace"), usage.ru_maxrss)


TOOL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("SLUICE_BUILD_ROOT", "build"), "tests", "plugins", "upload-s3", "s3-upload-tool")
PLUGIN = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.environ.get("SLUICE_BUILD_ROOT", "build"), "plugins", "upload-s3", "sluice-upload-s3.so")


def tool_upload(path, key, content_type="video/mp4", **fields):
    """Uploads through the plugin's vtable, loaded by s3-upload-tool, with these target fields."""
    r = subprocess.run([TOOL, PLUGIN, path, key, content_type] +
                       ["%s=%s" % kv for kv in fields.items()], capture_output=True, text=True,
                       timeout=300)
    return Result(r.returncode, r.stdout, r.stderr, 0)


def yaml_str(s):
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


def write_config(tmp, name, endpoint, key_id, secret, extra=None, proxy=None, **s3):
    lines = ["s3:",
             "  access_key: " + yaml_str(key_id),
             "  secret: " + yaml_str(secret),
             "  region: us-east-1",
             "  endpoint: " + yaml_str(endpoint),
             "  bucket: " + yaml_str(s3.pop("bucket", BUCKET)),
             "  min_retry_delay: 10ms",
             "  max_retry_delay: 50ms"]
    for k, v in s3.items():
        lines.append("  %s: %s" % (k, json.dumps(v)))
    if proxy is not None:
        lines.append("  proxy_config:")
        for k, v in proxy.items():
            lines.append("    %s: %s" % (k, yaml_str(v)))
    for line in extra or []:
        lines.append("  " + line)
    lines += ["plugins:", "  enable: [upload-s3]", "logging:", "  level: info"]
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def make_file(tmp, name, size):
    path = os.path.join(tmp, name)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            chunk = os.urandom(min(left, 4 * MIB))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return path, h.hexdigest()


def stored_sha256(s3, key):
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"]
    h = hashlib.sha256()
    for chunk in iter(lambda: body.read(MIB), b""):
        h.update(chunk)
    return h.hexdigest()


def check(cond, what, detail=None):
    if not cond:
        raise AssertionError(what + ("\n" + str(detail) if detail is not None else ""))


def no_uploads_left(s3):
    return not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


# --- the tests ----------------------------------------------------------------------------------

def main():
    t = Tap()
    if boto3 is None or shutil.which("moto_server") is None:
        print("1..0 # SKIP moto_server or boto3 is not installed")
        return 0
    tmp = tempfile.mkdtemp(prefix="sluice-s3-")
    moto = Moto(auth=True)
    proxy = Proxy(moto.port)
    s3 = moto.s3
    small, small_sha = make_file(tmp, "small.mp4", 300 * 1024 + 7)
    plain = write_config(tmp, "plain", moto.endpoint, moto.key_id, moto.secret,
                         extra=["metadata:", "    room: lobby", "    egress-id: EG_test"],
                         tagging="team=media&kind=recording")
    via_proxy = write_config(tmp, "via-proxy", proxy.url, moto.key_id, moto.secret)
    rss = {}

    def test_small_file_single_put():
        key = "recordings/small.mp4"
        r = sluice_upload(plain, small, key)
        check(r.returncode == 0, "upload failed", r)
        check(r.stdout.strip() == "%s/%s/%s" % (moto.endpoint, BUCKET, key),
              "location is not <endpoint>/<bucket>/<key>", r.stdout)
        check(stored_sha256(s3, key) == small_sha, "stored object differs from the file")
        head = s3.head_object(Bucket=BUCKET, Key=key)
        check("-" not in head["ETag"], "a small file went multipart", head["ETag"])
        check(head["ContentType"] == "video/mp4", "content type", head["ContentType"])
        check(head.get("ContentDisposition") == "inline", "content disposition", head)
        check(head["Metadata"] == {"room": "lobby", "egress-id": "EG_test"}, "metadata",
              head["Metadata"])
        tags = s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
        check(sorted((x["Key"], x["Value"]) for x in tags) ==
              [("kind", "recording"), ("team", "media")], "tagging", tags)
        rss["small"] = r.maxrss_kib

    def test_64_mib_file_multipart_and_bounded_memory():
        path, sha = make_file(tmp, "big.mp4", 64 * MIB)
        key = "recordings/big.mp4"
        r = sluice_upload(plain, path, key)
        check(r.returncode == 0, "upload failed", r)
        check(r.stdout.strip() == "%s/%s/%s" % (moto.endpoint, BUCKET, key), "location",
              r.stdout)
        head = s3.head_object(Bucket=BUCKET, Key=key)
        check(head["ETag"].endswith('-8"'), "not a multipart upload of 8 parts", head["ETag"])
        check(head["ContentLength"] == 64 * MIB, "size", head["ContentLength"])
        check(head["ContentType"] == "video/mp4", "content type", head["ContentType"])
        check(head["Metadata"] == {"room": "lobby", "egress-id": "EG_test"}, "metadata",
              head["Metadata"])
        check(stored_sha256(s3, key) == sha, "stored object differs from the file")
        check(no_uploads_left(s3), "a multipart upload was left behind")
        # Parts are read as they are sent: at most 3 parts of 8 MiB (plus libsoup's buffers) on
        # top of what a small upload needs. Reading the whole file would add 64 MiB.
        grown = (r.maxrss_kib - rss.get("small", r.maxrss_kib)) / 1024
        print("# peak RSS of sluice upload: %.1f MiB for a 300 KiB file, %.1f MiB for 64 MiB" % (
            rss.get("small", 0) / 1024, r.maxrss_kib / 1024), flush=True)
        check(grown < 48, "peak RSS grew %.1f MiB over a small upload's for a 64 MiB file" % grown)
        os.unlink(path)

    def test_size_boundaries():
        # Empty, exactly one part's size (still one PUT), one byte more (two parts, the last of
        # one byte).
        for size, multipart in [(0, None), (8 * MIB, None), (8 * MIB + 1, 2)]:
            path, sha = make_file(tmp, "edge.bin", size)
            key = "edge/%d.bin" % size
            r = sluice_upload(plain, path, key)
            check(r.returncode == 0, "upload of %d bytes failed" % size, r)
            head = s3.head_object(Bucket=BUCKET, Key=key)
            check(head["ContentLength"] == size, "size", head)
            check(head["ContentType"] == "application/octet-stream", "content type", head)
            want_suffix = '-%d"' % multipart if multipart else None
            check((want_suffix is None and "-" not in head["ETag"]) or
                  (want_suffix is not None and head["ETag"].endswith(want_suffix)),
                  "%d bytes: single PUT or multipart as expected" % size, head["ETag"])
            check(stored_sha256(s3, key) == sha, "stored object differs from the file")
            os.unlink(path)

    def test_key_with_spaces():
        key = "rooms/my room/take 1 final.mp4"
        r = sluice_upload(plain, small, key)
        check(r.returncode == 0, "upload failed", r)
        check(r.stdout.strip() == "%s/%s/rooms/my%%20room/take%%201%%20final.mp4" % (
            moto.endpoint, BUCKET), "location", r.stdout)
        check(stored_sha256(s3, key) == small_sha, "stored object differs from the file")

    def test_keys_with_plus_and_non_ascii_against_botocore():
        open_moto = Moto(auth=False)
        open_proxy = Proxy(open_moto.port)
        try:
            cfg = write_config(tmp, "open", open_proxy.url, "AKIDEXAMPLE", "open/secret+key")
            big, big_sha = make_file(tmp, "mid.mp4", 12 * MIB)  # multipart: 2 parts
            keys = [("a+b/c+d.mp4", small, small_sha),
                    ("été/日本 語 ü.mp4", small, small_sha),
                    ("odd !'()*,;=@$&:%20.mp4", small, small_sha),
                    ("multi+part/ß €.mp4", big, big_sha)]
            for key, path, sha in keys:
                r = sluice_upload(cfg, path, key)
                check(r.returncode == 0, "upload of %r failed" % key, r)
                check(stored_sha256(open_moto.s3, key) == sha, "stored %r differs" % key)
                want = "%s/%s/%s" % (open_proxy.url, BUCKET, urllib.parse.quote(key, safe="/~"))
                check(r.stdout.strip() == want, "location of %r" % key, r.stdout)
            stored = {o["Key"] for o in open_moto.s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
            check(stored == {k for k, _, _ in keys}, "stored keys", stored)
            reqs = open_proxy.requests()
            check(len(reqs) >= 3 + 4, "too few requests recorded", reqs)
            # On the wire each key is percent-encoded once, every byte but A-Z a-z 0-9 -_.~ and '/'.
            want_paths = {"/%s/%s" % (BUCKET, urllib.parse.quote(k, safe="/~")) for k, _, _ in keys}
            check({q.object_path for q in reqs} == want_paths, "request paths",
                  sorted({q.object_path for q in reqs}))
            for req in reqs:
                ok, detail = botocore_signature_ok(req, "open/secret+key")
                check(ok, "signature differs from botocore's", detail)
            check(not open_proxy.problems, "proxy saw problems", open_proxy.problems)
        finally:
            open_proxy.close()
            open_moto.stop()

    def test_wrong_secret_is_reported_not_retried():
        secret = "Wr0ngSecretValue/For+This+Test"
        cfg = write_config(tmp, "wrong", proxy.url, moto.key_id, secret)
        proxy.reset()
        r = sluice_upload(cfg, small, "wrong/secret.mp4")
        check(r.returncode == 1, "exit status", r)
        check("SignatureDoesNotMatch" in r.stderr, "no SignatureDoesNotMatch", r)
        check("PUT s3://media/wrong/secret.mp4: 403 SignatureDoesNotMatch: " in r.stderr,
              "message form", r)
        check(secret not in r.stdout + r.stderr, "the secret was printed", r)
        check(len(proxy.requests("PUT")) == 1, "retried a SignatureDoesNotMatch",
              proxy.requests())

    def test_missing_bucket():
        cfg = write_config(tmp, "nobucket", moto.endpoint, moto.key_id, moto.secret,
                           bucket="no-such-bucket")
        r = sluice_upload(cfg, small, "k.mp4")
        check(r.returncode == 1, "exit status", r)
        check("404 NoSuchBucket" in r.stderr, "message", r)
        check("attempts" not in r.stderr, "a missing bucket was retried", r)

    def test_connection_refused_retries_then_fails():
        port = free_port()
        cfg = write_config(tmp, "refused", "http://127.0.0.1:%d" % port, moto.key_id, moto.secret,
                           max_retries=3)
        r = sluice_upload(cfg, small, "k.mp4")
        check(r.returncode == 1, "exit status", r)
        check("PUT s3://media/k.mp4: " in r.stderr and "(after 3 attempts)" in r.stderr,
              "message", r)
        check(r.stderr.count("attempt 2 of 3") == 1 and r.stderr.count("attempt 3 of 3") == 1,
              "retry log lines", r)

    def test_session_token():
        sts = moto.client("sts")
        iam = moto.client("iam")
        iam.create_role(RoleName="uploader", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                    "Action": "sts:AssumeRole"}]}))
        iam.put_role_policy(RoleName="uploader", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        creds = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/uploader",
                                RoleSessionName="sluice-test")["Credentials"]
        good = write_config(tmp, "token", proxy.url, creds["AccessKeyId"],
                            creds["SecretAccessKey"], session_token=creds["SessionToken"])
        bad = write_config(tmp, "badtoken", moto.endpoint, creds["AccessKeyId"],
                           creds["SecretAccessKey"], session_token="not-the-token")
        proxy.reset()
        r = sluice_upload(good, small, "token/ok.mp4")
        check(r.returncode == 0, "upload with a session token failed", r)
        check(stored_sha256(s3, "token/ok.mp4") == small_sha, "stored object differs")
        put = proxy.requests("PUT")[0]
        check(put.header("X-Amz-Security-Token") == creds["SessionToken"], "token not sent")
        ok, detail = botocore_signature_ok(put, creds["SecretAccessKey"])
        check(ok, "signature differs from botocore's", detail)
        r = sluice_upload(bad, small, "token/bad.mp4")
        check(r.returncode == 1 and "InvalidToken" in r.stderr, "a bad token was accepted", r)

    # --- assume_role_arn -------------------------------------------------------------------

    role_arn = "arn:aws:iam::123456789012:role/sluice-recorder"
    external_id = "tenant+7/media=rec:1@x"  # '+', '/', '=', ':' and '@' all need form encoding
    role = {}

    def role_config(name, arn=role_arn, ext=external_id, **kw):
        fields = dict(assume_role_arn=arn, **kw)
        if ext is not None:
            fields["assume_role_external_id"] = ext
        return write_config(tmp, name, proxy.url, role["key_id"], role["secret"], **fields)

    def split_assume_role(reqs):
        return [q for q in reqs if is_assume_role(q)], [q for q in reqs if not is_assume_role(q)]

    def check_assume_role_request(q):
        check(q.status == 200, "moto refused the AssumeRole", (q.status, q.response))
        check(q.object_path == "/", "AssumeRole path", q)
        check(q.header("Content-Type") == "application/x-www-form-urlencoded; charset=utf-8",
              "AssumeRole content type", q.headers)
        f = form(q)
        check(f.get("Action") == ["AssumeRole"] and f.get("Version") == ["2011-06-15"] and
              f.get("RoleArn") == [role_arn] and f.get("DurationSeconds") == ["900"],
              "AssumeRole form", f)
        check(re.fullmatch(r"sluice-\d+", f["RoleSessionName"][0]), "RoleSessionName", f)
        # moto lets a request without ExternalId through the trust policy's StringEquals: the
        # proxy checks that it is sent, and sent whole.
        check(f.get("ExternalId") == [external_id], "ExternalId not sent as configured", q.body)
        check(b"ExternalId=tenant%2B7%2Fmedia%3Drec%3A1%40x" in q.body, "ExternalId encoding",
              q.body)
        check(signing_key(q) == role["key_id"], "AssumeRole not signed with the user's key",
              q.header("Authorization"))
        check("/us-east-1/sts/aws4_request," in q.header("Authorization"), "not signed for sts",
              q.header("Authorization"))
        check(q.header("X-Amz-Security-Token") is None, "a token with static base credentials", q)
        ok, detail = botocore_signature_ok(q, role["secret"], "sts")
        check(ok, "AssumeRole signature differs from botocore's", detail)

    def check_signed_with(reqs, issued):
        key_id, secret, token = issued
        check(key_id != role["key_id"], "STS gave back the user's key", key_id)
        check(reqs, "no S3 request")
        for q in reqs:
            check(signing_key(q) == key_id, "S3 request not signed with the role's temporary key",
                  (q, q.header("Authorization")))
            check(q.header("X-Amz-Security-Token") == token, "role session token not sent", q)
            ok, detail = botocore_signature_ok(q, secret)
            check(ok, "signature differs from botocore's", detail)

    def test_role_user_key_alone_is_refused_by_s3():
        iam = moto.client("iam")
        user = iam.create_user(UserName="recorder")["User"]
        key = iam.create_access_key(UserName="recorder")["AccessKey"]
        iam.put_user_policy(UserName="recorder", PolicyName="assume-only",
                            PolicyDocument=json.dumps({
                                "Version": "2012-10-17",
                                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Resource": role_arn}]}))
        iam.create_role(RoleName="sluice-recorder", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": user["Arn"]},
                           "Action": "sts:AssumeRole",
                           "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]}))
        iam.put_role_policy(RoleName="sluice-recorder", PolicyName="s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        role.update(key_id=key["AccessKeyId"], secret=key["SecretAccessKey"], user=user["Arn"])
        cfg = write_config(tmp, "user-alone", proxy.url, role["key_id"], role["secret"])
        proxy.reset()
        r = sluice_upload(cfg, small, "role/alone.mp4")
        check(r.returncode == 1, "the user's own key was enough for S3", r)
        check("PUT s3://media/role/alone.mp4: 403 AccessDenied" in r.stderr, "message", r)
        check(role["secret"] not in r.stdout + r.stderr, "the secret was printed", r)
        check(not [q for q in proxy.requests() if is_assume_role(q)], "assumed a role unasked")

    def test_assume_role_small_file():
        key = "role/small.mp4"
        proxy.reset()
        r = sluice_upload(role_config("role"), small, key)
        check(r.returncode == 0, "upload failed", r)
        check(r.stdout.strip() == "%s/%s/%s" % (proxy.url, BUCKET, key), "location", r.stdout)
        check(stored_sha256(s3, key) == small_sha, "stored object differs from the file")
        ars, others = split_assume_role(proxy.requests())
        check(len(ars) == 1, "AssumeRole calls", ars)
        check_assume_role_request(ars[0])
        check([q.method for q in others] == ["PUT"], "S3 requests", others)
        check_signed_with(others, issued_credentials(ars[0]))
        check("assumed role %s" % role_arn in r.stderr, "no log line", r)
        check(role["secret"] not in r.stdout + r.stderr, "the secret was printed", r)
        check(not proxy.problems, "proxy saw problems", proxy.problems)

    def test_assume_role_multipart_makes_one_call():
        path, sha = make_file(tmp, "role-big.mp4", 20 * MIB)  # 3 parts, 3 part workers
        key = "role/multipart.mp4"
        proxy.reset()
        r = sluice_upload(role_config("role"), path, key)
        check(r.returncode == 0, "upload failed", r)
        check(stored_sha256(s3, key) == sha, "stored object differs from the file")
        check(s3.head_object(Bucket=BUCKET, Key=key)["ETag"].endswith('-3"'), "not 3 parts")
        ars, others = split_assume_role(proxy.requests())
        check(len(ars) == 1, "one AssumeRole for the whole upload", ars)
        check_assume_role_request(ars[0])
        check(len([q for q in others if "partNumber" in q.query]) == 3, "parts", others)
        check_signed_with(others, issued_credentials(ars[0]))
        check(no_uploads_left(s3), "a multipart upload was left behind")
        check(not proxy.problems, "proxy saw problems", proxy.problems)
        os.unlink(path)

    def check_refused(r, arn, status_code_message):
        check(r.returncode == 1, "exit status", r)
        want = "STS AssumeRole of %s at %s/: %s" % (arn, proxy.url, status_code_message)
        check(want in r.stderr, "message does not say " + want, r)
        check(role["secret"] not in r.stdout + r.stderr, "the secret was printed", r)
        ars, others = split_assume_role(proxy.requests())
        check(len(ars) == 1, "a refusal was retried", ars)
        check(not others, "S3 requests without credentials", others)

    def test_assume_role_unknown_role_is_refused():
        # The user may assume only sluice-recorder: moto answers AccessDenied, as AWS does.
        arn = "arn:aws:iam::123456789012:role/no-such-role"
        proxy.reset()
        r = sluice_upload(role_config("role-unknown", arn=arn), small, "role/unknown.mp4")
        check_refused(r, arn, "403 AccessDenied: User: %s is not authorized to perform: "
                              "sts:AssumeRole" % role["user"])

    def test_assume_role_wrong_external_id_is_refused():
        proxy.reset()
        r = sluice_upload(role_config("role-ext", ext="someone+else"), small, "role/ext.mp4")
        check_refused(r, role_arn, "403 AccessDenied: ")

    def test_assume_role_malformed_arn_is_refused():
        # moto does not validate ARNs; the proxy answers as STS does.
        arn = "not-an-arn"
        message = ("1 validation error detected: Value 'not-an-arn' at 'roleArn' failed to "
                   "satisfy constraint: Member must have length greater than or equal to 20")
        proxy.reset([Fault(is_assume_role, 400, sts_error("ValidationError", message))])
        r = sluice_upload(role_config("role-malformed", arn=arn), small, "role/bad.mp4")
        check_refused(r, arn, "400 ValidationError: " + message)

    def test_assume_role_unavailable_is_retried():
        proxy.reset([Fault(is_assume_role, 503, sts_error(
            "ServiceUnavailable", "Service is unavailable.", "Receiver"), times=2)])
        r = sluice_upload(role_config("role"), small, "role/retried.mp4")
        check(r.returncode == 0, "upload failed", r)
        ars, others = split_assume_role(proxy.requests())
        check(len(ars) == 3, "AssumeRole attempts", ars)
        check("STS AssumeRole of %s: 503 ServiceUnavailable: Service is unavailable.; attempt 2 "
              "of 5" % role_arn in r.stderr, "retry log line", r)
        check_signed_with(others, issued_credentials(ars[-1]))

    def test_expired_token_gets_new_credentials():
        path, sha = make_file(tmp, "role-expired.mp4", 20 * MIB)
        key = "role/expired.mp4"
        proxy.reset([Fault(lambda q: q.method == "PUT" and q.query.get("partNumber") == ["2"], 400,
                           s3_error("ExpiredToken", "The provided token has expired."), times=1)])
        r = sluice_upload(role_config("role"), path, key)
        check(r.returncode == 0, "upload failed", r)
        check(stored_sha256(s3, key) == sha, "stored object differs from the file")
        ars, others = split_assume_role(proxy.requests())
        check(len(ars) == 2, "AssumeRole calls: one, then one after ExpiredToken", ars)
        first, second = issued_credentials(ars[0]), issued_credentials(ars[1])
        check_assume_role_request(ars[1])
        part2 = [q for q in others if q.query.get("partNumber") == ["2"]]
        check(len(part2) == 2 and signing_key(part2[0]) == first[0] and
              signing_key(part2[1]) == second[0], "part 2 not sent again with new credentials",
              [(q, signing_key(q)) for q in part2])
        check_signed_with([part2[1]] + proxy.requests("POST", "uploadId"), second)
        check("(part 2 of 3): 400 ExpiredToken: The provided token has expired.; assuming role "
              "%s again" % role_arn in r.stderr, "log line", r)
        check("attempt 2 of" not in r.stderr, "the renewed attempt counted as a retry", r)
        os.unlink(path)

    def test_credentials_renewed_before_they_expire():
        # The first credentials are made to last 4 s (by STS's clock: the answer's Date and
        # Expiration), so they are due for renewal after 2 s; CreateMultipartUpload's answer is
        # held back 2.8 s. The parts that follow must all be signed with new credentials, from a
        # single AssumeRole although three part workers found the old ones due at once.
        def short_lived(status, headers, body):
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            expires = (now + datetime.timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = re.sub(rb"<Expiration>[^<]*</Expiration>",
                          b"<Expiration>" + expires.encode() + b"</Expiration>", body)
            headers = [(k, v) for k, v in headers if k.lower() != "date"]
            headers.append(("Date", email.utils.format_datetime(now, usegmt=True)))
            return status, headers, body

        path, sha = make_file(tmp, "role-renew.mp4", 20 * MIB)
        key = "role/renewed.mp4"
        proxy.reset([Fault(is_assume_role, rewrite=short_lived, times=1),
                     Fault(lambda q: q.method == "POST" and "uploads" in q.query, delay=2.8,
                           times=1)])
        r = sluice_upload(role_config("role"), path, key)
        check(r.returncode == 0, "upload failed", r)
        check(stored_sha256(s3, key) == sha, "stored object differs from the file")
        check("valid 4 s, renewed after 2 s" in r.stderr, "lifetime not read from STS", r)
        ars, others = split_assume_role(proxy.requests())
        check(len(ars) == 2, "AssumeRole calls: one, then one renewal", ars)
        first, second = issued_credentials(ars[0]), issued_credentials(ars[1])
        create = proxy.requests("POST", "uploads")
        check_signed_with(create, first)
        check_signed_with([q for q in others if q not in create], second)
        check(not proxy.problems, "proxy saw problems", proxy.problems)
        os.unlink(path)

    def test_retries_503_and_complete_200_with_error():
        path, sha = make_file(tmp, "retry.mp4", 20 * MIB)  # 3 parts
        key = "retry/part-faults.mp4"
        proxy.reset([
            Fault(lambda q: q.method == "PUT" and "partNumber" in q.query, 503,
                  s3_error("SlowDown", "Please reduce your request rate."), times=2),
            Fault(lambda q: q.method == "POST" and "uploadId" in q.query, 200,
                  s3_error("InternalError", "We encountered an internal error.",
                           prolog='<?xml version="1.0" encoding="UTF-8"?>\n\n   \n      \n'),
                  times=1),
        ])
        r = sluice_upload(via_proxy, path, key)
        check(r.returncode == 0, "upload failed", r)
        check(stored_sha256(s3, key) == sha, "stored object differs from the file")
        parts = proxy.requests("PUT", "partNumber")
        check(len(parts) == 3 + 2, "part PUTs: want 3 + 2 retried", parts)
        check(sorted(set(p.query["partNumber"][0] for p in parts)) == ["1", "2", "3"],
              "part numbers", parts)
        check(len(proxy.requests("POST", "uploadId")) == 2, "Complete not retried once",
              proxy.requests())
        check("503 SlowDown: Please reduce your request rate.; attempt 2 of 5" in r.stderr,
              "retry log line", r.stderr)
        check("200 InternalError: We encountered an internal error.; attempt 2 of 5" in r.stderr,
              "200-with-Error log line", r.stderr)
        for p in parts:
            check(int(p.header("Content-Length")) == len(p.body), "Content-Length", p)
        check(not proxy.problems, "proxy saw problems", proxy.problems)
        os.unlink(path)

    def test_access_denied_part_aborts_upload():
        path, _ = make_file(tmp, "denied.mp4", 20 * MIB)
        key = "denied/upload.mp4"
        proxy.reset([Fault(lambda q: q.method == "PUT" and q.query.get("partNumber") == ["2"],
                           403, s3_error("AccessDenied", "Access Denied"))])
        r = sluice_upload(via_proxy, path, key)
        check(r.returncode == 1, "exit status", r)
        check("PUT s3://media/denied/upload.mp4 (part 2 of 3): 403 AccessDenied: Access Denied"
              in r.stderr, "message", r)
        check(len(proxy.requests("PUT", "partNumber")) <= 3, "parts retried after AccessDenied",
              proxy.requests())
        check(len([p for p in proxy.requests("PUT") if p.query.get("partNumber") == ["2"]]) == 1,
              "part 2 retried", proxy.requests())
        check(len(proxy.requests("DELETE", "uploadId")) == 1, "no AbortMultipartUpload",
              proxy.requests())
        check(not proxy.requests("POST", "uploadId"), "completed after a failed part")
        check(no_uploads_left(s3), "the multipart upload was not aborted")
        check(key not in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]],
              "an object was stored")
        os.unlink(path)

    def test_complete_error_exhausts_retries_and_aborts():
        path, _ = make_file(tmp, "cmperr.mp4", 9 * MIB)
        cfg = write_config(tmp, "two-tries", proxy.url, moto.key_id, moto.secret, max_retries=2)
        proxy.reset([Fault(lambda q: q.method == "POST" and "uploadId" in q.query, 200,
                           s3_error("InternalError", "We encountered an internal error."))])
        r = sluice_upload(cfg, path, "cmperr/x.mp4")
        check(r.returncode == 1, "a 200 with an <Error> body counted as success", r)
        check("(CompleteMultipartUpload): 200 InternalError: We encountered an internal error. "
              "(after 2 attempts)" in r.stderr, "message", r)
        check(len(proxy.requests("POST", "uploadId")) == 2, "attempts", proxy.requests())
        check(len(proxy.requests("DELETE", "uploadId")) == 1, "not aborted", proxy.requests())
        check(no_uploads_left(s3), "the multipart upload was left behind")
        os.unlink(path)

    def test_complete_answer_lost():
        path, sha = make_file(tmp, "lost.mp4", 17 * MIB)
        key = "lost/answer.mp4"
        # The first Complete reaches moto but its answer is replaced by a 500; the retry then
        # hears NoSuchUpload, as S3 says once an upload is complete (moto would accept the
        # repeated Complete, so the proxy answers for it).
        complete = lambda q: q.method == "POST" and "uploadId" in q.query  # noqa: E731
        proxy.reset([Fault(complete, 500, s3_error("InternalError", "lost"), times=1,
                           forward=True),
                     Fault(complete, 404, s3_error("NoSuchUpload", "The specified upload does "
                                                   "not exist."), times=1)])
        r = sluice_upload(via_proxy, path, key)
        check(r.returncode == 0, "upload failed", r)
        check(len(proxy.requests("POST", "uploadId")) == 2, "Complete attempts",
              proxy.requests())
        check(len(proxy.requests("HEAD")) == 1, "did not check the object", proxy.requests())
        check(not proxy.requests("DELETE"), "aborted a completed upload", proxy.requests())
        check(stored_sha256(s3, key) == sha, "stored object differs from the file")
        check("answer was lost" in r.stderr, "no log line", r)
        os.unlink(path)

    def test_clock_skew_is_corrected():
        ahead = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)
        proxy.reset([Fault(lambda q: True, 403, s3_error(
            "RequestTimeTooSkewed", "The difference between the request time and the current "
            "time is too large."), headers={"Date": email.utils.format_datetime(ahead, True)},
            times=1)])
        r = sluice_upload(via_proxy, small, "skew/x.mp4")
        check(r.returncode == 0, "upload failed", r)
        puts = proxy.requests("PUT")
        check(len(puts) == 2, "attempts", puts)
        sent = datetime.datetime.strptime(puts[1].header("x-amz-date"), "%Y%m%dT%H%M%SZ")
        sent = sent.replace(tzinfo=datetime.timezone.utc)
        check(abs((sent - ahead).total_seconds()) < 120, "second attempt not signed with S3's "
              "time", (puts[0].header("x-amz-date"), puts[1].header("x-amz-date")))
        check("clock" in r.stderr, "no log line about the clock", r)

    def test_region_redirect():
        proxy.reset([Fault(lambda q: True, 400, s3_error(
            "AuthorizationHeaderMalformed", "the region 'us-east-1' is wrong; expecting "
            "'eu-west-1'", "<Region>eu-west-1</Region>"),
            headers={"x-amz-bucket-region": "eu-west-1"}, times=1)])
        r = sluice_upload(via_proxy, small, "region/x.mp4")
        check(r.returncode == 0, "upload failed", r)
        puts = proxy.requests("PUT")
        check(len(puts) == 2, "attempts", puts)
        check("/us-east-1/s3/" in puts[0].header("Authorization") and
              "/eu-west-1/s3/" in puts[1].header("Authorization"), "not re-signed for eu-west-1",
              [p.header("Authorization") for p in puts])
        check("eu-west-1" in r.stderr, "no log line about the region", r)

    def test_virtual_host_style_through_authenticated_proxy():
        # Through the plugin's vtable (s3-upload-tool): see test_cli_passes_proxy_config.
        fwd = Proxy(moto.port, auth=("proxyuser", "proxy pass"))
        try:
            # A name that does not resolve here: only the proxy can reach it. moto takes the
            # bucket from the first label of the Host header.
            endpoint = "http://s3.sluice.test:%d" % moto.port
            path, sha = make_file(tmp, "vhost.mp4", 10 * MIB)
            key = "vhost/object name.mp4"
            r = tool_upload(path, key, access_key=moto.key_id, secret=moto.secret,
                            endpoint=endpoint, bucket=BUCKET, force_path_style="false",
                            min_retry_delay="0.01", max_retry_delay="0.05",
                            **{"proxy_config.url": fwd.url, "proxy_config.username": "proxyuser",
                               "proxy_config.password": "proxy pass"})
            check(r.returncode == 0, "upload failed", (r, fwd.requests(), fwd.problems))
            check(r.stdout.strip() == "http://%s.s3.sluice.test:%d/vhost/object%%20name.mp4" % (
                BUCKET, moto.port), "location", r.stdout)
            check(stored_sha256(s3, key) == sha, "stored object differs from the file")
            reqs = fwd.requests()
            check(fwd.denied >= 1, "the proxy never asked for credentials")
            check(len(reqs) == 4 and all(
                q.host == "%s.s3.sluice.test:%d" % (BUCKET, moto.port) and
                q.object_path == "/vhost/object%20name.mp4" for q in reqs),
                "not virtual-hosted style through the proxy", reqs)
            for q in reqs:
                ok, detail = botocore_signature_ok(q, moto.secret)
                check(ok, "signature differs from botocore's", detail)
            check(not fwd.problems, "proxy saw problems", fwd.problems)
            os.unlink(path)
        finally:
            fwd.close()

    def test_cli_passes_proxy_config():
        """proxy_config from the YAML through `sluice upload`. Returns a TODO reason when the
        known core defect shows (the CLI builds the target before gst_init(), so the nested
        proxy_config structure cannot be made and is dropped with GLib type warnings)."""
        fwd = Proxy(moto.port, auth=("u", "p"))
        try:
            # Virtual-hosted, as the plugin-level proxy test: moto takes the bucket from the
            # Host the proxy passes on ("media.s3.sluice.test"); a path-style request with Host
            # "s3.sluice.test" would be read by moto as bucket "s3".
            cfg = write_config(tmp, "cli-proxy", "http://s3.sluice.test:%d" % moto.port,
                               moto.key_id, moto.secret, max_retries=1, force_path_style=False,
                               proxy={"url": fwd.url, "username": "u", "password": "p"})
            r = sluice_upload(cfg, small, "cli/proxy.mp4")
            if r.returncode != 0 and "type id '0' is invalid" in r.stderr:
                return "core: sluice upload builds the target before gst_init(), proxy_config " \
                       "is dropped"
            check(r.returncode == 0, "upload failed", r)
            check(fwd.requests("PUT") and fwd.denied >= 1, "the proxy was not used", r)
            check(stored_sha256(s3, "cli/proxy.mp4") == small_sha, "stored object differs")
        finally:
            fwd.close()
        return None

    try:
        for fn in [test_small_file_single_put,
                   test_64_mib_file_multipart_and_bounded_memory,
                   test_size_boundaries,
                   test_key_with_spaces,
                   test_keys_with_plus_and_non_ascii_against_botocore,
                   test_wrong_secret_is_reported_not_retried,
                   test_missing_bucket,
                   test_connection_refused_retries_then_fails,
                   test_session_token,
                   test_role_user_key_alone_is_refused_by_s3,
                   test_assume_role_small_file,
                   test_assume_role_multipart_makes_one_call,
                   test_assume_role_unknown_role_is_refused,
                   test_assume_role_wrong_external_id_is_refused,
                   test_assume_role_malformed_arn_is_refused,
                   test_assume_role_unavailable_is_retried,
                   test_expired_token_gets_new_credentials,
                   test_credentials_renewed_before_they_expire,
                   test_retries_503_and_complete_200_with_error,
                   test_access_denied_part_aborts_upload,
                   test_complete_error_exhausts_retries_and_aborts,
                   test_complete_answer_lost,
                   test_clock_skew_is_corrected,
                   test_region_redirect,
                   test_virtual_host_style_through_authenticated_proxy]:
            t.run(fn)
        try:
            todo = test_cli_passes_proxy_config()
            if todo is None:
                t.ok(True, "cli passes proxy config")
            else:  # a known defect outside this plugin: reported, not counted as a pass
                t.n += 1
                print("not ok %d - cli passes proxy config # TODO %s" % (t.n, todo), flush=True)
        except Exception:
            t.ok(False, "cli passes proxy config", traceback.format_exc())
    finally:
        proxy.close()
        moto.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    sys.exit(main())
