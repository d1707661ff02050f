"""Measures sluice's idle RSS/PSS with every plugin loaded and its start-up-to-ready time.

Start-up to ready: from exec until the health endpoint answers 200, polled every millisecond;
the median and the spread of 20 runs. Memory: VmRSS and the PSS from smaps_rollup (PSS counts
shared libraries once) two seconds after ready.
"""
import glob
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
binary = os.path.join(src, build, "core", "sluice")
tmp = tempfile.mkdtemp(prefix="sluice-bench-")

# Every plugin this build produced, plus the example built against the tree's headers.
plugin_dirs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(src, build, "plugins", "*", "sluice-*.so"))})
names = [os.path.basename(p)[len("sluice-"):-3] for d in plugin_dirs for p in glob.glob(os.path.join(d, "sluice-*.so"))]
cflags = subprocess.run(["pkg-config", "--cflags", "--libs", "glib-2.0", "gmodule-2.0", "gstreamer-1.0"],
                        capture_output=True, text=True, check=True).stdout.split()
subprocess.run(["cc", "-std=c11", "-O2", "-fPIC", "-shared", "-I" + os.path.join(src, "include"),
                os.path.join(src, "examples", "plugin-hello", "hello.c"), "-o",
                os.path.join(tmp, "sluice-hello.so")] + cflags, check=True)
plugin_dirs.append(tmp)
names.append("hello")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kb(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def pss_kb(pid):
    for line in open("/proc/%d/smaps_rollup" % pid):
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def one_run(measure_memory=False):
    port = free_port()
    cfg = os.path.join(tmp, "bench.yaml")
    with open(cfg, "w") as f:
        f.write("health_port: %d\nbind_address: 127.0.0.1\nlogging:\n  level: warn\n"
                "plugins:\n  path: [%s]\n  enable: [%s]\n" % (port, ", ".join(plugin_dirs), ", ".join(names)))
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "--config", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = None
    while time.perf_counter() - t0 < 10:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=1) as r:
                if r.status == 200:
                    ready = time.perf_counter() - t0
                    break
        except Exception:
            time.sleep(0.001)
    mem = None
    if measure_memory and ready is not None:
        time.sleep(2)
        mem = (status_kb(p.pid, "VmRSS"), pss_kb(p.pid))
    p.terminate()
    p.wait()
    return ready, mem


times = []
for _ in range(20):
    r, _ = one_run()
    if r is not None:
        times.append(r * 1000)
_, mem = one_run(measure_memory=True)
shutil.rmtree(tmp, ignore_errors=True)

lines = [
    "sluice idle footprint, %s" % time.strftime("%Y-%m-%d"),
    "plugins loaded: %s" % ", ".join(names),
    "start-up to ready (ms, 20 runs): median %.1f, min %.1f, max %.1f (target < 200)"
    % (statistics.median(times), min(times), max(times)),
    "idle RSS: %.1f MB, PSS: %.1f MB (target RSS < 25 MB)" % (mem[0] / 1024, mem[1] / 1024),
]
out = "\n".join(lines) + "\n"
os.makedirs(os.path.join(src, "bench", "results"), exist_ok=True)
with open(os.path.join(src, "bench", "results", "idle.txt"), "w") as f:
    f.write(out)
print(out, end="")
