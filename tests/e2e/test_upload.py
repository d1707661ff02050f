"""Uploads end to end: ffmpeg publishes RTMP to sluice, and what the outputs write lands in S3.

Two real moto_server instances stand in for S3 (the primary and the backup), each with SigV4
enforced: the first requests create an IAM user, its key, a policy and the bucket, and every
request after that must be signed with that key (INITIAL_NO_AUTH_ACTION_COUNT). Objects are
fetched back with boto3 and probed with ffprobe.

  1. A static ingress whose outputs go to the node's `storage:`: the MP4, the HLS segments and
     playlist and the manifest land in the bucket under the prefix, play, and leave the local
     disk; the upload metrics count them.
  2. A participant egress started through the API with an `s3` output of its own: FileInfo says
     the S3 location, the object plays, the manifest is there, the echoed request hides the key.
  3. Outage: the primary moto is killed during a room composite egress (file + HLS) that uses the
     node's storage: the backup moto receives what follows, the MP4 there plays, and the
     EgressInfo says backup_storage_used.
  4. Both down: the recording stays on local disk, the EgressInfo (FAILED, as LiveKit's "upload
     failed") says where, and the file there plays; the manifest is next to it.

Skipped cleanly when moto_server, boto3 or the upload-s3 plugin is missing. Every child has a
timeout and is killed in `finally`.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import media
from sluicetest import BUILD, Sluice, Tap, free_port, http_get, ports, write_config

t = Tap()
WORK = tempfile.mkdtemp(prefix="sluice-upload-")
OUT = os.path.join(WORK, "recordings")
API_KEY = "upload-e2e-key"
API_SECRET = "upload-e2e-secret-0123456789abcdef"
PLUGINS = ["input-rtmp", "output-file", "upload-s3"]
PLUGIN_PATH = os.pathsep.join(os.path.abspath(os.path.join(BUILD, "plugins", p)) for p in PLUGINS)
S3_PLUGIN = os.path.join(BUILD, "plugins", "upload-s3", "sluice-upload-s3.so")
MOTO = shutil.which("moto_server")
REGION = "us-east-1"

try:
    import boto3
    import botocore.config
except ImportError:  # pragma: no cover - depends on the machine
    boto3 = None

children = []


def near(v, lo, hi):
    return v is not None and lo <= v <= hi


# ---------------------------------------------------------------------------------------------
# S3: moto with SigV4 enforced


class Moto:
    """A moto_server with an IAM user whose key every request after the first four must be
    signed with, and one bucket."""

    def __init__(self, name, bucket):
        self.name = name
        self.bucket = bucket
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        env = {"INITIAL_NO_AUTH_ACTION_COUNT": "4", "MOTO_ALLOW_NONEXISTENT_REGION": "1"}
        self.proc = media.Proc([MOTO, "-H", "127.0.0.1", "-p", str(self.port)], name="moto-" + name,
                               directory=WORK, env=env)
        children.append(self.proc)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError("moto_server did not start:\n" + self.proc.output())
                time.sleep(0.2)
        # The four free requests: user, key, policy, bucket.
        iam = boto3.client("iam", endpoint_url=self.url, region_name=REGION,
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="sluice")
        k = iam.create_access_key(UserName="sluice")["AccessKey"]
        self.key, self.secret = k["AccessKeyId"], k["SecretAccessKey"]
        iam.put_user_policy(UserName="sluice", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        self.s3 = self.client(self.key, self.secret)
        self.s3.create_bucket(Bucket=bucket)

    def client(self, key, secret):
        return boto3.client("s3", endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=key, aws_secret_access_key=secret,
                            config=botocore.config.Config(s3={"addressing_style": "path"},
                                                          retries={"max_attempts": 1}))

    def keys(self, prefix=""):
        # filtered here: moto miscomputes the signature of a listing with a '/' in its prefix
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            out += [o["Key"] for o in page.get("Contents", [])]
        return sorted(k for k in out if k.startswith(prefix))

    def fetch(self, key, dest_dir):
        path = os.path.join(dest_dir, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.s3.download_file(self.bucket, key, path)
        return path

    def yaml(self, indent):
        pad = " " * indent
        return ("%ss3:\n%s  access_key: %s\n%s  secret: %s\n%s  region: %s\n%s  endpoint: %s\n"
                "%s  bucket: %s\n%s  max_retries: 2\n%s  min_retry_delay: 100ms\n"
                "%s  max_retry_delay: 300ms\n"
                % (pad, pad, self.key, pad, self.secret, pad, REGION, pad, self.url, pad,
                   self.bucket, pad, pad, pad))

    def kill(self):
        self.proc.kill()


# ---------------------------------------------------------------------------------------------
# The API


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt():
    now = int(time.time())
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps({"iss": API_KEY, "sub": "upload-e2e", "nbf": now - 10,
                              "exp": now + 600, "video": {"roomRecord": True}}).encode())
    sig = hmac.new(API_SECRET.encode(), ("%s.%s" % (head, body)).encode(), hashlib.sha256)
    return "%s.%s.%s" % (head, body, b64url(sig.digest()))


def egress_call(method, body):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/twirp/livekit.Egress/%s" % (S["api"], method),
        data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + jwt()})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read().decode() or "{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "{}")


def egress_info(egress_id):
    status, answer = egress_call("ListEgress", {"egress_id": egress_id})
    assert status == 200, (status, answer)
    items = answer.get("items", [])
    return items[0] if items else None


def wait_egress(egress_id, statuses, timeout=90):
    deadline = time.monotonic() + timeout
    info = None
    while time.monotonic() < deadline:
        info = egress_info(egress_id)
        if info and info.get("status") in statuses:
            return info
        time.sleep(0.5)
    raise AssertionError("egress %s not %s within %d s: %s\nlog:\n%s"
                         % (egress_id, statuses, timeout, json.dumps(info, indent=1),
                            S["sluice"].log()[-6000:]))


# ---------------------------------------------------------------------------------------------
# The service

S = {}


def log_since(mark):
    with S["sluice"].cond:
        return "\n".join(S["sluice"].lines[mark:])


def mark():
    with S["sluice"].cond:
        return len(S["sluice"].lines)


def wait_log(pattern, since, timeout):
    rx = re.compile(pattern)
    s = S["sluice"]
    deadline = time.monotonic() + timeout
    with s.cond:
        while True:
            for l in s.lines[since:]:
                m = rx.search(l)
                if m:
                    return m
            left = deadline - time.monotonic()
            if left <= 0 or (s.proc.poll() is not None and not s.reader.is_alive()):
                return None
            s.cond.wait(min(left, 0.2))


def metrics():
    status, body = http_get("http://127.0.0.1:%d/metrics" % S["prom"])
    assert status == 200, status
    out = {}
    for line in body.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


def metric(samples, name, **labels):
    want = name + ("{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
                   if labels else "")
    for k, v in samples.items():
        if k == want:
            return v
        if k.startswith(name + "{") and labels:
            got = dict(re.findall(r'(\w+)="([^"]*)"', k[len(name):]))
            if got == labels:
                return v
    return 0.0


def start_service():
    api, rtmp, health, prom = ports(4)
    primary, backup = S["primary"], S["backup"]
    S.update(api=api, rtmp=rtmp, prom=prom)
    S["keys"] = {n: "sk-%s-%s" % (n, secrets.token_hex(6)) for n in ["cam", "studio", "stage"]}
    text = ("api_port: %d\napi_key: %s\napi_secret: %s\nrtmp_port: %d\nhealth_port: %d\n"
            "prometheus_port: %d\nbind_address: 127.0.0.1\noutput_dir: %s\n"
            "cpu_cost:\n  max_cpu_utilization: 1.0\n  rtmp_bypass_transcoding_cpu_cost: 0.0\n"
            "plugins:\n  enable: [%s]\n"
            "storage:\n  prefix: rec\n%s"
            "backup:\n  prefix: bak\n%s"
            "ingresses:\n"
            "  - name: cam\n    stream_key: %s\n    room_name: room-cam\n"
            "    participant_identity: cam\n    outputs:\n"
            '      file: { filepath: "cam/{room_name}-{time}.mp4" }\n'
            '      segments: { filename_prefix: "cam/hls/seg", playlist_name: "index.m3u8",'
            " segment_duration: 2 }\n"
            "  - name: studio\n    stream_key: %s\n    room_name: room-studio\n"
            "    participant_identity: host\n"
            "  - name: stage\n    stream_key: %s\n    room_name: room-stage\n"
            "    participant_identity: stage\n"
            % (api, API_KEY, API_SECRET, rtmp, health, prom, OUT, ", ".join(PLUGINS),
               primary.yaml(2), backup.yaml(2), S["keys"]["cam"], S["keys"]["studio"],
               S["keys"]["stage"]))
    cfg = write_config(text, WORK)
    S["sluice"] = Sluice(["--config", cfg], env={"SLUICE_PLUGIN_PATH": PLUGIN_PATH})
    S["sluice"].wait_ready(20)


def publish(ingress, seconds):
    src = media.cached_flv(640, 360, 40)
    url = "rtmp://127.0.0.1:%d/live/%s" % (S["rtmp"], S["keys"][ingress])
    p = media.ffmpeg_publish(url, ["-re", "-i", src, "-t", str(seconds)], name="ffmpeg-" + ingress,
                             directory=WORK)
    children.append(p)
    return p


def wait_session(ingress, since, timeout=20):
    m = wait_log(r"session:(RT_\w+): ingress %s \(" % ingress, since, timeout)
    assert m, "no session for %s:\n%s" % (ingress, log_since(since))
    sid = m.group(1)
    assert wait_log(r"session:%s: ingress \S+: ENDPOINT_PUBLISHING" % sid, since, timeout), \
        "session %s never published:\n%s" % (sid, log_since(since))
    return sid


def wait_session_end(sid, since, timeout=90):
    m = wait_log(r"session:%s: ended: (ENDPOINT_\w+)" % sid, since, timeout)
    assert m, "session %s did not end:\n%s" % (sid, log_since(since))
    return m.group(1)


def probe_av(label, path, lo, hi):
    """ffprobe -of json: H.264 video and AAC audio, duration within [lo, hi]."""
    info = media.ffprobe(path)
    v, a = media.stream(info, "video"), media.stream(info, "audio")
    d = media.format_duration(info)
    t.ok(v is not None and v.get("codec_name") == "h264" and v.get("width") == 640
         and v.get("height") == 360 and a is not None and a.get("codec_name") == "aac"
         and near(d, lo, hi),
         "%s: h264 640x360 + aac, %.1f-%.1f s" % (label, lo, hi),
         "%s\n%s" % (path, media.summary(info)))
    return info


# ---------------------------------------------------------------------------------------------
# Tests


def test_static_ingress_to_s3():
    label = "static ingress"
    m = mark()
    before = metrics()
    pub = publish("cam", 8)
    try:
        sid = wait_session("cam", m)
        assert pub.wait(40) is not None, "publisher did not finish"
        state = wait_session_end(sid, m)
        t.ok(state == "ENDPOINT_INACTIVE", "%s: the session ends INACTIVE" % label, log_since(m))
    finally:
        pub.kill()
    primary = S["primary"]
    keys = primary.keys("rec/cam/")
    mp4s = [k for k in keys if k.endswith(".mp4")]
    segs = [k for k in keys if k.startswith("rec/cam/hls/seg_") and k.endswith(".ts")]
    t.ok(len(mp4s) == 1 and "rec/cam/hls/index.m3u8" in keys and len(segs) >= 3
         and "rec/cam/%s.json" % sid in keys,
         "%s: MP4, segments, playlist and manifest under the prefix in the bucket" % label,
         "keys: %s" % keys)
    dl = os.path.join(WORK, "dl-static")
    if mp4s:
        probe_av("%s: the MP4 from S3" % label, primary.fetch(mp4s[0], dl), 6.5, 9.5)
    if "rec/cam/hls/index.m3u8" in keys:
        for k in segs:
            primary.fetch(k, dl)
        pl_path = primary.fetch("rec/cam/hls/index.m3u8", dl)
        pl = media.Playlist(pl_path)
        t.ok(pl.endlist and len(pl.segments) == len(segs)
             and all(os.path.exists(s["path"]) for s in pl.segments),
             "%s: the playlist is closed and names exactly the uploaded segments" % label,
             "%s\nsegments in bucket: %s" % (pl.text, segs))
        probe_av("%s: the HLS from S3" % label, pl_path, 6.5, 9.5)
    manifest = json.load(open(primary.fetch("rec/cam/%s.json" % sid, dl)))
    t.ok(manifest.get("egress_id") == sid and manifest.get("room_name") == "room-cam"
         and len(manifest.get("files", [])) == 1
         and manifest["files"][0]["location"].startswith(primary.url + "/primary/rec/cam/")
         and len(manifest.get("playlists", [])) == 1
         and len(manifest["playlists"][0]["segments"]) == len(segs),
         "%s: the manifest lists the file and the playlist's segments with their S3 locations"
         % label, json.dumps(manifest, indent=1))
    local = [os.path.join(r, f) for r, _, fs in os.walk(os.path.join(OUT, "cam")) for f in fs]
    t.ok(local == [], "%s: what was stored left the local disk" % label, local)
    t.ok(wait_log(r"recording %s/primary/rec/cam/\S+\.mp4 closed" % re.escape(primary.url), m, 5)
         is not None, "%s: the log names the S3 location" % label, log_since(m))
    after = metrics()
    ok = metric(after, "sluice_upload_results_total", backend="s3", status="success") - \
        metric(before, "sluice_upload_results_total", backend="s3", status="success")
    nbytes = metric(after, "sluice_upload_bytes_total", backend="s3") - \
        metric(before, "sluice_upload_bytes_total", backend="s3")
    secs = metric(after, "sluice_upload_seconds_total", backend="s3") - \
        metric(before, "sluice_upload_seconds_total", backend="s3")
    t.ok(ok >= len(segs) + 3 and nbytes > 100_000 and secs > 0,
         "%s: metrics count the uploads (results, bytes, seconds)" % label,
         "success +%s, bytes +%s, seconds +%s" % (ok, nbytes, secs))


def test_api_egress_with_s3_output():
    label = "API egress"
    primary = S["primary"]
    m = mark()
    pub = publish("studio", 25)
    try:
        sid = wait_session("studio", m)
        s3 = {"access_key": primary.key, "secret": primary.secret, "region": REGION,
              "endpoint": primary.url, "bucket": primary.bucket, "force_path_style": True}
        status, info = egress_call("StartParticipantEgress", {
            "room_name": "room-studio", "identity": "host",
            "file_outputs": [{"filepath": "egress/{room_name}.mp4", "s3": s3}]})
        assert status == 200, (status, info)
        eid = info["egressId"]
        wait_egress(eid, ["EGRESS_ACTIVE"], 30)
        time.sleep(8)
        status, _ = egress_call("StopEgress", {"egress_id": eid})
        assert status == 200, status
        info = wait_egress(eid, ["EGRESS_COMPLETE", "EGRESS_FAILED"], 90)
    finally:
        pub.kill()
    files = info.get("fileResults", [])
    want = "%s/%s/egress/room-studio.mp4" % (primary.url, primary.bucket)
    t.ok(info.get("status") == "EGRESS_COMPLETE" and len(files) == 1
         and files[0].get("location") == want and not info.get("error"),
         "%s: COMPLETE, FileInfo.location is the S3 URL" % label, json.dumps(info, indent=1))
    t.ok(not info.get("backupStorageUsed"), "%s: no backup used" % label)
    echo = json.dumps(info.get("participant", {}))
    t.ok(primary.secret not in echo and primary.key not in echo,
         "%s: the echoed request does not show the key" % label, echo)
    dl = os.path.join(WORK, "dl-egress")
    keys = primary.keys("egress/")
    t.ok("egress/room-studio.mp4" in keys and "egress/%s.json" % eid in keys
         and info.get("manifestLocation") == "%s/%s/egress/%s.json" % (primary.url,
                                                                      primary.bucket, eid),
         "%s: the MP4 and the manifest are in the bucket; manifest_location says where" % label,
         "keys %s, manifest_location %s" % (keys, info.get("manifestLocation")))
    if "egress/room-studio.mp4" in keys:
        dur = int(files[0].get("duration") or 0) / 1e9 if files else 0
        probe_av("%s: the MP4 from S3" % label, primary.fetch("egress/room-studio.mp4", dl),
                 max(5.0, dur - 1.5), dur + 1.5)


def test_outage_goes_to_backup():
    label = "outage"
    primary, backup = S["primary"], S["backup"]
    m = mark()
    pub = publish("stage", 35)
    try:
        wait_session("stage", m)
        status, info = egress_call("StartRoomCompositeEgress", {
            "room_name": "room-stage",
            "file_outputs": [{"filepath": "outage/{room_name}.mp4"}],
            "segment_outputs": [{"filename_prefix": "outage/hls/seg",
                                 "playlist_name": "outage.m3u8", "segment_duration": 2}]})
        assert status == 200, (status, info)
        eid = info["egressId"]
        wait_egress(eid, ["EGRESS_ACTIVE"], 30)
        # a few segments reach the primary first
        deadline = time.monotonic() + 30
        while len([k for k in primary.keys("rec/outage/hls/") if k.endswith(".ts")]) < 2:
            assert time.monotonic() < deadline, "no segments reached the primary"
            time.sleep(0.5)
        before_kill = [k for k in primary.keys("rec/outage/hls/") if k.endswith(".ts")]
        primary.kill()
        time.sleep(8)
        status, _ = egress_call("StopEgress", {"egress_id": eid})
        assert status == 200, status
        info = wait_egress(eid, ["EGRESS_COMPLETE", "EGRESS_FAILED"], 120)
    finally:
        pub.kill()
    files = info.get("fileResults", [])
    segs = info.get("segmentResults", [])
    t.ok(info.get("status") == "EGRESS_COMPLETE" and info.get("backupStorageUsed") is True,
         "%s: the egress completes with backup_storage_used" % label, json.dumps(info, indent=1))
    t.ok(len(files) == 1 and files[0].get("location", "").startswith(
        "%s/%s/bak/outage/" % (backup.url, backup.bucket)),
        "%s: FileInfo.location is on the backup" % label, json.dumps(files))
    t.ok(len(segs) == 1 and segs[0].get("playlistLocation") == "%s/%s/bak/outage/hls/outage.m3u8"
         % (backup.url, backup.bucket),
         "%s: the playlist is on the backup" % label, json.dumps(segs))
    keys = backup.keys("bak/outage/")
    after = [k for k in keys if k.endswith(".ts")]
    t.ok("bak/outage/room-stage.mp4" in keys and "bak/outage/hls/outage.m3u8" in keys
         and len(after) >= 2,
         "%s: the backup bucket has the MP4, the playlist and the later segments" % label,
         "backup keys %s; primary had %s before the kill" % (keys, before_kill))
    if "bak/outage/room-stage.mp4" in keys:
        dl = os.path.join(WORK, "dl-outage")
        dur = int(files[0].get("duration") or 0) / 1e9 if files else 0
        probe_av("%s: the MP4 from the backup" % label, backup.fetch("bak/outage/room-stage.mp4", dl),
                 max(5.0, dur - 1.5), dur + 1.5)
    mloc = info.get("manifestLocation") or ""
    t.ok(mloc.startswith(backup.url) or os.path.exists(mloc),
         "%s: the manifest is stored (on the backup) or kept locally" % label, mloc)


def test_both_down_keeps_local():
    label = "both down"
    S["backup"].kill()
    m = mark()
    pub = publish("stage", 25)
    try:
        wait_session("stage", m)
        status, info = egress_call("StartRoomCompositeEgress", {
            "room_name": "room-stage", "file_outputs": [{"filepath": "kept/{room_name}.mp4"}]})
        assert status == 200, (status, info)
        eid = info["egressId"]
        wait_egress(eid, ["EGRESS_ACTIVE"], 30)
        time.sleep(8)
        status, _ = egress_call("StopEgress", {"egress_id": eid})
        assert status == 200, status
        info = wait_egress(eid, ["EGRESS_COMPLETE", "EGRESS_FAILED"], 120)
    finally:
        pub.kill()
    local = os.path.join(OUT, "kept", "room-stage.mp4")
    files = info.get("fileResults", [])
    t.ok(info.get("status") == "EGRESS_FAILED" and local in (info.get("error") or "")
         and "upload failed" in (info.get("error") or ""),
         "%s: FAILED, and the error says the file stays at its local path" % label,
         json.dumps(info, indent=1))
    t.ok(len(files) == 1 and files[0].get("location") == local and os.path.exists(local),
         "%s: FileInfo.location is the local file, which is there" % label, json.dumps(files))
    if os.path.exists(local):
        dur = int(files[0].get("duration") or 0) / 1e9 if files else 0
        probe_av("%s: the kept MP4" % label, local, max(5.0, dur - 1.5), dur + 1.5)
    manifest = os.path.join(OUT, "kept", "%s.json" % eid)
    t.ok(os.path.exists(manifest) and info.get("manifestLocation") == manifest,
         "%s: the manifest is next to the file" % label, info.get("manifestLocation"))


def main():
    missing = [what for what, ok in [("moto_server", MOTO), ("boto3", boto3),
                                     ("the upload-s3 plugin", os.path.exists(S3_PLUGIN))] if not ok]
    if missing:
        t.skip("uploads to S3", "%s not available" % ", ".join(missing))
        t.done()
    try:
        S["primary"] = Moto("primary", "primary")
        S["backup"] = Moto("backup", "spare")
        start_service()
        for fn in [test_static_ingress_to_s3, test_api_egress_with_s3_output,
                   test_outage_goes_to_backup, test_both_down_keeps_local]:
            t.run(fn)
    except Exception:
        import traceback
        t.ok(False, "setup", traceback.format_exc())
    finally:
        if "sluice" in S:
            S["sluice"].signal(signal.SIGTERM)
            if S["sluice"].wait_exit(30) is None:
                S["sluice"].stop()
            with open(os.path.join(WORK, "sluice.log"), "w") as f:
                f.write(S["sluice"].log())
        for c in children:
            c.kill()
    t.done()


if __name__ == "__main__":
    main()
