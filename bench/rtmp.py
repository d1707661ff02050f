"""RTMP ingest, side by side: sluice against nginx + libnginx-mod-rtmp (`record all`).

Called by bench/rtmp.sh, which makes the test media and kills by pid whatever this driver
started and left behind. For every N in NS, every run and every server configuration (they are
interleaved, so host noise hits them alike):

  1. start the server on free loopback ports (nginx from bench/nginx-rtmp.conf.in; sluice with
     one static ingress per publisher, s1..sN with stream keys key1..keyN);
  2. start N independent publishers,
     `ffmpeg -re -stream_loop -1 -i src720.flv -map 0 -c copy -f flv rtmp://127.0.0.1:PORT/app/keyK`;
  3. wait until all N publish (nginx: rtmp_stat; sluice: sluice_sessions_active and N handler
     processes), then SETTLE seconds more;
  4. snapshot, wait DUR seconds, snapshot again. CPU is se.sum_exec_runtime summed over
     /proc/PID/task/*/sched (utime+stime from /proc/PID/stat as a cross-check). nginx is its
     worker process; sluice is the service process plus every handler, found as children of the
     service through /proc. Memory is read at the end of the window: VmRSS, and for handlers also
     the PSS from smaps_rollup;
  5. pace = media-seconds received per wall second per stream: bytes received by the server
     (sluice_ingress_bytes_in_total; rtmp_stat bytes_in) and bytes recorded (sluice's MP4s,
     nginx's FLVs) over the window, divided by the source file's byte rate. 1.00 = real time.

CPU per stream per media-second assumes each stream is one media-second per wall second (-re),
which the pace columns check. Nothing here asserts; targets are reported next to the figures.
"""
import argparse
import glob
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
import time
import urllib.request
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_ROOT = os.path.dirname(HERE)

ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--tmp", required=True)
ap.add_argument("--src", required=True)
ap.add_argument("--pidfile", required=True)
args = ap.parse_args()

NS = [int(x) for x in os.environ.get("NS", "1 10 50").split()]
RUNS = int(os.environ.get("RUNS", "1"))
DUR = float(os.environ.get("DUR", "20"))
SETTLE = float(os.environ.get("SETTLE", "5"))
MODES = os.environ.get("MODES", "mp4hls mp4").split()
START_TIMEOUT = float(os.environ.get("START_TIMEOUT", "60"))
RESULT = os.environ.get("RESULT", os.path.join(SRC_ROOT, "bench", "results", "rtmp.txt"))

build = args.build if os.path.isabs(args.build) else os.path.join(SRC_ROOT, args.build)
sluice_bin = os.path.join(build, "core", "sluice")
plugin_rtmp = os.path.join(build, "plugins", "input-rtmp")
plugin_file = os.path.join(build, "plugins", "output-file")
tmp = os.path.abspath(args.tmp)
notes = []  # anything abnormal, printed under the tables

if not os.path.exists(os.path.join(plugin_rtmp, "sluice-input-rtmp.so")):
    sys.exit("rtmp.py: %s/sluice-input-rtmp.so is missing; build first (ninja -C %s)" % (plugin_rtmp, build))
if not os.path.exists(os.path.join(plugin_file, "sluice-output-file.so")):
    if any(m != "none" for m in MODES):
        notes.append("output-file plugin not built: sluice ran with input-rtmp only (mode none)")
    MODES = ["none"]


# ---- processes we start ------------------------------------------------------------------------

started = []  # Popen objects, every one of them stopped in cleanup()


def remember_pid(pid):
    with open(args.pidfile, "a") as f:
        f.write("%d\n" % pid)


def spawn(argv, log, **kw):
    out = open(log, "ab")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, **kw)
    out.close()
    remember_pid(p.pid)
    started.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=10.0):
    """Signal one process we started and reap it; SIGKILL after the timeout."""
    if p.poll() is not None:
        return p.returncode
    try:
        p.send_signal(sig)
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def kill_pids(pids):
    """SIGKILL processes that are not our direct children (sluice handlers), by pid."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def cleanup():
    for p in reversed(started):
        if p.poll() is None:
            p.kill()
            p.wait()
    started.clear()


def on_signal(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


signal.signal(signal.SIGTERM, on_signal)


# ---- /proc readers -----------------------------------------------------------------------------

def sched_ms(pid):
    """se.sum_exec_runtime (ms) summed over the live threads of pid; None if it is gone."""
    total = 0.0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        return None
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/sched" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("se.sum_exec_runtime"):
                        total += float(line.split(":")[1])
                        break
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


TICK = os.sysconf("SC_CLK_TCK")


def ticks_ms(pid):
    """utime+stime of pid (all threads, including exited ones) in ms, 10 ms resolution."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000.0 / TICK


def children(pid):
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
    except FileNotFoundError:
        pass
    return kids


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return None


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return None


def host_busy_s():
    """(busy, steal) seconds of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq
    return busy / TICK, v[7] / TICK


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def run_out(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "(%s)" % e


def probe_duration(path):
    out = run_out(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path])
    try:
        return float(out)
    except ValueError:
        return None


# ---- source ------------------------------------------------------------------------------------

SRC = os.path.abspath(args.src)
SRC_DUR = probe_duration(SRC)
SRC_RATE = os.path.getsize(SRC) / SRC_DUR  # bytes per media-second, FLV framing included


def start_publishers(port, n, logdir):
    pubs = []
    for k in range(1, n + 1):
        url = "rtmp://127.0.0.1:%d/app/key%d" % (port, k)
        pubs.append(spawn(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
                           "-stream_loop", "-1", "-i", SRC, "-map", "0", "-c", "copy", "-f", "flv", url],
                          os.path.join(logdir, "pub%d.log" % k)))
    return pubs


# ---- servers -----------------------------------------------------------------------------------

class Nginx:
    label = "nginx-rtmp record all"
    key = "nginx"

    def __init__(self, n, workdir):
        self.n = n
        self.dir = workdir
        self.rec = os.path.join(workdir, "rec")
        os.makedirs(self.rec)
        os.chmod(self.rec, 0o1777)  # run as root, nginx's worker drops to an unprivileged user
        self.port = free_port()
        self.http = free_port()
        with open(os.path.join(HERE, "nginx-rtmp.conf.in")) as f:
            conf = f.read()
        for k, v in {"@SCRATCH@": workdir, "@RECORD_PATH@": self.rec,
                     "@RTMP_PORT@": str(self.port), "@HTTP_PORT@": str(self.http)}.items():
            conf = conf.replace(k, v)
        self.conf = os.path.join(workdir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None
        self.worker = None

    def start(self):
        self.proc = spawn(["nginx", "-p", self.dir, "-e", os.path.join(self.dir, "nginx-error.log"),
                           "-c", self.conf], os.path.join(self.dir, "nginx.out"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: %s" % tail(os.path.join(self.dir, "nginx-error.log")))
            kids = children(self.proc.pid)
            if kids:
                try:
                    self.stat()
                    self.worker = kids[0]
                    remember_pid(self.worker)
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("nginx did not come up")

    def stat(self):
        return ET.fromstring(http_get("http://127.0.0.1:%d/stat" % self.http))

    def publishing(self):
        root = self.stat()
        return sum(1 for s in root.iter("stream") if s.find("publishing") is not None)

    def pids(self):
        return {"service": [self.worker], "handlers": []}

    def bytes_in(self):
        root = self.stat()
        return sum(int(s.findtext("bytes_in", "0")) for s in root.iter("stream"))

    def recorded_bytes(self):
        return sum(os.path.getsize(p) for p in glob.glob(os.path.join(self.rec, "*.flv")))

    def stop(self):
        # SIGQUIT: graceful, the worker closes its recordings.
        rc = stop(self.proc, signal.SIGQUIT)
        kill_pids([self.worker])
        return rc

    def check(self):
        """Problems seen after the run (from the error log), and a probe of one recording."""
        errs = [l for l in open(os.path.join(self.dir, "nginx-error.log"), errors="replace")
                if "[error]" in l or "[crit]" in l or "[alert]" in l or "[emerg]" in l]
        return errs, probe_all(glob.glob(os.path.join(self.rec, "*.flv")), "FLV")


class Sluice:
    def __init__(self, mode, n, workdir):
        self.mode = mode
        self.key = "sluice-" + mode
        self.label = {"mp4hls": "sluice MP4+HLS", "mp4": "sluice MP4", "none": "sluice (no outputs)"}[mode]
        self.n = n
        self.dir = workdir
        self.out = os.path.join(workdir, "out")
        self.port, self.health, self.prom = free_port(), free_port(), free_port()
        lines = ["rtmp_port: %d" % self.port, "health_port: %d" % self.health,
                 "prometheus_port: %d" % self.prom, "bind_address: 127.0.0.1",
                 "output_dir: %s" % self.out, "logging: {level: warn}",
                 "cpu_cost: {rtmp_bypass_transcoding_cpu_cost: 0}",
                 "plugins:", "  enable: [input-rtmp%s]" % ("" if mode == "none" else ", output-file"),
                 "ingresses:"]
        for k in range(1, n + 1):
            lines += ["  - name: s%d" % k, "    stream_key: key%d" % k, "    room_name: s%d" % k]
            if mode != "none":
                lines += ["    outputs:", '      file: {filepath: "bench/{room_name}.mp4"}']
            if mode == "mp4hls":
                lines += ['      segments: {filename_prefix: "bench/hls/{room_name}", '
                          'playlist_name: "{room_name}.m3u8", segment_duration: 4}']
        self.conf = os.path.join(workdir, "sluice.yaml")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self.log = os.path.join(workdir, "sluice.log")
        self.seen_handlers = set()

    def start(self):
        env = dict(os.environ)
        env["SLUICE_PLUGIN_PATH"] = plugin_rtmp + ":" + plugin_file
        for k in ("SLUICE_CONFIG_FILE", "SLUICE_CONFIG_BODY"):
            env.pop(k, None)
        self.proc = spawn([sluice_bin, "--config", self.conf], self.log, env=env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sluice exited: %s" % tail(self.log))
            try:
                http_get("http://127.0.0.1:%d/" % self.health)
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("sluice did not come up")

    def metrics(self):
        m = {}
        for line in http_get("http://127.0.0.1:%d/metrics" % self.prom).splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                m[name] = float(value)
        return m

    def handlers(self):
        hs = children(self.proc.pid)
        for h in hs:
            if h not in self.seen_handlers:
                self.seen_handlers.add(h)
                remember_pid(h)
        return hs

    def publishing(self):
        active = self.metrics().get("sluice_sessions_active", 0)
        return min(int(active), len(self.handlers()))

    def pids(self):
        return {"service": [self.proc.pid], "handlers": self.handlers()}

    def bytes_in(self):
        return sum(v for k, v in self.metrics().items() if k.startswith("sluice_ingress_bytes_in_total"))

    def recorded_bytes(self):
        return sum(os.path.getsize(p) for p in glob.glob(os.path.join(self.out, "bench", "*.mp4")))

    def stop(self):
        # SIGINT stops sessions cleanly (outputs finalised) and exits.
        rc = stop(self.proc, signal.SIGINT, timeout=20)
        alive = [h for h in self.seen_handlers if os.path.exists("/proc/%d" % h)]
        kill_pids(alive)
        if alive:
            notes.append("%s: %d handler(s) still alive after the service exited; killed" % (self.key, len(alive)))
        return rc

    def check(self):
        lines = [l.rstrip() for l in open(self.log, errors="replace")]
        # The admission start-up line about transcoding jobs that cannot fit is expected here.
        errs = [l for l in lines if re.search(r"\b(warn|error|critical)\b", l) and "admission:" not in l]
        if self.mode == "none":
            return errs, "no outputs"
        s = probe_all(glob.glob(os.path.join(self.out, "bench", "*.mp4")), "MP4")
        if self.mode == "mp4hls":
            ts = glob.glob(os.path.join(self.out, "bench", "hls", "*.ts"))
            m3u8 = glob.glob(os.path.join(self.out, "bench", "hls", "*.m3u8"))
            s += "; %d playlists, %d segments" % (len(m3u8), len(ts))
        return errs, s


def probe_all(files, kind):
    """How many recordings ffprobe reads, and their duration range."""
    durs = [probe_duration(f) for f in files]
    ok = [d for d in durs if d]
    if not ok:
        return "%d %s, none readable" % (len(files), kind)
    return "%d/%d %s readable, %.1f-%.1f s" % (len(ok), len(files), kind, min(ok), max(ok))


def summarize_log_lines(lines):
    """Distinct log problems with counts: timestamps and session ids stripped."""
    counts = {}
    for l in lines:
        k = re.sub(r"^\S+Z\s+", "", l)
        k = re.sub(r"RT_\w+", "RT_*", k)
        k = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:*", k)
        counts[k] = counts.get(k, 0) + 1
    return "; ".join("%dx \"%s\"" % (c, k[:240]) for k, c in sorted(counts.items(), key=lambda x: -x[1])[:3])


def tail(path, n=5):
    try:
        return " | ".join(l.rstrip() for l in open(path, errors="replace").readlines()[-n:])
    except OSError:
        return "(no log)"


# ---- one measurement ---------------------------------------------------------------------------

def snapshot(server, pubs):
    pids = server.pids()
    snap = {"t": time.monotonic(), "host": host_busy_s(), "bytes": server.bytes_in(),
            "rec": server.recorded_bytes(), "cpu": {}, "ticks": {}, "pub": 0.0}
    for role, ps in pids.items():
        for pid in ps:
            c = sched_ms(pid)
            if c is not None:
                snap["cpu"][pid] = (role, c)
                snap["ticks"][pid] = ticks_ms(pid)
    for p in pubs:
        c = sched_ms(p.pid)
        snap["pub"] += c or 0.0
    return snap


def measure(server, n, run):
    rec = {"server": server.key, "label": server.label, "n": n, "run": run}
    server.start()
    pubs = start_publishers(server.port, n, server.dir)
    t0 = time.monotonic()
    got = 0
    while time.monotonic() - t0 < START_TIMEOUT:
        try:
            got = server.publishing()
        except OSError:
            got = 0
        if got >= n:
            break
        dead = [p for p in pubs if p.poll() is not None]
        if dead:
            break
        time.sleep(0.2)
    rec["ramp_s"] = time.monotonic() - t0
    if got < n:
        notes.append("%s N=%d run %d: only %d of %d streams publishing after %.0f s; measured anyway"
                     % (server.key, n, run, got, n, rec["ramp_s"]))
    time.sleep(SETTLE)
    a = snapshot(server, pubs)
    time.sleep(DUR)
    b = snapshot(server, pubs)
    wall = b["t"] - a["t"]
    media_s = n * wall

    # CPU over the window: pids present at both ends; a pid only in b is counted from zero.
    cpu = {"service": 0.0, "handlers": 0.0}
    ticks = 0.0
    for pid, (role, c) in b["cpu"].items():
        c0 = a["cpu"].get(pid, (role, 0.0))[1]
        cpu[role] += c - c0
        t1, t0_ = b["ticks"].get(pid), a["ticks"].get(pid) or 0.0
        ticks += (t1 or 0.0) - t0_
    lost = [pid for pid in a["cpu"] if pid not in b["cpu"]]
    new = [pid for pid in b["cpu"] if pid not in a["cpu"]]
    if lost or new:
        notes.append("%s N=%d run %d: %d process(es) gone and %d new during the window"
                     % (server.key, n, run, len(lost), len(new)))
    rec["cpu_total"] = (cpu["service"] + cpu["handlers"]) / media_s
    rec["cpu_service"] = cpu["service"] / media_s
    rec["cpu_handlers"] = cpu["handlers"] / media_s
    rec["cpu_ticks"] = ticks / media_s
    rec["pub_cpu"] = (b["pub"] - a["pub"]) / media_s
    busy = b["host"][0] - a["host"][0]
    rec["steal_s"] = b["host"][1] - a["host"][1]
    ours = (cpu["service"] + cpu["handlers"] + b["pub"] - a["pub"]) / 1000.0
    rec["foreign_cores"] = max(0.0, busy - ours) / wall  # everything else on the host, in cores
    rec["pace_in"] = (b["bytes"] - a["bytes"]) / SRC_RATE / media_s
    rec["pace_rec"] = (b["rec"] - a["rec"]) / SRC_RATE / media_s

    # Memory at the end of the window.
    pids = server.pids()
    rec["service_rss"] = sum(status_kb(p, "VmRSS") or 0 for p in pids["service"]) / 1024.0
    rec["service_pss"] = sum(pss_kb(p) or 0 for p in pids["service"]) / 1024.0
    hs = pids["handlers"]
    rec["handlers"] = len(hs)
    if hs:
        rec["handler_rss"] = statistics.mean(status_kb(h, "VmRSS") or 0 for h in hs) / 1024.0
        rec["handler_pss"] = statistics.mean(pss_kb(h) or 0 for h in hs) / 1024.0
        rec["handler_rss_max"] = max(status_kb(h, "VmRSS") or 0 for h in hs) / 1024.0
        rec["handler_threads"] = statistics.mean(status_kb(h, "Threads") or 0 for h in hs)
    rec["pubs_dead"] = sum(1 for p in pubs if p.poll() is not None)
    if isinstance(server, Sluice):
        m = server.metrics()
        rec["publish_status"] = {k: v for k, v in m.items() if k.startswith("sluice_ingress_publish_status_total")}
        rec["ended"] = {k: v for k, v in m.items() if k.startswith("sluice_ingress_sessions_ended_total")}
        bad = {k: v for k, v in rec["publish_status"].items() if 'status="success"' not in k and v}
        if bad or rec["ended"]:
            notes.append("%s N=%d run %d: publish failures %s, sessions ended during the run %s"
                         % (server.key, n, run, bad or "none", rec["ended"] or "none"))

    # Tear down: publishers first (they unpublish), then the server; then check what it wrote.
    # The UTC times go into the raw results to line up with the server's log.
    rec["t_pubs_stop"] = time.strftime("%H:%M:%S", time.gmtime()) + ".%03dZ" % (time.time() % 1 * 1000)
    for p in pubs:
        p.send_signal(signal.SIGTERM)
    for p in pubs:
        stop(p, signal.SIGTERM, timeout=5)
        started.remove(p)
    rec["t_server_stop"] = time.strftime("%H:%M:%S", time.gmtime()) + ".%03dZ" % (time.time() % 1 * 1000)
    rc = server.stop()
    started.remove(server.proc)
    rec["exit"] = rc
    errs, outcheck = server.check()
    rec["outcheck"] = outcheck
    rec["log_problems"] = len(errs)
    if errs:
        notes.append("%s N=%d run %d: %d warning/error line(s) in the server log: %s"
                     % (server.key, n, run, len(errs), summarize_log_lines(errs)))
    if rec["pubs_dead"]:
        notes.append("%s N=%d run %d: %d publisher(s) had exited before the end of the window: %s"
                     % (server.key, n, run, rec["pubs_dead"], tail(os.path.join(server.dir, "pub1.log"), 2)))
    if rc not in (0, None):
        notes.append("%s N=%d run %d: server exit status %s" % (server.key, n, run, rc))
    return rec


# ---- report ------------------------------------------------------------------------------------

def med(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None, None, None
    return statistics.median(vals), min(vals), max(vals)


def fmt(vals, prec=2, spread=True):
    m, lo, hi = med(vals)
    if m is None:
        return "-"
    s = "%.*f" % (prec, m)
    if spread and len([v for v in vals if v is not None]) > 1:
        s += " [%.*f..%.*f]" % (prec, lo, prec, hi)
    return s


def table(headers, rows):
    w = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (x + 2) for x in w) + "|"] + [line(r) for r in rows])


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def dpkg_version(pkg):
    return run_out(["dpkg-query", "-W", "-f", "${Version}", pkg])


def report(results, started_at, elapsed):
    keys = ["nginx"] + ["sluice-" + m for m in MODES]
    labels = {r["server"]: r["label"] for r in results}
    by = lambda key, n: [r for r in results if r["server"] == key and r["n"] == n]
    out = []
    out.append("RTMP ingest side by side: sluice vs nginx + libnginx-mod-rtmp, %s" % started_at)
    out.append("machine: %d cores, %s, kernel %s; load before start %s"
               % (os.cpu_count(), cpu_model(), platform.release(), LOAD_BEFORE))
    out.append("versions: %s; nginx %s + libnginx-mod-rtmp %s; GStreamer %s; %s"
               % (run_out(["ffmpeg", "-version"]).splitlines()[0].split(" Copyright")[0],
                  run_out(["nginx", "-v"]).split("/")[-1], dpkg_version("libnginx-mod-rtmp"),
                  run_out(["gst-launch-1.0", "--version"]).splitlines()[-2].split()[-1],
                  run_out([sluice_bin, "--version"])))
    out.append("method: N independent `ffmpeg -re -stream_loop -1 -i src720.flv -map 0 -c copy -f flv "
               "rtmp://127.0.0.1:PORT/app/keyK` (720p30 2.67 Mb/s) per server; wait until all N publish + %gs, "
               "then a %gs window, %d run(s), servers interleaved." % (SETTLE, DUR, RUNS))
    out.append("        CPU = se.sum_exec_runtime over /proc/PID/task/*/sched (nginx: the worker; sluice: service "
               "+ handler children) per stream per media-second; memory at the end of the window; "
               "pace = bytes in (or recorded) / source byte rate / wall s.")
    out.append("")
    out.append("CPU, ms per stream per media-second (median [min..max] over runs); ratio = sluice / nginx, "
               "target <= 1.00")
    rows = []
    for n in NS:
        ng = med([r["cpu_total"] for r in by("nginx", n)])[0]
        for key in keys:
            rs = by(key, n)
            if not rs:
                continue
            m = med([r["cpu_total"] for r in rs])[0]
            ratio = "%.2f" % (m / ng) if key != "nginx" and ng else "-"
            rows.append([labels.get(key, key), n, fmt([r["cpu_total"] for r in rs]),
                         fmt([r["cpu_service"] for r in rs]) if key != "nginx" else "(worker)",
                         fmt([r["cpu_handlers"] for r in rs]) if key != "nginx" else "-",
                         ratio, fmt([r["cpu_ticks"] for r in rs]), fmt([r["pub_cpu"] for r in rs]),
                         fmt([r["foreign_cores"] for r in rs])])
    out.append(table(["server", "N", "CPU total", "service", "handlers", "ratio", "(stat ticks)",
                      "publisher CPU", "other load (cores)"], rows))
    out.append("")
    out.append("Memory, MiB at the end of the window; handler figures are the mean per session "
               "(target: handler RSS <= 40 MB); pace 1.00 = real time")
    rows = []
    for n in NS:
        for key in keys:
            rs = by(key, n)
            if not rs:
                continue
            if key == "nginx":
                rows.append([labels[key], n, fmt([r["service_rss"] for r in rs], 1) + " (worker)", "-", "-", "-",
                             "-", "-", fmt([r["pace_in"] for r in rs]), fmt([r["pace_rec"] for r in rs]) + " (FLV)",
                             fmt([r["ramp_s"] for r in rs], 1, False), rs[-1]["outcheck"]])
            else:
                total = [(r["service_pss"] + r.get("handler_pss", 0) * r["handlers"]) / max(r["handlers"], 1)
                         for r in rs]
                rows.append([labels[key], n, fmt([r["service_rss"] for r in rs], 1),
                             "%d" % min(r["handlers"] for r in rs),
                             fmt([r.get("handler_rss") for r in rs], 1),
                             fmt([r.get("handler_pss") for r in rs], 1), fmt(total, 1),
                             fmt([r.get("handler_threads") for r in rs], 0, False),
                             fmt([r["pace_in"] for r in rs]),
                             (fmt([r["pace_rec"] for r in rs]) + " (MP4)") if key != "sluice-none" else "-",
                             fmt([r["ramp_s"] for r in rs], 1, False), rs[-1]["outcheck"]])
    out.append(table(["server", "N", "server RSS", "handlers", "handler RSS", "handler PSS",
                      "PSS all / session", "thr/handler", "pace in", "pace rec", "ramp s",
                      "outputs after stop (last run)"], rows))
    out.append("")
    out.append("notes:")
    out.append("- pace rec = growth of the recordings over the window (nginx: FLV; sluice: MP4) / the source's "
               "byte rate; ~1.00 when every stream is recorded in real time. 'outputs after stop': every "
               "recording probed with ffprobe after the server stopped.")
    out.append("- sluice runs with cpu_cost.rtmp_bypass_transcoding_cpu_cost: 0. Admission subtracts the measured "
               "host load, so with 0.001 it refused publishes (RTMP 5xx) whenever other work kept the host above "
               "max_cpu_utilization; only a zero cost is never refused.")
    out.append("- 'PSS all / session' = (service PSS + sum of handler PSS) / sessions; 'ramp s' = start of the "
               "publishers until all N publish.")
    out.append("- 'other load' is host CPU used by processes outside this bench during the window "
               "(other work on the machine); CPU figures are noisier when it is high.")
    for n_ in notes:
        out.append("- " + n_)
    out.append("total bench time %.0f s" % elapsed)
    return "\n".join(out) + "\n"


# ---- main --------------------------------------------------------------------------------------

with open("/proc/loadavg") as f:
    LOAD_BEFORE = " ".join(f.read().split()[:3])
started_at = time.strftime("%Y-%m-%d %H:%M:%S %Z")
t_start = time.monotonic()
results = []
for stale in glob.glob(os.path.join(tmp, "rtmp-*")):  # logs of an earlier bench run
    if os.path.isdir(stale):
        shutil.rmtree(stale, ignore_errors=True)
raw = os.path.join(tmp, "rtmp-results.jsonl")
open(raw, "w").close()
try:
    for n in NS:
        for run in range(1, RUNS + 1):
            for key in ["nginx"] + MODES:
                workdir = os.path.join(tmp, "rtmp-%s-n%d-r%d" % (key, n, run))
                shutil.rmtree(workdir, ignore_errors=True)
                os.makedirs(workdir)
                server = Nginx(n, workdir) if key == "nginx" else Sluice(key, n, workdir)
                print("%-20s N=%-3d run %d ..." % (server.label, n, run), end="", flush=True, file=sys.stderr)
                try:
                    rec = measure(server, n, run)
                except RuntimeError as e:
                    notes.append("%s N=%d run %d failed: %s" % (server.key, n, run, e))
                    print(" failed: %s" % e, file=sys.stderr)
                    cleanup()
                    continue
                results.append(rec)
                with open(raw, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                print(" %.2f ms/stream/media-s (service %.2f, handlers %.2f), pace %.2f, ramp %.1f s"
                      % (rec["cpu_total"], rec["cpu_service"], rec["cpu_handlers"], rec["pace_in"],
                         rec["ramp_s"]), file=sys.stderr)
                # Recordings are large (N x 2.7 Mb/s); keep the configs and logs only.
                for d in ("rec", "out"):
                    shutil.rmtree(os.path.join(workdir, d), ignore_errors=True)
finally:
    cleanup()

text = report(results, started_at, time.monotonic() - t_start)
os.makedirs(os.path.dirname(RESULT), exist_ok=True)
with open(RESULT, "w") as f:
    f.write(text)
print(text, end="")
print("raw results: %s; logs and configs: %s/rtmp-*" % (raw, tmp), file=sys.stderr)
