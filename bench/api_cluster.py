"""API latency and throughput of a two-worker sluice cluster on one redis-server.

Each part runs on a fresh cluster: a redis-server of its own (loopback, nothing persisted),
workers A and B on it, two RTMP ingresses created through A's API, ffmpeg publishing room on-b
to B and room on-a to A (as bench/api.py publishes).
1. latency: N participant egresses (MP4) of room on-b asked of A (each is forwarded to B, the
   owner), one after another; each timed from sending StartParticipantEgress until ListEgress on
   A reports EGRESS_ACTIVE (polled every 2 ms), then stopped through A.
2. throughput: K client threads each looping StartParticipantEgress then StopEgress, rooms on-a
   and on-b in turn, asked of A and B in turn (half the pairs are forwarded; "mixed") and, for
   comparison, of the room's owner ("owner"); W warm-up pairs then P measured ones. Jobs per
   worker = MP4s in each output_dir; how they ended = ListEgress on A; CPU time of every process
   in the measured window from /proc/PID/stat; whether both publishers still send afterwards.
Writes bench/results/api-cluster.txt. A measurement, not a test.
Usage: bench/api-cluster.sh [build]   (env: N=40 P=200 W=20 KS="1 8")
"""
import base64
import hashlib
import hmac
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

build = sys.argv[1] if len(sys.argv) > 1 else "build"
src = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
N, P, W = int(os.environ.get("N", "40")), int(os.environ.get("P", "200")), int(os.environ.get("W", "20"))
KS = [int(k) for k in os.environ.get("KS", "1 8").split()]
KEY, SECRET = "benchkey", "bench-secret-0123456789-0123456789"
TICK = os.sysconf("SC_CLK_TCK")
FINAL = ("EGRESS_COMPLETE", "EGRESS_FAILED", "EGRESS_ABORTED")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_token():
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    claims = b64(json.dumps({"iss": KEY, "nbf": now - 5, "exp": now + 1800,
                             "video": {"ingressAdmin": True, "roomRecord": True}}).encode())
    sig = b64(hmac.new(SECRET.encode(), (header + "." + claims).encode(), hashlib.sha256).digest())
    return header + "." + claims + "." + sig


TOKEN = make_token()  # one token for the run, so the client does not time HMACs


def call(port, service, method, body):
    req = urllib.request.Request("http://127.0.0.1:%d/twirp/livekit.%s/%s" % (port, service, method),
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError("%s/%s on :%d: %d %s" % (service, method, port, e.code, e.read().decode()[:200]))


def proc_tree(pid):
    """{pid: utime+stime seconds} of a process and its live descendants (a worker's handlers)."""
    table = {}
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            table[int(d)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
        except (OSError, ValueError):
            pass
    tree, grew = {pid}, True
    while grew:
        grew = False
        for p, (ppid, _) in table.items():
            if ppid in tree and p not in tree:
                tree.add(p)
                grew = True
    return {p: table[p][1] for p in tree if p in table}


def cpu_s(pid):
    return sum(proc_tree(pid).values())


def pct(xs, q):
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else xs[0]


class Cluster:
    """redis-server + workers A and B + rooms on-a (published to A) and on-b (published to B)."""

    def __init__(self):
        self.procs, self.w = {}, {}
        self.work = tempfile.mkdtemp(prefix="sluice-bench-cluster-")

    def start(self):
        rport = free_port()
        self.procs["redis"] = subprocess.Popen(
            ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", rport), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        env = dict(os.environ)
        env["SLUICE_PLUGIN_PATH"] = ":".join(os.path.join(src, build, "plugins", p) for p in ("input-rtmp", "output-file"))
        for name in ("a", "b"):
            api, rtmp, out = free_port(), free_port(), os.path.join(self.work, "out-" + name)
            cfg, log = os.path.join(self.work, name + ".yaml"), os.path.join(self.work, name + ".log")
            with open(cfg, "w") as f:
                f.write("node_id: worker-%s\napi_port: %d\napi_key: %s\napi_secret: %s\nrtmp_port: %d\n"
                        "bind_address: 127.0.0.1\noutput_dir: %s\nlogging:\n  level: warn\n"
                        "redis:\n  address: 127.0.0.1:%d\nplugins:\n  enable: [input-rtmp, output-file]\n"
                        "cpu_cost:\n  max_cpu_utilization: 1.0\n  rtmp_bypass_transcoding_cpu_cost: 0.01\n"
                        "  participant_cpu_cost: 0.0\n" % (name, api, KEY, SECRET, rtmp, out, rport))
            with open(log, "w") as logf:
                self.procs[name] = subprocess.Popen([os.path.join(src, build, "core", "sluice"), "--config", cfg],
                                                    env=env, stdout=logf, stderr=logf)
            self.w[name] = {"api": api, "rtmp": rtmp, "out": out, "log": log}
        for name in ("a", "b"):
            for _ in range(300):
                try:
                    call(self.w[name]["api"], "Ingress", "ListIngress", {})
                    break
                except Exception:
                    if self.procs[name].poll() is not None:
                        raise SystemExit("worker %s exited: %s" % (name, open(self.w[name]["log"]).read()[-2000:]))
                    time.sleep(0.05)
        self.A, self.B = self.w["a"]["api"], self.w["b"]["api"]
        for on in ("b", "a"):  # both made through A
            info = call(self.A, "Ingress", "CreateIngress",
                        {"inputType": "RTMP_INPUT", "roomName": "on-" + on, "participantIdentity": "cam"})
            self.procs["ffmpeg-" + on] = subprocess.Popen(
                ["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi",
                 "-i", "sine", "-t", "900", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac",
                 "-f", "flv", "rtmp://127.0.0.1:%d/live/%s" % (self.w[on]["rtmp"], info["streamKey"])],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while True:  # publishing as both workers see it: the bus carries it
                st = [call(p, "Ingress", "ListIngress", {"ingressId": info["ingressId"]})["items"] for p in (self.A, self.B)]
                if all(s and s[0].get("state", {}).get("status") == "ENDPOINT_PUBLISHING" for s in st):
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("ingress on-%s not publishing on both workers: %s" % (on, st))
                time.sleep(0.1)
        time.sleep(1)
        return self

    def settle(self, ids, reasons, wait=45):
        """How egresses `ids` ended, as ListEgress on A has them, once all are final (a stopped
        output that does not finalise is failed by its worker after 30 s) or after `wait` s."""
        deadline = time.monotonic() + wait
        while True:
            final = {e["egressId"]: e for e in call(self.A, "Egress", "ListEgress", {})["items"]}
            if all(final.get(i, {}).get("status") in FINAL for i in ids) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        n = {}
        for i in ids:
            st = final.get(i, {}).get("status", "missing").replace("EGRESS_", "").lower()
            n[st] = n.get(st, 0) + 1
            if final.get(i, {}).get("error"):
                reasons.add(final[i]["error"])
        return ", ".join("%s %d" % kv for kv in sorted(n.items()))

    def ran_on(self, prefix):
        """Jobs per worker: the MP4s (made when an egress starts) in its output_dir."""
        return {w: len([f for f in os.listdir(self.w[w]["out"]) if f.startswith(prefix)])
                if os.path.isdir(self.w[w]["out"]) else 0 for w in ("a", "b")}

    def publishers_flowing(self):
        """Whether each ffmpeg still sends: it blocks (no CPU) when its session stops reading."""
        before = {on: cpu_s(self.procs["ffmpeg-" + on].pid) for on in ("a", "b")}
        time.sleep(2)
        return "/".join("yes" if cpu_s(self.procs["ffmpeg-" + on].pid) - before[on] >= 0.05 else "NO" for on in ("a", "b"))

    def stop(self):
        for name in ("ffmpeg-a", "ffmpeg-b"):
            if name in self.procs:
                self.procs[name].kill()
        handlers = [p for name in ("a", "b") if name in self.procs
                    for p in proc_tree(self.procs[name].pid) if p != self.procs[name].pid]
        for name in ("a", "b"):
            if name in self.procs:
                self.procs[name].terminate()
                try:
                    self.procs[name].wait(10)
                except subprocess.TimeoutExpired:
                    self.procs[name].kill()
        for pid in handlers:  # left running when their worker had to be SIGKILLed
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if b"sluice" in f.read():
                        os.kill(pid, 9)
            except (OSError, ProcessLookupError):
                pass
        if "redis" in self.procs:
            self.procs["redis"].kill()
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.work, ignore_errors=True)


def latency(c, reasons):
    active, start_call, ids = [], [], []
    for i in range(N):
        t0 = time.perf_counter()
        eg = call(c.A, "Egress", "StartParticipantEgress",
                  {"roomName": "on-b", "identity": "cam", "fileOutputs": [{"filepath": "lat%03d.mp4" % i}]})
        t1 = time.perf_counter()
        while True:
            e = call(c.A, "Egress", "ListEgress", {"egressId": eg["egressId"]})["items"][0]
            if e.get("status") == "EGRESS_ACTIVE":
                break
            if e.get("status") in FINAL:
                raise SystemExit("egress failed: %s" % e)
            time.sleep(0.002)
        t2 = time.perf_counter()
        ids.append(eg["egressId"])
        start_call.append((t1 - t0) * 1000)
        active.append((t2 - t0) * 1000)
        call(c.A, "Egress", "StopEgress", {"egressId": eg["egressId"]})
    return {"start_call": start_call, "active": active, "ran": c.ran_on("lat"), "ended": c.settle(ids, reasons),
            "flowing": c.publishers_flowing()}


def pairs(c, k, count, tag, mode):
    lock, state, lats, errors, ids = threading.Lock(), {"next": 0}, [], [], []

    def client():
        while True:
            with lock:
                j = state["next"]
                state["next"] += 1
            if j >= count:
                return
            owner = "ab"[(j // 2) % 2]  # rooms on-a, on-a, on-b, on-b, ...
            port = c.w[owner]["api"] if mode == "owner" else (c.A, c.B)[j % 2]  # mixed: A, B, A, B, ...
            t0 = time.perf_counter()
            try:
                eg = call(port, "Egress", "StartParticipantEgress", {
                    "roomName": "on-" + owner, "identity": "cam", "fileOutputs": [{"filepath": "%s-%04d.mp4" % (tag, j)}]})
                with lock:
                    ids.append(eg["egressId"])
                call(port, "Egress", "StopEgress", {"egressId": eg["egressId"]})
            except Exception as e:
                with lock:
                    errors.append(str(e))
                continue
            with lock:
                lats.append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=client) for _ in range(k)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, lats, errors, ids


def throughput(c, k, mode, reasons):
    tag = "%s%d" % (mode, k)
    c.settle(pairs(c, k, W, "warm-" + tag, mode)[3], reasons)
    pids = {n: p.pid for n, p in c.procs.items()}
    before = {n: cpu_s(pid) for n, pid in pids.items()}
    before["client"] = time.process_time()
    secs, lats, errors, ids = pairs(c, k, P, tag, mode)
    used = {n: cpu_s(pid) - before[n] for n, pid in pids.items()}
    used["client"] = time.process_time() - before["client"]
    return {"k": k, "mode": mode, "secs": secs, "lats": lats or [0.0], "errors": errors, "cpu": used,
            "ran": c.ran_on(tag + "-"), "ended": c.settle(ids, reasons), "flowing": c.publishers_flowing()}


load0 = " ".join(open("/proc/loadavg").read().split()[:3])
binary = os.path.join(src, build, "core", "sluice")
tree = subprocess.run(["git", "-C", src, "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(binary)))
reasons, rows, lat = set(), [], None
for part in [None] + [(mode, k) for mode in ("mixed", "owner") for k in KS]:
    c = Cluster()
    try:
        c.start()
        if part is None:
            lat = latency(c, reasons)
        else:
            rows.append(throughput(c, part[1], part[0], reasons))
    finally:
        c.stop()

redis_v = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
L = [
    "sluice API on a two-worker cluster (bench/api-cluster.sh), %s" % time.strftime("%Y-%m-%d %H:%M"),
    "machine: %d cores (nproc), Linux %s; redis-server %s; load average at start %s, at the end %s"
    % (os.cpu_count(), platform.release(), redis_v.replace("v=", ""), load0, " ".join(open("/proc/loadavg").read().split()[:3])),
    "sluice: %s/core/sluice built %s; tree at the start %s" % (build, built, tree),
    "setup (fresh for each part and each row below): own redis-server (loopback, --save '' --appendonly no),",
    "       workers A and B on it (own API/RTMP ports and output_dirs, logging warn, cpu costs ~0); two RTMP",
    "       ingresses created through A; ffmpeg (testsrc2 1280x720 30 fps, x264 ultrafast, -re) publishes",
    "       room on-b to B and room on-a to A. Client: Python urllib, one HTTP connection per call.",
    "       'publishers flowing after' = each ffmpeg (a/b) still used CPU in the 2 s after the part; an ffmpeg",
    "       whose session stopped reading blocks in its socket write and uses none.",
    "",
    "1. latency: %d participant egresses (MP4) of room on-b asked of A (forwarded over the bus to B, the" % N,
    "   owner), one after another; start -> EGRESS_ACTIVE = from sending StartParticipantEgress until",
    "   ListEgress on A reports EGRESS_ACTIVE (polled every 2 ms); then StopEgress through A.",
    "   jobs ran on A %(a)d, B %(b)d" % lat["ran"] + "; ended: %s; publishers flowing after: %s" % (lat["ended"], lat["flowing"]),
    "",
    "| measure (ms)                  |  p50  |  p95  |  max  |",
    "|---|---|---|---|",
    "| StartParticipantEgress call   | %5.1f | %5.1f | %5.1f |" % (statistics.median(lat["start_call"]), pct(lat["start_call"], 95), max(lat["start_call"])),
    "| start -> EGRESS_ACTIVE on A   | %5.1f | %5.1f | %5.1f |" % (statistics.median(lat["active"]), pct(lat["active"], 95), max(lat["active"])),
    "",
    "target: start -> ACTIVE p95 <= 300 ms",
    "",
    "2. throughput: K client threads, each looping: StartParticipantEgress, then StopEgress of it to the same",
    "   worker. Rooms alternate on-a, on-a, on-b, on-b, ... so each worker owns half the jobs. Asked of:",
    "   mixed = A, B, A, B, ... (half the pairs are forwarded to the owner over the bus, start and stop);",
    "   owner = the room's owner (nothing forwarded; for comparison). %d warm-up pairs, then %d measured." % (W, P),
    "   pair ms = one start + stop. jobs A / B = the MP4s in A's and B's output_dir; ended = final status",
    "   in ListEgress on A (45 s allowed). CPU-s = utime+stime in the measured window (worker = the service",
    "   and its session-handler processes; client = this Python process).",
    "",
    "| asked | K | pairs | errors | secs | pairs/s | pair p50 ms | p95 ms | max ms | jobs A / B | ended | CPU-s A / B / redis / client / 2 ffmpeg | CPU busy | publishers flowing after |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]
for r in rows:
    c = r["cpu"]
    L.append("| %s | %d | %d | %d | %.2f | %.0f | %.1f | %.1f | %.1f | %d / %d | %s | %.2f / %.2f / %.2f / %.2f / %.2f | %.0f %% | %s |" % (
        r["mode"], r["k"], len(r["lats"]), len(r["errors"]), r["secs"], len(r["lats"]) / r["secs"],
        statistics.median(r["lats"]), pct(r["lats"], 95), max(r["lats"]), r["ran"]["a"], r["ran"]["b"], r["ended"],
        c["a"], c["b"], c["redis"], c["client"], c["ffmpeg-a"] + c["ffmpeg-b"],
        100 * sum(c.values()) / (r["secs"] * os.cpu_count()), r["flowing"]))
L += [
    "",
    "CPU busy = the listed processes' CPU-s / (secs x %d cores); the rest is idle or other users' work" % os.cpu_count(),
    "(CPU-s come in 10 ms ticks: +-0.01 s per process, so CPU busy is rough for windows under 1 s).",
    "failure reasons seen: %s" % ("; ".join(sorted(reasons)) if reasons else "none"),
    "target: >= 500 jobs/s across 2 workers is the issue's module-level (job bus) target, which bench/bus.sh",
    "measures (bench/results/bus.txt). Through the API each pair is two HTTP calls, and each job adds an",
    "output bin (queue + mp4mux + filesink) to the live GStreamer pipeline in the session's handler process",
    "and takes it out again on stop, with IPC service <-> handler both ways: the API path is expected to be",
    "far slower than the bus alone.",
]
for r in rows:
    if r["errors"]:
        L.append("%s K=%d first error: %s" % (r["mode"], r["k"], r["errors"][0]))
out = "\n".join(L) + "\n"
print(out, end="")
os.makedirs(os.path.join(src, "bench", "results"), exist_ok=True)
with open(os.path.join(src, "bench", "results", "api-cluster.txt"), "w") as f:
    f.write(out)
