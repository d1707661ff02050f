"""API start → EGRESS_ACTIVE latency on a live session, measured against a running sluice.

Starts sluice with the API, creates an RTMP ingress through the API, publishes to it with ffmpeg,
then starts and stops N participant egresses (MP4) one after another, timing from sending
StartParticipantEgress until ListEgress reports EGRESS_ACTIVE (polled every 2 ms), and the whole
start call. Writes bench/results/api.txt. A measurement, not a test. Usage: bench/api.sh [build]
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

build = sys.argv[1] if len(sys.argv) > 1 else "build"
src = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
N = int(os.environ.get("N", "40"))
KEY, SECRET = "benchkey", "bench-secret-0123456789-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(grant):
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    claims = b64(json.dumps({"iss": KEY, "nbf": now - 5, "exp": now + 600, "video": {grant: True}}).encode())
    sig = b64(hmac.new(SECRET.encode(), (header + "." + claims).encode(), hashlib.sha256).digest())
    return header + "." + claims + "." + sig


def call(port, service, method, body, grant):
    req = urllib.request.Request("http://127.0.0.1:%d/twirp/livekit.%s/%s" % (port, service, method),
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " + token(grant)})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


work = tempfile.mkdtemp(prefix="sluice-bench-api-")
api, rtmp = free_port(), free_port()
cfg = os.path.join(work, "sluice.yaml")
with open(cfg, "w") as f:
    f.write("api_port: %d\napi_key: %s\napi_secret: %s\nrtmp_port: %d\nbind_address: 127.0.0.1\n"
            "output_dir: %s\nlogging:\n  level: warn\ncpu_cost:\n  max_cpu_utilization: 1.0\n"
            "  rtmp_bypass_transcoding_cpu_cost: 0.01\nplugins:\n  enable: [input-rtmp, output-file]\n"
            % (api, KEY, SECRET, rtmp, os.path.join(work, "rec")))
env = dict(os.environ)
env["SLUICE_PLUGIN_PATH"] = ":".join(os.path.join(src, build, "plugins", p) for p in ("input-rtmp", "output-file"))
svc = subprocess.Popen([os.path.join(src, build, "core", "sluice"), "--config", cfg], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pub = None
try:
    for _ in range(100):
        try:
            call(api, "Ingress", "ListIngress", {}, "ingressAdmin")
            break
        except Exception:
            time.sleep(0.05)
    info = call(api, "Ingress", "CreateIngress", {"inputType": "RTMP_INPUT", "roomName": "bench",
                                                 "participantIdentity": "cam"}, "ingressAdmin")
    pub = subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                            "-f", "lavfi", "-i", "sine", "-t", "600", "-c:v", "libx264", "-preset", "ultrafast",
                            "-g", "30", "-c:a", "aac", "-f", "flv", info["url"] + "/" + info["streamKey"]],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        items = call(api, "Ingress", "ListIngress", {"ingressId": info["ingressId"]}, "ingressAdmin")["items"]
        if items[0].get("state", {}).get("status") == "ENDPOINT_PUBLISHING":
            break
        time.sleep(0.1)
    active, start_call = [], []
    for i in range(N):
        t0 = time.perf_counter()
        eg = call(api, "Egress", "StartParticipantEgress",
                  {"roomName": "bench", "identity": "cam", "fileOutputs": [{"filepath": "b%03d.mp4" % i}]}, "roomRecord")
        t1 = time.perf_counter()
        while True:
            e = call(api, "Egress", "ListEgress", {"egressId": eg["egressId"]}, "roomRecord")["items"][0]
            if e.get("status") == "EGRESS_ACTIVE":
                break
            if e.get("status") in ("EGRESS_FAILED", "EGRESS_ABORTED"):
                raise SystemExit("egress failed: %s" % e)
            time.sleep(0.002)
        t2 = time.perf_counter()
        start_call.append((t1 - t0) * 1000)
        active.append((t2 - t0) * 1000)
        call(api, "Egress", "StopEgress", {"egressId": eg["egressId"]}, "roomRecord")
    q = statistics.quantiles(active, n=20)
    lines = [
        "sluice API latency on a live RTMP session, %s" % time.strftime("%Y-%m-%d"),
        "machine: %d cores; %d participant egresses (MP4) started and stopped one after another" % (os.cpu_count(), N),
        "StartParticipantEgress call (ms): p50 %.1f, p95 %.1f" % (statistics.median(start_call),
                                                                   statistics.quantiles(start_call, n=20)[18]),
        "start -> EGRESS_ACTIVE (ms): p50 %.1f, p95 %.1f, max %.1f (target p95 <= 300)" % (statistics.median(active), q[18], max(active)),
    ]
    out = "\n".join(lines) + "\n"
    os.makedirs(os.path.join(src, "bench", "results"), exist_ok=True)
    with open(os.path.join(src, "bench", "results", "api.txt"), "w") as f:
        f.write(out)
    print(out, end="")
finally:
    if pub:
        pub.kill()
    svc.terminate()
    try:
        svc.wait(10)
    except subprocess.TimeoutExpired:
        svc.kill()
    shutil.rmtree(work, ignore_errors=True)
