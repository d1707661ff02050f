"""`sluice ingress …` and `sluice egress …` against a running node.

One service with the API on; the CLI creates ingresses (parsing the URL and stream key it
prints), ffmpeg publishes to them, `ingress list` shows the session publishing, a participant
egress is followed (`--follow`, output not a terminal: one line per change) and stopped by
`egress stop --follow` on a pseudo-terminal (the status line rewritten in place), and the file it
names is checked with ffprobe against the duration the CLI reported. A room composite with HLS
output is followed with `--json` (one EgressInfo per line) until the publisher leaves. Error
paths: usage (exit 2), a refused request (exit 1 with the Twirp code), wrong credentials or no
server (exit 3). LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET stand in for the flags.

Every child has a timeout and is killed in `finally`; the service is stopped at the end.
"""
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

import media
from sluicetest import BUILD, SLUICE, Sluice, Tap, free_port, ports, write_config

t = Tap()
WORK = tempfile.mkdtemp(prefix="sluice-cli-api-")
OUT = os.path.join(WORK, "recordings")
KEY = "cli-e2e-key"
SECRET = "cli-e2e-secret-0123456789abcdef"
PLUGIN_PATH = os.pathsep.join(os.path.abspath(os.path.join(BUILD, "plugins", p))
                              for p in ["input-rtmp", "output-file"])
PUBLISH_SECONDS = 12
ISO_LOCAL = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"

# Shared between the tests, which run in order.
S = {}
children = []


API, RTMP, HEALTH = ports(3)
os.makedirs(OUT)
# The publisher's admission cost is nil: this test is about the CLI, and other work on the
# machine (fuzzers, other suites) must not get the publisher refused for CPU.
CFG = write_config(
    "api_port: %d\napi_key: %s\napi_secret: %s\nrtmp_port: %d\nhealth_port: %d\n"
    "bind_address: 127.0.0.1\noutput_dir: %s\n"
    "cpu_cost:\n  max_cpu_utilization: 1.0\n  rtmp_bypass_transcoding_cpu_cost: 0.0\n"
    "plugins:\n  enable: [input-rtmp, output-file]\n"
    % (API, KEY, SECRET, RTMP, HEALTH, OUT), WORK)


def clean_env(extra=None):
    """The environment without anything that would point the CLI elsewhere."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("LIVEKIT_", "SLUICE_CONFIG_", "INGRESS_CONFIG_", "EGRESS_CONFIG_"))}
    if extra:
        e.update(extra)
    return e


def cli(*args, env=None, config=True, timeout=30, cwd=None):
    """Runs the CLI; --config goes first, as options may come before the command."""
    argv = [SLUICE] + (["--config", CFG] if config else []) + list(args)
    return subprocess.run(argv, env=clean_env(env), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)


def cli_bg(name, *args):
    """A CLI process in the background, its output in a file (media.Proc)."""
    p = media.Proc([SLUICE] + list(args) + ["--config=" + CFG], name=name, directory=WORK,
                   env=clean_env())
    children.append(p)
    return p


def describe(r):
    return "exit %s\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout, r.stderr)


def run_on_tty(args, timeout):
    """Runs `args` with stdout on a pseudo-terminal; (exit status, bytes written, stderr)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                         env=clean_env())
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        try:
            _, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, b"".join(chunks), err.decode(errors="replace")


def wait_output(proc, pattern, timeout):
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = rx.search(proc.output(tail=100000))
        if m:
            return m
        if proc.poll() is not None:
            m = rx.search(proc.output(tail=100000))
            return m
        time.sleep(0.1)
    return None


svc = Sluice(["--config", CFG], env={"SLUICE_PLUGIN_PATH": PLUGIN_PATH})


# ---------------------------------------------------------------------------------------------


def test_help_on_every_command():
    svc.wait_ready(15)
    r = cli("--help", config=False)
    assert r.returncode == 0 and "sluice ingress create|list|update|delete" in r.stdout, describe(r)
    assert "sluice egress start|list|stop" in r.stdout, r.stdout
    commands = [["ingress"], ["egress"], ["egress", "start"], ["ingress", "create"],
                ["ingress", "list"], ["ingress", "update"], ["ingress", "delete"],
                ["egress", "start", "room-composite"], ["egress", "start", "participant"],
                ["egress", "start", "track-composite"], ["egress", "start", "track"],
                ["egress", "list"], ["egress", "stop"]]
    for words in commands:
        r = cli(*(words + ["--help"]), config=False)
        assert r.returncode == 0, describe(r)
        assert r.stdout.startswith("Usage: sluice " + " ".join(words)), r.stdout
        for text in ["--url URL", "LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET",
                     "--json", "Exit status:", "  2  usage error", "  3  the API cannot be "]:
            assert text in r.stdout, (words, text, r.stdout)
    r = cli("egress", "start", "participant", "-h", config=False)
    assert "--follow" in r.stdout and "--segments PREFIX" in r.stdout, r.stdout


def test_usage_errors_exit_2():
    cases = [
        (["ingress", "create", "--room", "r"], "--identity is required"),
        (["ingress", "create", "--room", "r", "--identity", "i", "--bogus"], "unknown option"),
        (["ingress", "frobnicate"], "unknown command"),
        (["ingress"], "needs a command"),
        (["ingress", "delete"], "IN_... is required"),
        (["ingress", "update", "IN_x"], "nothing to change"),
        (["ingress", "update", "IN_x", "--enable", "--disable"], "exclude each other"),
        (["egress", "start", "participant", "--room", "r", "--identity", "i"],
         "an output is required"),
        (["egress", "start", "room-composite", "--room", "r", "--file", "f.mp4",
          "--audio-only", "--video-only"], "exclude each other"),
        (["egress", "start", "room-composite", "--room", "r", "--file", "f.mp4",
          "--playlist", "x.m3u8"], "go with --segments"),
        (["egress", "start", "track", "--room", "r", "--track", "TR_x", "--segments", "s"],
         "unknown option"),
        (["egress", "stop"], "EG_... is required"),
        (["egress", "list", "--room"], "needs a value"),
        (["egress", "list", "--json=yes"], "takes no value"),
    ]
    for args, message in cases:
        r = cli(*args)
        assert r.returncode == 2, (args, describe(r))
        assert message in r.stderr, (args, describe(r))
        assert "Usage: sluice " in r.stderr, (args, describe(r))
        assert r.stdout == "", (args, describe(r))


def test_ingress_create_prints_url_and_stream_key():
    r = cli("ingress", "create", "--room", "cli-room", "--identity", "alice", "--name", "camera")
    assert r.returncode == 0, describe(r)
    fields = dict(re.findall(r"^  (\w+(?: \w+)?)\s{2,}(.*)$", r.stdout, re.M))
    m = re.match(r"ingress (IN_\w+) created", r.stdout)
    assert m, r.stdout
    assert fields["room"] == "cli-room" and fields["identity"] == "alice", fields
    assert fields["name"] == "camera" and fields["status"] == "ENDPOINT_INACTIVE", fields
    assert re.match(r"^rtmp://127\.0\.0\.1:%d/live$" % RTMP, fields["url"]), fields
    assert len(fields["stream key"]) >= 16 and "{" not in fields["stream key"], fields
    assert fields["publish to"] == fields["url"] + "/" + fields["stream key"], fields
    S["id"], S["url"], S["key"] = m.group(1), fields["url"], fields["stream key"]

    r = cli("ingress", "create", "--room", "spare-room", "--identity", "bob", "--json")
    assert r.returncode == 0, describe(r)
    info = json.loads(r.stdout)
    assert info["ingressId"].startswith("IN_") and info["ingressId"] != S["id"], info
    assert info["url"] == S["url"] and len(info["streamKey"]) >= 16, info
    assert info["roomName"] == "spare-room" and info["participantIdentity"] == "bob", info
    S["spare"] = info["ingressId"]


def test_ingress_list_redacts_stream_keys():
    r = cli("ingress", "list")
    assert r.returncode == 0, describe(r)
    lines = r.stdout.splitlines()
    assert re.match(r"^ID\s+NAME\s+ROOM\s+IDENTITY\s+STATUS\s+ENABLED\s+STARTED\s+STREAM KEY$",
                    lines[0]), r.stdout
    row = [l for l in lines if l.startswith(S["id"])]
    assert len(row) == 1 and "ENDPOINT_INACTIVE" in row[0] and "cli-room" in row[0], r.stdout
    assert S["key"] not in r.stdout, r.stdout
    assert "{%s...%s}" % (S["key"][:3], S["key"][-3:]) in row[0], r.stdout

    r = cli("ingress", "list", "--room", "spare-room", "--json")
    assert r.returncode == 0, describe(r)
    items = json.loads(r.stdout)["items"]
    assert [i["ingressId"] for i in items] == [S["spare"]], items


def test_ingress_update():
    r = cli("ingress", "update", S["spare"], "--disable", "--name", "renamed")
    assert r.returncode == 0, describe(r)
    assert re.search(r"^  enabled\s+no$", r.stdout, re.M), r.stdout
    assert re.search(r"^  name\s+renamed$", r.stdout, re.M), r.stdout
    r = cli("ingress", "list", "--id", S["spare"], "--json")
    item = json.loads(r.stdout)["items"][0]
    assert item["enabled"] is False and item["name"] == "renamed", item
    r = cli("ingress", "update", S["spare"], "--enable")
    assert r.returncode == 0 and re.search(r"^  enabled\s+yes$", r.stdout, re.M), describe(r)


def test_ingress_delete():
    r = cli("ingress", "delete", S["spare"])
    assert r.returncode == 0 and "deleted" in r.stdout, describe(r)
    r = cli("ingress", "list", "--id", S["spare"])
    assert r.returncode == 0 and r.stdout.strip() == "no ingresses", describe(r)
    r = cli("ingress", "delete", S["spare"])
    assert r.returncode == 1 and "not_found" in r.stderr, describe(r)


def publish():
    p = media.ffmpeg_publish(
        "%s/%s" % (S["url"], S["key"]),
        ["-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i",
         "sine=frequency=440:sample_rate=48000", "-t", str(PUBLISH_SECONDS)],
        ["-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-c:a", "aac"],
        directory=WORK)
    children.append(p)
    return p


def test_ingress_list_shows_endpoint_publishing():
    last = None
    for attempt in range(3):
        S["pub"] = publish()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and S["pub"].poll() is None:
            r = cli("ingress", "list", "--id", S["id"])
            last = r
            row = [l for l in r.stdout.splitlines() if l.startswith(S["id"])]
            if row and "ENDPOINT_PUBLISHING" in row[0]:
                assert re.search(ISO_LOCAL, row[0]), row[0]
                return
            time.sleep(0.3)
        S["pub"].kill()
    raise AssertionError("the ingress never showed ENDPOINT_PUBLISHING:\n%s\n%s\n%s"
                         % (describe(last), S["pub"].describe(), svc.log()[-3000:]))


def test_egress_follow_stop_and_file():
    # The room composite records HLS until the publisher leaves (next test); it also keeps the
    # session busy, so stopping the participant egress ends that egress alone.
    S["rc"] = cli_bg("rc-follow", "egress", "start", "room-composite", "--room", "cli-room",
                     "--segments", "hls/cli", "--playlist", "index.m3u8",
                     "--segment-duration", "2", "--follow", "--json")
    assert wait_output(S["rc"], r'"egressId":"EG_\w+"', 10), S["rc"].describe()
    follower = cli_bg("p-follow", "egress", "start", "participant", "--room", "cli-room",
                      "--identity", "alice", "--file", "cli-{publisher_identity}.mp4",
                      "--follow")
    m = wait_output(follower, r"egress (EG_\w+) started: participant alice in room cli-room", 10)
    assert m, follower.describe()
    egress_id = m.group(1)
    assert wait_output(follower, r"EGRESS_ACTIVE", 10), follower.describe()
    time.sleep(4)

    status, tty_out, err = run_on_tty([SLUICE, "egress", "stop", egress_id, "--follow",
                                       "--config", CFG], timeout=30)
    text = tty_out.decode(errors="replace")
    assert status == 0, (status, text, err)
    assert "\r\x1b[K" in text, repr(text)
    assert "EGRESS_COMPLETE" in text, repr(text)

    assert follower.wait(30) == 0, follower.describe()
    out = follower.output(tail=100000)
    lines = [l for l in out.splitlines() if l.strip()]
    progress = [l for l in lines if re.match(r"^EGRESS_\w+  elapsed ", l)]
    assert any(l.startswith("EGRESS_ACTIVE") for l in progress), out
    assert len(progress) == len(set(re.sub(r"elapsed \S+ s?", "", l) for l in progress)), out
    assert "\r" not in out, repr(out)
    assert re.search(r"^egress %s EGRESS_COMPLETE: participant alice" % egress_id, out, re.M), out
    m = re.match(r"^\s*file\s+(\S+)\s+([\d.]+) MB\s+([\d.]+) s\s+(\d+) kb/s$", lines[-1])
    assert m, "the last line does not name the file:\n" + out
    location, size_mb, reported = m.group(1), float(m.group(2)), float(m.group(3))
    assert os.path.isfile(location), location
    assert location == os.path.join(OUT, "cli-alice.mp4"), location
    info = media.ffprobe(location)
    assert sorted(s["codec_name"] for s in info["streams"]) == ["aac", "h264"], media.summary(info)
    duration = media.format_duration(info)
    assert abs(duration - reported) <= 1.0, (duration, reported, media.summary(info))
    assert 3.0 <= reported <= 8.0, reported
    assert abs(os.path.getsize(location) / 1e6 - size_mb) < 0.01, (location, size_mb)

    r = cli("egress", "list", "--id", egress_id, "--json")
    assert r.returncode == 0, describe(r)
    items = json.loads(r.stdout)["items"]
    assert len(items) == 1 and items[0]["status"] == "EGRESS_COMPLETE", items
    fi = items[0]["fileResults"][0]
    assert fi["location"] == location and abs(int(fi["duration"]) / 1e9 - reported) < 0.01, fi
    assert items[0]["participant"]["identity"] == "alice", items[0]

    r = cli("egress", "list", "--room", "cli-room")
    assert r.returncode == 0, describe(r)
    assert re.match(r"^ID\s+KIND\s+ROOM\s+STATUS\s+STARTED\s+ENDED\s+DURATION\s+SIZE\s+OUTPUT$",
                    r.stdout.splitlines()[0]), r.stdout
    row = [l for l in r.stdout.splitlines() if l.startswith(egress_id)]
    assert row and "EGRESS_COMPLETE" in row[0] and location in row[0], r.stdout
    assert len(re.findall(ISO_LOCAL, row[0])) == 2, row[0]
    r = cli("egress", "list", "--active", "--json")
    assert egress_id not in r.stdout, r.stdout


def test_room_composite_follow_json_until_the_publisher_leaves():
    rc = S["rc"]
    assert S["pub"].wait(PUBLISH_SECONDS + 15) is not None, S["pub"].describe()
    assert rc.wait(30) == 0, rc.describe() + "\n" + svc.log()[-3000:]
    infos = [json.loads(l) for l in rc.output(tail=1000000).splitlines() if l.strip()]
    statuses = [i.get("status", "EGRESS_STARTING") for i in infos]
    assert "EGRESS_ACTIVE" in statuses and statuses[-1] == "EGRESS_COMPLETE", statuses
    assert len(infos) == len(set(json.dumps(i, sort_keys=True) for i in infos)), statuses
    seg = infos[-1]["segmentResults"][0]
    assert os.path.isfile(seg["playlistLocation"]), seg
    assert seg["playlistLocation"] == os.path.join(OUT, "hls", "index.m3u8"), seg
    assert int(seg["segmentCount"]) >= 3, seg


def test_refused_requests_exit_1_with_the_twirp_code():
    r = cli("egress", "start", "room-composite", "--room", "nobody-here", "--file", "x.mp4")
    assert r.returncode == 1, describe(r)
    assert "not_found" in r.stderr and "StartRoomCompositeEgress" in r.stderr, describe(r)
    r = cli("egress", "start", "participant", "--room", "cli-room", "--identity", "nobody",
            "--file", "x.mp4", "--follow")
    assert r.returncode == 1 and "not_found" in r.stderr, describe(r)
    r = cli("egress", "stop", "EG_doesnotexist")
    assert r.returncode == 1 and "not_found" in r.stderr, describe(r)
    r = cli("ingress", "update", "IN_doesnotexist", "--name", "x")
    assert r.returncode == 1 and "not_found" in r.stderr, describe(r)


def test_credentials_and_reachability_exit_3():
    r = cli("ingress", "list", "--api-secret", "not-the-secret-at-all")
    assert r.returncode == 3, describe(r)
    assert "refused the credentials" in r.stderr and "unauthenticated" in r.stderr, r.stderr
    assert "from --api-secret" in r.stderr and "api_secret" in r.stderr, r.stderr
    assert "not-the-secret-at-all" not in r.stderr + r.stdout, r.stderr
    r = cli("egress", "list", "--api-key", "some-other-key")
    assert r.returncode == 3 and "unauthenticated" in r.stderr, describe(r)

    closed = free_port()
    r = cli("egress", "list", "--url", "http://127.0.0.1:%d" % closed)
    assert r.returncode == 3 and "cannot reach the API" in r.stderr, describe(r)
    assert "check:" in r.stderr, r.stderr
    # A port that answers HTTP but is not the API.
    r = cli("egress", "list", "--url", "http://127.0.0.1:%d" % HEALTH)
    assert r.returncode == 3 and "not a Twirp answer" in r.stderr, describe(r)
    r = cli("egress", "list", "--url", "localhost:1234")
    assert r.returncode == 3 and "not an API address" in r.stderr, describe(r)
    r = cli("ingress", "list", "--config-body", "health_port: -1\n", config=False, cwd=WORK)
    assert r.returncode == 3 and "no API address" in r.stderr, describe(r)


def test_livekit_environment_instead_of_flags():
    env = {"LIVEKIT_URL": "ws://127.0.0.1:%d" % API, "LIVEKIT_API_KEY": KEY,
           "LIVEKIT_API_SECRET": SECRET}
    r = cli("ingress", "list", "--json", env=env, config=False, cwd=WORK)
    assert r.returncode == 0, describe(r)
    assert S["id"] in [i["ingressId"] for i in json.loads(r.stdout)["items"]], r.stdout
    env["LIVEKIT_URL"] = "http://127.0.0.1:%d/" % API
    r = cli("egress", "list", "--room", "cli-room", env=env, config=False, cwd=WORK)
    assert r.returncode == 0 and "EGRESS_COMPLETE" in r.stdout, describe(r)
    # Flags win over the environment, the environment over the config.
    r = cli("ingress", "list", "--api-secret", "wrong-secret-1234567", env=env, config=False)
    assert r.returncode == 3 and "unauthenticated" in r.stderr, describe(r)
    r = cli("ingress", "list", env={"LIVEKIT_API_SECRET": "wrong-secret-1234567"})
    assert r.returncode == 3 and "from LIVEKIT_API_SECRET" in r.stderr, describe(r)
    r = cli("ingress", "list", "--url", "http://127.0.0.1:%d" % API, "--api-key", KEY,
            "--api-secret", SECRET, env={"LIVEKIT_URL": "http://127.0.0.1:1"}, config=False)
    assert r.returncode == 0 and S["id"] in r.stdout, describe(r)


try:
    for fn in [test_help_on_every_command, test_usage_errors_exit_2,
               test_ingress_create_prints_url_and_stream_key,
               test_ingress_list_redacts_stream_keys, test_ingress_update,
               test_ingress_list_shows_endpoint_publishing, test_egress_follow_stop_and_file,
               test_room_composite_follow_json_until_the_publisher_leaves,
               test_refused_requests_exit_1_with_the_twirp_code,
               test_credentials_and_reachability_exit_3,
               test_livekit_environment_instead_of_flags, test_ingress_delete]:
        t.run(fn)
finally:
    for c in children:
        c.kill()
    svc.signal(signal.SIGINT)
    if svc.wait_exit(10) is None:
        svc.stop()
    svc.stop()
    if t.failed == 0:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print("# kept %s" % WORK, flush=True)
t.done()
