"""`sluice upload` throughput and memory, side by side with curl on the same file and server.

S3: moto_server with SigV4 enforced (the first three requests, which create an IAM user, its
access key and an allow-all policy, are the only unsigned ones). sluice uploads in parts (8 MiB,
3 in parallel); curl sends one signed PUT:
    curl -T FILE --aws-sigv4 aws:amz:us-east-1:s3 --user KEY:SECRET \
         -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" http://127.0.0.1:PORT/media/KEY
curl 7.88 signs the SHA-256 of an empty body for -T uploads (it hashes only POST fields) and does
not send x-amz-content-sha256, so moto, which hashes the body it received, answers
SignatureDoesNotMatch; with that header curl signs UNSIGNED-PAYLOAD instead. sluice signs the
real SHA-256 of every part, which is work curl does not do here.
Azure: Azurite (in memory). sluice sends files up to 256 MiB (azure.max_put_blob_mib) as one Put
Blob streamed from disk, hashing the file with MD5 alongside and comparing with the Content-MD5
Azurite answers; larger ones as blocks (8 MiB, 4 in parallel) and a block list. curl sends one
Put Blob with a container SAS made by @azure/storage-blob:
    curl -T FILE -H "x-ms-blob-type: BlockBlob" "http://127.0.0.1:PORT/devstoreaccount1/media/KEY?SAS"

A third client, curl-parts, sends sluice's own requests with curl: the file pre-split into 8 MiB
files with each part's SHA-256 (S3, signed as x-amz-content-sha256) or MD5 (Azure, Content-MD5)
computed beforehand, untimed; one `curl -Z --parallel-max 3|4` for the parts or blocks, then the
complete / block list request. It tells the server's cost of that protocol apart from sluice's,
and it gets its hashes for free, which sluice does not. Azurite computes a CRC64 in JavaScript
(~75 MB/s) of every Put Block that has no Content-MD5, so blocks without one would be slow.

Each size is uploaded REPS times by each client, interleaved (each client takes each position in
a round once), after one unmeasured 1 MiB warm-up each. MB/s = bytes / wall time of the
client process (start to exit, 1 MB = 10^6 bytes). Every upload is checked (exit status, stored
size; the part or block count of multipart ones) and deleted afterwards, so the servers do not grow.
Peak RSS is ru_maxrss from wait4(). Server CPU is utime+stime of the server process over the
upload. Then one BIG_MIB upload per backend by sluice alone, for its peak RSS.
Writes bench/results/upload.txt. A measurement, not a test. Usage: bench/upload.sh [build]
Environment: SIZES_MIB (default "64 256"), REPS (3), BIG_MIB (1024; 0 skips), BACKENDS ("s3 azure").
"""
import base64
import ctypes
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

build = sys.argv[1] if len(sys.argv) > 1 else "build"
src = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SLUICE = os.path.join(src, build, "core", "sluice")
AZDIR = os.path.join(src, "tests", "plugins", "upload-azure")
AZURITE = os.path.join(AZDIR, "node_modules", ".bin", "azurite-blob")
SIZES = [int(x) for x in os.environ.get("SIZES_MIB", "64 256").split()]
REPS = int(os.environ.get("REPS", "3"))
BIG = int(os.environ.get("BIG_MIB", "1024"))
BACKENDS = os.environ.get("BACKENDS", "s3 azure").split()
MIB = 1024 * 1024
BUCKET = CONTAINER = "media"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
TICK = os.sysconf("SC_CLK_TCK")
PART = 8 * 1024 * 1024  # sluice's part (S3) and block (Azure) size
PARALLEL_S3, PARALLEL_AZURE = 3, 4  # and how many it sends at once (S3_PARALLEL_PARTS, AZ_UPLOAD_WORKERS)
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

children = []  # every long-lived child, killed in finally


def die_with_parent():
    """In the child: SIGKILL when the driver dies, even by SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def on_signal(signum, frame):
    raise SystemExit("stopped by signal %d" % signum)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("%s did not start" % what)
            time.sleep(0.1)


def start(args, log, env=None):
    p = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    children.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cpu_seconds(pid):
    """utime+stime of a process, including its finished threads."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run_child(args, acc, timeout=900):
    """Runs one client process to completion; adds its CPU to acc["cpu"], its peak RSS (KiB) to
    acc["rss"] (max); returns its stdout. A failure stops the bench."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             preexec_fn=die_with_parent)
        children.append(p)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.005)
        p.returncode = os.waitstatus_to_exitcode(status)
        children.remove(p)
        out.seek(0)
        err.seek(0)
        o, e = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if p.returncode != 0:
        raise SystemExit("%s failed (exit %d):\n%s%s" % (" ".join(args[:6]), p.returncode, o[-2000:], e[-3000:]))
    acc["cpu"] += ru.ru_utime + ru.ru_stime
    acc["rss"] = max(acc["rss"], ru.ru_maxrss)
    return o


def measure(fn, server_pid):
    """Times fn(acc), which runs the client process(es): wall s, client CPU s, peak RSS KiB,
    server CPU s over the same interval."""
    acc = {"cpu": 0.0, "rss": 0}
    s0 = cpu_seconds(server_pid)
    t0 = time.perf_counter()
    fn(acc)
    acc["wall"] = time.perf_counter() - t0
    acc["server"] = cpu_seconds(server_pid) - s0
    return acc


def make_file(path, size):
    with open(path, "wb") as f:
        for left in range(size, 0, -4 * MIB):
            f.write(os.urandom(min(left, 4 * MIB)))
    return path


def curl(*args, check=True):
    r = subprocess.run(["curl", "-sS", "--max-time", "600"] + list(args), capture_output=True,
                       text=True, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise SystemExit("curl %s failed: %s" % (args, r.stderr))
    return r.stdout


def mem_available_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


# --- S3: moto_server with SigV4 enforced -------------------------------------------------------

class S3:
    name = "S3 (moto)"
    single_max = PART  # sluice sends files up to this size in one PUT, larger ones in parts

    def __init__(self, work):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3", TMPDIR=work)
        self.log = open(os.path.join(work, "moto.log"), "w")
        self.proc = start(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)], self.log, env)
        wait_port(self.port, self.proc, "moto_server")
        # The three free requests. moto picks the service from the credential scope; their
        # signatures are not checked.
        self.iam("CreateUser", UserName="bench")
        key = self.iam("CreateAccessKey", UserName="bench")
        self.key_id = key.find(".//{*}AccessKeyId").text
        self.secret = key.find(".//{*}SecretAccessKey").text
        self.iam("PutUserPolicy", UserName="bench", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        # curl sends no x-amz-content-sha256 unless told to, and moto then hashes a body-less
        # request's query parameters as if they were a form: its requests without a body carry
        # the empty body's hash explicitly.
        self.sig = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "%s:%s" % (self.key_id, self.secret)]
        self.nobody = self.sig + ["-H", "x-amz-content-sha256: " + EMPTY_SHA256]
        code = curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", *self.nobody,
                    "%s/%s" % (self.url, BUCKET))
        if code != "200":
            raise SystemExit("CreateBucket: HTTP %s" % code)
        # SigV4 really is checked from here on: a wrong secret is refused.
        bad = curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "--aws-sigv4",
                   "aws:amz:us-east-1:s3", "--user", "%s:wrong-secret" % self.key_id,
                   "-H", "x-amz-content-sha256: " + EMPTY_SHA256,
                   "%s/%s/denied" % (self.url, BUCKET), check=False)
        if bad != "403":
            raise SystemExit("moto accepted a wrong signature (HTTP %s)" % bad)
        self.config = os.path.join(work, "s3.yaml")
        with open(self.config, "w") as f:
            f.write("s3:\n  access_key: %s\n  secret: %s\n  region: us-east-1\n  endpoint: %s\n"
                    "  bucket: %s\nplugins:\n  enable: [upload-s3]\nlogging:\n  level: warn\n"
                    % (json.dumps(self.key_id), json.dumps(self.secret), json.dumps(self.url), BUCKET))

    def iam(self, action, **params):
        body = urllib.parse.urlencode(dict(Action=action, Version="2010-05-08", **params)).encode()
        req = urllib.request.Request(self.url + "/", data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=bootstrap/20260101/us-east-1/iam/"
                             "aws4_request, SignedHeaders=host, Signature=0"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return ET.fromstring(r.read())

    def object_url(self, key):
        return "%s/%s/%s" % (self.url, BUCKET, key)

    def curl_put(self, path, key, acc):
        run_child(["curl", "-sS", "-f", "-o", "/dev/null", "-T", path, "-H",
                   "x-amz-content-sha256: UNSIGNED-PAYLOAD"] + self.sig + [self.object_url(key)], acc)

    def curl_parts(self, parts, key, acc):
        """The same multipart protocol as sluice, driven by curl: CreateMultipartUpload, the parts
        (pre-split files) in one curl -Z with PARALLEL_S3 transfers at a time, Complete."""
        url = self.object_url(key)
        # curl 7.88 signs a valueless "?uploads" as "uploads" where S3 wants "uploads=".
        out = run_child(["curl", "-sS", "-f", "-X", "POST"] + self.nobody + [url + "?uploads="], acc)
        upload_id = urllib.parse.quote(ET.fromstring(out).find("{*}UploadId").text, safe="")
        args = ["curl", "-Z", "--parallel-max", str(PARALLEL_S3)]
        for n, (part, sha256, _) in enumerate(parts, 1):
            args += (["--next"] if n > 1 else []) + [
                "-sS", "-f", "--no-progress-meter", "-H", "x-amz-content-sha256: " + sha256] + self.sig + [
                "-w", "%{url_effective} %header{etag}\\n", "-T", part, "-o", "/dev/null",
                "%s?partNumber=%d&uploadId=%s" % (url, n, upload_id)]
        etags = {}
        for line in run_child(args, acc).splitlines():
            etags[int(re.search(r"[?&]partNumber=(\d+)", line).group(1))] = line.split(" ", 1)[1]
        if sorted(etags) != list(range(1, len(parts) + 1)) or not all(etags.values()):
            raise SystemExit("curl parts: missing ETags: %r" % etags)
        body = "<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(
            "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (n, etags[n]) for n in sorted(etags))
        out = run_child(["curl", "-sS", "-f", "-X", "POST", "-H", "Content-Type: application/xml", "-H",
                         "x-amz-content-sha256: UNSIGNED-PAYLOAD"] + self.sig +
                        ["--data-binary", body, "%s?uploadId=%s" % (url, upload_id)], acc)
        if "<Error>" in out:
            raise SystemExit("curl parts: CompleteMultipartUpload: %s" % out)

    def check(self, key, size, parts):
        head = curl("-I", *self.nobody, self.object_url(key))
        length = re.search(r"(?im)^content-length:\s*(\d+)", head)
        etag = re.search(r'(?im)^etag:\s*"?([^"\r\n]*)', head)
        if not length or int(length.group(1)) != size:
            raise SystemExit("%s: stored size is not %d:\n%s" % (key, size, head))
        if parts and not (etag and etag.group(1).endswith("-%d" % parts)):
            raise SystemExit("%s: not a multipart upload of %d parts:\n%s" % (key, parts, head))

    def delete(self, key):
        curl("-o", "/dev/null", "-f", "-X", "DELETE", *self.nobody, self.object_url(key))


# --- Azure: Azurite ---------------------------------------------------------------------------

SAS_JS = r"""
const b = require("@azure/storage-blob");
const [port, account, key, container] = process.argv.slice(1);
const cred = new b.StorageSharedKeyCredential(account, key);
(async () => {
  const svc = new b.BlobServiceClient(`http://127.0.0.1:${port}/${account}`, cred);
  await svc.getContainerClient(container).createIfNotExists();
  console.log(b.generateBlobSASQueryParameters({
    containerName: container, permissions: b.ContainerSASPermissions.parse("racwd"),
    startsOn: new Date(Date.now() - 300e3), expiresOn: new Date(Date.now() + 6 * 3600e3),
    protocol: b.SASProtocol.HttpsAndHttp }, cred).toString());
})().catch((e) => { console.error(e); process.exit(1); });
"""


class Azure:
    name = "Azure (Azurite)"
    single_max = 256 * MIB  # one Put Blob up to azure.max_put_blob_mib (default 256), blocks above

    def __init__(self, work):
        if not os.path.exists(AZURITE):
            raise SystemExit("%s is missing: npm ci in tests/plugins/upload-azure" % AZURITE)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/%s" % (self.port, ACCOUNT)
        self.log = open(os.path.join(work, "azurite.log"), "w")
        self.proc = start([AZURITE, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                           "--inMemoryPersistence", "--disableTelemetry", "--silent"], self.log)
        wait_port(self.port, self.proc, "Azurite")
        r = subprocess.run(["node", "-e", SAS_JS, str(self.port), ACCOUNT, ACCOUNT_KEY, CONTAINER],
                           cwd=AZDIR, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise SystemExit("container/SAS: %s" % r.stderr)
        self.sas = r.stdout.strip()
        # SharedKey/SAS really is checked: a SAS with a wrong signature is refused.
        bad = re.sub(r"sig=[^&]*", "sig=AAAA", self.sas)
        code = curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H",
                    "x-ms-blob-type: BlockBlob", "-H", "Content-Length: 0",
                    "%s/%s/denied?%s" % (self.url, CONTAINER, bad), check=False)
        if code != "403":
            raise SystemExit("Azurite accepted a wrong SAS (HTTP %s)" % code)
        self.config = os.path.join(work, "azure.yaml")
        with open(self.config, "w") as f:
            f.write("azure:\n  account_name: %s\n  account_key: %s\n  container_name: %s\n"
                    "  endpoint: %s\nplugins:\n  enable: [upload-azure]\nlogging:\n  level: warn\n"
                    % (ACCOUNT, json.dumps(ACCOUNT_KEY), CONTAINER, json.dumps(self.url)))

    def object_url(self, key, query=""):
        return "%s/%s/%s?%s%s" % (self.url, CONTAINER, key, query, self.sas)

    def curl_put(self, path, key, acc):
        run_child(["curl", "-sS", "-f", "-o", "/dev/null", "-T", path, "-H",
                   "x-ms-blob-type: BlockBlob", self.object_url(key)], acc)

    def curl_parts(self, parts, key, acc):
        """The same protocol as sluice, driven by curl: Put Block for each pre-split file in one
        curl -Z with PARALLEL_AZURE transfers at a time, then Put Block List."""
        ids = [base64.b64encode(b"%06d" % n).decode() for n in range(1, len(parts) + 1)]
        args = ["curl", "-Z", "--parallel-max", str(PARALLEL_AZURE)]
        for n, (block_id, (part, _, md5)) in enumerate(zip(ids, parts)):
            args += (["--next"] if n else []) + [
                "-sS", "-f", "--no-progress-meter", "-H", "Content-MD5: " + md5, "-T", part, "-o", "/dev/null",
                self.object_url(key, "comp=block&blockid=%s&" % urllib.parse.quote(block_id, safe=""))]
        run_child(args, acc)
        body = '<?xml version="1.0" encoding="utf-8"?><BlockList>%s</BlockList>' % "".join(
            "<Latest>%s</Latest>" % i for i in ids)
        run_child(["curl", "-sS", "-f", "-o", "/dev/null", "-X", "PUT", "-H", "Content-Type: application/xml",
                   "--data-binary", body, self.object_url(key, "comp=blocklist&")], acc)

    def check(self, key, size, parts):
        head = curl("-I", self.object_url(key))
        length = re.search(r"(?im)^content-length:\s*(\d+)", head)
        if not length or int(length.group(1)) != size:
            raise SystemExit("%s: stored size is not %d:\n%s" % (key, size, head))
        if parts:
            blocks = ET.fromstring(curl(self.object_url(key, "comp=blocklist&blocklisttype=committed&")))
            n = len(blocks.findall(".//CommittedBlocks/Block"))
            if n != parts:
                raise SystemExit("%s: %d committed blocks, expected %d" % (key, n, parts))

    def delete(self, key):
        curl("-o", "/dev/null", "-f", "-X", "DELETE", self.object_url(key))


# --- the runs -----------------------------------------------------------------------------------

CLIENTS = ("sluice", "curl", "curl-parts")


def split_parts(path, size, directory):
    """The file cut into PART-sized files for curl-parts (curl -T sends whole files), each with
    the hex SHA-256 and base64 MD5 sluice sends with it: [(path, sha256, md5)]. Not timed."""
    os.makedirs(directory)
    parts = []
    with open(path, "rb") as f:
        for n in range((size + PART - 1) // PART):
            data = f.read(PART)
            part = os.path.join(directory, "%05d" % (n + 1))
            with open(part, "wb") as out:
                out.write(data)
            parts.append((part, hashlib.sha256(data).hexdigest(),
                          base64.b64encode(hashlib.md5(data).digest()).decode()))
    return parts


def upload(backend, client, path, parts, key, size):
    if client == "sluice":
        run = lambda acc: run_child([SLUICE, "upload", "--config", backend.config, path, key], acc)
    elif client == "curl":
        run = lambda acc: backend.curl_put(path, key, acc)
    else:
        run = lambda acc: backend.curl_parts(parts, key, acc)
    m = measure(run, backend.proc.pid)
    multipart = client == "curl-parts" or (client == "sluice" and size > backend.single_max)
    backend.check(key, size, (size + PART - 1) // PART if multipart else 0)
    backend.delete(key)
    m["mbps"] = size / m["wall"] / 1e6
    return m


def version(args):
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return "?"
    return out.splitlines()[0] if out else "?"


def med(runs, field):
    return statistics.median(x[field] for x in runs)


def main():
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)
    if not os.path.exists(SLUICE):
        raise SystemExit("%s is not built" % SLUICE)
    os.environ["SLUICE_PLUGIN_PATH"] = ":".join(
        os.path.join(src, build, "plugins", p) for p in ("upload-s3", "upload-azure"))
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        os.environ.pop(var, None)
    started = time.strftime("%Y-%m-%d %H:%M")
    load0 = os.getloadavg()
    work = tempfile.mkdtemp(prefix="sluice-bench-upload-")
    results = []  # (backend name, MiB, {client: [measurement]})
    big = []      # (backend name, MiB, measurement or None, note)
    try:
        files, parts = {}, {}
        for mib in sorted(set(SIZES + ([BIG] if BIG else []) + [1])):
            files[mib] = make_file(os.path.join(work, "f%d.bin" % mib), mib * MIB)
            if mib in SIZES or mib == 1:
                parts[mib] = split_parts(files[mib], mib * MIB, os.path.join(work, "parts%d" % mib))
        for name in BACKENDS:
            backend = S3(work) if name == "s3" else Azure(work)
            try:
                for client in CLIENTS:  # warm-up, not measured
                    upload(backend, client, files[1], parts[1], "warm/%s.bin" % client, MIB)
                for mib in SIZES:
                    runs = {c: [] for c in CLIENTS}
                    for rep in range(REPS):
                        # every client takes every position in the round once
                        k = rep % len(CLIENTS)
                        for client in CLIENTS[k:] + CLIENTS[:k]:
                            m = upload(backend, client, files[mib], parts[mib],
                                       "b/%s-%d-%d.bin" % (client, mib, rep), mib * MIB)
                            runs[client].append(m)
                            print("# %-15s %5d MiB %-10s %7.1f MB/s  %6.2f s  client CPU %.2f s  "
                                  "server CPU %.2f s  peak RSS %.1f MiB" % (
                                      backend.name, mib, client, m["mbps"], m["wall"], m["cpu"],
                                      m["server"], m["rss"] / 1024), flush=True)
                    results.append((backend.name, mib, runs))
                if BIG:
                    avail = mem_available_mib()
                    if avail < 3 * BIG + 2048:
                        big.append((backend.name, BIG, None, "skipped: only %d MiB available" % avail))
                    else:
                        m = upload(backend, "sluice", files[BIG], None, "big/sluice-%d.bin" % BIG, BIG * MIB)
                        print("# %-15s %5d MiB sluice     %7.1f MB/s  %6.2f s  client CPU %.2f s  "
                              "server CPU %.2f s  peak RSS %.1f MiB" % (
                                  backend.name, BIG, m["mbps"], m["wall"], m["cpu"], m["server"],
                                  m["rss"] / 1024), flush=True)
                        big.append((backend.name, BIG, m, ""))
            finally:
                stop(backend.proc)
                backend.log.close()
    finally:
        for p in list(children):
            stop(p)
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()

    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        memtotal = int(f.readline().split()[1]) / MIB
    moto_v = version(["python3", "-c", "import importlib.metadata as m; print(m.version('moto'))"])
    with open(os.path.join(AZDIR, "node_modules", "azurite", "package.json")) as f:
        azurite_v = json.load(f)["version"]
    commit = version(["git", "-C", src, "rev-parse", "--short", "HEAD"])

    lines = [
        "sluice upload throughput and memory vs curl (bench/upload.sh), %s" % started,
        "machine: %d cores (%s), %.0f GiB RAM, Linux %s; load average %.2f at start, %.2f at end "
        "(shared host)" % (os.cpu_count(), cpu, memtotal, platform.release(), load0[0], load1[0]),
        "versions: sluice %s; %s; moto_server %s (%s, werkzeug); Azurite %s (node %s)" % (
            commit, " ".join(version(["curl", "--version"]).split()[:2]), moto_v,
            version(["python3", "--version"]), azurite_v, version(["node", "--version"])),
        "method: same random file, same server process, same run, servers and clients on loopback; %d uploads "
        "per client and size, interleaved (each client" % REPS,
        "        in each position of a round once), after an unmeasured 1 MiB warm-up each. MB/s = bytes / wall "
        "time from starting the client to its exit",
        "        (10^6 B per MB), median of %d. Peak RSS = wait4() ru_maxrss, max over the runs. Server CPU = "
        "utime+stime of the server process over the upload." % REPS,
        "        Every object is checked (stored size; part/block count of multipart ones) and deleted after "
        "its run.",
        "  S3: moto_server, SigV4 enforced (checked at start: a wrong secret gets 403).",
        "    sluice:     sluice upload, multipart: 8 MiB parts, 3 at a time, each signed with its SHA-256 "
        "(x-amz-content-sha256).",
        "    curl:       one PUT: curl -T FILE --aws-sigv4 aws:amz:us-east-1:s3 --user KEY:SECRET "
        "-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' http://127.0.0.1:PORT/media/KEY",
        "                without that header curl 7.88 signs the SHA-256 of an empty body for -T (it hashes "
        "only POST data) and sends no x-amz-content-sha256,",
        "                so moto, which hashes the body it got, answers SignatureDoesNotMatch. curl thus hashes "
        "nothing; sluice hashes every byte.",
        "    curl-parts: sluice's requests sent by curl: POST ?uploads=, the parts in one curl -Z --parallel-max 3 "
        "(each part pre-split into an 8 MiB file",
        "                with its SHA-256 signed as x-amz-content-sha256, both computed before the clock starts), "
        "POST ?uploadId= with the part list.",
        "  Azure: Azurite --inMemoryPersistence --disableTelemetry, SharedKey and SAS checked (at start: a bad "
        "SAS gets 403).",
        "    sluice:     sluice upload: up to 256 MiB one Put Blob streamed from disk, its MD5 computed alongside "
        "and compared with the Content-MD5 answered;",
        "                larger: Put Block, 8 MiB blocks, 4 at a time, each with its Content-MD5, then Put Block "
        "List (SharedKey).",
        "    curl:       one Put Blob: curl -T FILE -H 'x-ms-blob-type: BlockBlob' "
        "'http://127.0.0.1:PORT/devstoreaccount1/media/KEY?<container SAS>'",
        "                (SAS made by @azure/storage-blob's generateBlobSASQueryParameters); no Content-MD5.",
        "    curl-parts: Put Block for pre-split 8 MiB files in one curl -Z --parallel-max 4, each with its "
        "Content-MD5 (computed before the clock",
        "                starts; without it Azurite computes a CRC64 in JavaScript, ~75 MB/s), then Put Block "
        "List (same SAS).",
        "",
        "| backend         | size MiB | sluice MB/s | curl MB/s (1 request) | sluice/curl | curl-parts MB/s "
        "| sluice/curl-parts | sluice peak RSS MiB | curl peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, mib, runs in results:
        s_, c_, p_ = (med(runs[c], "mbps") for c in CLIENTS)
        lines.append("| %-15s | %8d | %11.1f | %21.1f | %10.2f× | %15.1f | %16.2f× | %19.1f | %17.1f |" % (
            name, mib, s_, c_, s_ / c_, p_, s_ / p_, max(x["rss"] for x in runs["sluice"]) / 1024,
            max(x["rss"] for x in runs["curl"]) / 1024))
    for name, mib, m, note in big:
        if m is None:
            lines.append("| %-15s | %8d | %s |" % (name, mib, note))
        else:
            lines.append("| %-15s | %8d | %11.1f | %21s | %11s | %15s | %17s | %19.1f | %17s |" % (
                name, mib, m["mbps"], "-", "-", "-", "-", m["rss"] / 1024, "-"))
    if big:
        lines.append("(the %d MiB rows: one sluice upload each, for its peak RSS; no peer run)" % BIG)
    lines += ["", "all runs, MB/s in run order:"]
    for name, mib, runs in results:
        lines.append("  %-15s %4d MiB  " % (name, mib) + "   ".join(
            "%s %s" % (c, " ".join("%.1f" % x["mbps"] for x in runs[c])) for c in CLIENTS))
    lines += ["", "where the time goes (medians, seconds): wall time, client CPU (user+sys, all processes of the "
              "client), server-process CPU during the upload",
              "| backend         | size MiB | client     |   wall | client CPU | server CPU | server CPU / wall |",
              "|---|---|---|---|---|---|---|"]
    for name, mib, runs in results:
        for c in CLIENTS:
            lines.append("| %-15s | %8d | %-10s | %6.2f | %10.2f | %10.2f | %17.2f |" % (
                name, mib, c, med(runs[c], "wall"), med(runs[c], "cpu"), med(runs[c], "server"),
                med(runs[c], "server") / med(runs[c], "wall")))
    for name, mib, m, note in big:
        if m is not None:
            lines.append("| %-15s | %8d | %-10s | %6.2f | %10.2f | %10.2f | %17.2f |" % (
                name, mib, "sluice", m["wall"], m["cpu"], m["server"], m["server"] / m["wall"]))
    lines += [
        "",
        "reading: moto_server (Python, one GIL) and Azurite (JavaScript on one thread, plus Node's helper "
        "threads) share the 2 cores with the client. Where",
        "server CPU / wall is near or above 1.0 "
        "the server is saturated and MB/s is what the server can take in that request pattern, not what the "
        "client can send.",
        "sluice/curl then mostly "
        "compares the server's cost of a multipart (block) upload with that of one PUT; sluice/curl-parts compares "
        "the two clients",
        "on the same requests, with curl-parts' hashing done before the clock starts. A real endpoint does not "
        "share the client's cores.",
        "",
        "targets: sluice/curl >= 0.9× on the same server; sluice peak RSS <= 64 MB during a 1 GiB "
        "multipart upload to moto.",
    ]
    for backend_name in dict.fromkeys(n for n, _, _ in results):
        rows = [(mib, r) for n, mib, r in results if n == backend_name]
        ratios = sorted(med(r["sluice"], "mbps") / med(r["curl"], "mbps") for _, r in rows)
        parts_ratios = sorted(med(r["sluice"], "mbps") / med(r["curl-parts"], "mbps") for _, r in rows)
        peer_ratios = sorted(med(r["curl-parts"], "mbps") / med(r["curl"], "mbps") for _, r in rows)
        lines.append("measured: %s: sluice/curl %.2f–%.2f× (%s); sluice/curl-parts %.2f–%.2f×; curl-parts/curl "
                     "%.2f–%.2f× (curl itself, sending the parts)." % (
                         backend_name, ratios[0], ratios[-1], "met" if ratios[0] >= 0.9 else "not met",
                         parts_ratios[0], parts_ratios[-1], peer_ratios[0], peer_ratios[-1]))
    for name, mib, m, note in big:
        if m is not None:
            lines.append("measured: %s, %d MiB: peak RSS %.1f MiB = %.1f MB (%s)." % (
                name, mib, m["rss"] / 1024, m["rss"] * 1024 / 1e6, "met" if m["rss"] * 1024 <= 64e6 else "not met"))
    out = "\n".join(lines) + "\n"
    os.makedirs(os.path.join(src, "bench", "results"), exist_ok=True)
    with open(os.path.join(src, "bench", "results", "upload.txt"), "w") as f:
        f.write(out)
    print(out, end="")


if __name__ == "__main__":
    main()
