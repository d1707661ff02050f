"""Workers on a Redis that speaks TLS only, configured with LiveKit's keys (redis.tls, use_tls).

A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate are made
here with the openssl CLI (redis_server.TestPki); redis-server listens with TLS only
(`--port 0 --tls-port`) and a password.

Two workers with `tls.ca_cert_file` join it: an ingress made on A is listed by B, ffmpeg publishes
to B and A lists it publishing, a participant egress asked of A runs on B; redis-server is killed
and started again mid-recording and both workers reconnect over TLS and put back what they hold;
the egress stopped through A completes with a file that ffprobe agrees with. Neither log holds
the Redis password, and no tunnel socket is left in the workers' TMPDIR.

Then one worker at a time: without the CA (system roots) the test CA is not trusted, the log says
so and the worker keeps running and retrying (the API works locally and says it cannot share);
`use_tls: true` alone verifies the same way (LiveKit: TLS 1.2, system roots); `insecure: true`
connects; `server_name` is the name checked; a server that wants client certificates takes the
worker that has one and refuses, saying why, the one that has none; a server that offers only
TLS 1.1 is refused. Wrong keys stop start-up with file:line: a wrong type, client_cert_file
without client_key_file, a CA file that does not exist, a key that does not match.
"""
import json
import os
import shutil
import signal
import tempfile
import time

import media
from redis_server import RedisServer, TestPki
from sluicetest import (BUILD, Api, Sluice, Tap, http_get, ports, status_of, wait_until,
                        write_config)

t = Tap()
WORK = tempfile.mkdtemp(prefix="sluice-redis-tls-e2e-")
TMP = os.path.join(WORK, "tmp")  # the workers' TMPDIR: where the tunnels make their sockets
KEY = "redis-tls-e2e-key"
SECRET = "redis-tls-e2e-secret-0123456789abcdef"
PASSWORD = "redis-tls-e2e-password-5b1d"
PLUGIN_PATH = os.pathsep.join(os.path.abspath(os.path.join(BUILD, "plugins", p))
                              for p in ["input-rtmp", "output-file"])

S = {}
children = []
workers = []  # every Sluice started, for the password check

API = Api(KEY, SECRET, "redis-tls-test")
twirp, call = API.twirp, API.call
ingress_on, egress_on = API.ingress, API.egress


def redis_yaml(address, tls, password=PASSWORD):
    """The redis: section; `tls` is the YAML under it after address/password (indented 2)."""
    return "redis:\n  address: %s\n  password: %s\n%s" % (address, password, tls)


def tls_section(**keys):
    """redis.tls with `keys` (booleans as YAML booleans, strings quoted)."""
    lines = "  tls:\n"
    for k, v in keys.items():
        lines += "    %s: %s\n" % (k, ("true" if v else "false") if isinstance(v, bool)
                                    else json.dumps(v))
    return lines


def start(name, redis_section, media_plugins=False, wait_ready=True):
    """A worker with `redis_section` as its redis: config. Returns its dict (svc, api, ...)."""
    api, rtmp, health = ports(3)
    out = os.path.join(WORK, name)
    os.makedirs(out, exist_ok=True)
    text = ("node_id: %s\napi_port: %d\napi_key: %s\napi_secret: %s\nhealth_port: %d\n"
            "bind_address: 127.0.0.1\noutput_dir: %s\n" % (name, api, KEY, SECRET, health, out))
    if media_plugins:
        text += ("rtmp_port: %d\nwhip_port: -1\n"
                 "cpu_cost:\n  max_cpu_utilization: 1.0\n  rtmp_bypass_transcoding_cpu_cost: 0.0\n"
                 "  participant_cpu_cost: 0.0\n"
                 "plugins:\n  enable: [input-rtmp, output-file]\n" % rtmp)
    else:
        text += "rtmp_port: -1\nwhip_port: -1\nplugins:\n  enable: []\n"
    text += redis_section
    cfg = write_config(text, WORK)
    svc = Sluice(["--config", cfg], env={"SLUICE_PLUGIN_PATH": PLUGIN_PATH, "TMPDIR": TMP})
    workers.append(svc)
    w = {"name": name, "api": api, "rtmp": rtmp, "health": health, "out": out, "svc": svc,
         "config": cfg, "text": text}
    if wait_ready:
        svc.wait_ready(15)
    return w


def line_of(text, needle):
    """1-based line of the first line of `text` containing `needle`."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError("%r not in config" % needle)


def tunnel_dirs():
    return [n for n in os.listdir(TMP) if n.startswith("sluice-redis-tls-")]


def publish(worker, stream_key, seconds=90):
    src = media.cached_flv(640, 360, seconds)
    p = media.ffmpeg_publish("rtmp://127.0.0.1:%d/live/%s" % (worker["rtmp"], stream_key),
                             ["-re", "-i", src], directory=WORK, name="ffmpeg-" + worker["name"])
    children.append(p)
    return p


def stop(w):
    w["svc"].stop()


# ---- two workers on one TLS Redis ---------------------------------------------------------------

def test_two_workers_join_over_tls():
    S["redis"] = RedisServer(tls=S["pki"], password=PASSWORD).start()
    tls = tls_section(enabled=True, ca_cert_file=S["pki"].ca)
    for k in ("a", "b"):
        S[k] = start("worker-" + k, redis_yaml(S["redis"].address, tls), media_plugins=True)
    for k in ("a", "b"):
        svc = S[k]["svc"]
        assert svc.wait_for("joined the redis bus", 10), svc.log()
        assert svc.wait_for("over TLS (ca_cert_file %s)" % S["pki"].ca, 1), svc.log()
    hb = S["redis"].command("KEYS", "sluice:hb:*")
    assert sorted(hb) == ["sluice:hb:worker-a", "sluice:hb:worker-b"], hb
    assert tunnel_dirs() == [], tunnel_dirs()


def test_ingress_made_on_a_is_listed_by_b():
    info = call(S["a"], "Ingress", "CreateIngress",
                {"inputType": "RTMP_INPUT", "name": "cam", "roomName": "tls-room",
                 "participantIdentity": "cam1"})
    S["ingress"], S["stream_key"] = info["ingressId"], info["streamKey"]
    seen = wait_until(lambda: ingress_on(S["b"], S["ingress"]), 5)
    assert seen and seen["streamKey"] == S["stream_key"], seen


def test_egress_asked_of_a_runs_on_b():
    S["pub"] = publish(S["b"], S["stream_key"])
    live = wait_until(lambda: status_of(ingress_on(S["a"], S["ingress"])) == "ENDPOINT_PUBLISHING",
                      20)
    assert live, (ingress_on(S["a"], S["ingress"]), S["b"]["svc"].log()[-2000:])
    info = call(S["a"], "Egress", "StartParticipantEgress",
                {"roomName": "tls-room", "identity": "cam1",
                 "fileOutputs": [{"filepath": "tls/{room_name}-{time}.mp4"}]})
    S["egress"] = info["egressId"]
    assert S["b"]["svc"].wait_for("%s: participant egress" % S["egress"], 10), \
        S["b"]["svc"].log()[-3000:]
    active = wait_until(lambda: (egress_on(S["a"], S["egress"]) or {}).get("status")
                        == "EGRESS_ACTIVE", 15)
    assert active, egress_on(S["a"], S["egress"])


def test_redis_restart_over_tls_is_survived():
    time.sleep(3)
    S["redis"].restart()
    for k in ("a", "b"):
        svc = S[k]["svc"]
        assert svc.wait_for("lost the connection to redis", 10), svc.log()[-2000:]
        assert svc.wait_for("back: sharing", 20), svc.log()[-2000:]
    back = wait_until(lambda: len(S["redis"].command("KEYS", "sluice:hb:*")) == 2 and
                      status_of(ingress_on(S["a"], S["ingress"])) == "ENDPOINT_PUBLISHING", 10)
    assert back, (S["redis"].command("KEYS", "sluice:*"), ingress_on(S["a"], S["ingress"]))
    assert (egress_on(S["a"], S["egress"]) or {}).get("status") == "EGRESS_ACTIVE"
    assert S["pub"].poll() is None, "the publisher was dropped by the Redis restart"


def test_stop_through_a_completes_with_matching_file():
    time.sleep(4)
    call(S["a"], "Egress", "StopEgress", {"egressId": S["egress"]})
    done = wait_until(lambda: (egress_on(S["a"], S["egress"]) or {}).get("status")
                      == "EGRESS_COMPLETE" and egress_on(S["a"], S["egress"]), 30)
    assert done, (egress_on(S["a"], S["egress"]), S["b"]["svc"].log()[-3000:])
    fi = done["fileResults"][0]
    assert fi["location"].startswith(S["b"]["out"]), fi
    info = media.ffprobe(fi["location"])
    assert media.stream(info, "video")["codec_name"] == "h264", media.summary(info)
    assert abs(media.format_duration(info) - int(fi["duration"]) / 1e9) <= 1.0, \
        (fi, media.summary(info))
    assert media.format_duration(info) >= 6, media.summary(info)


def test_no_password_and_no_socket_left():
    for k in ("a", "b"):
        assert PASSWORD not in S[k]["svc"].log()
    assert tunnel_dirs() == [], tunnel_dirs()
    for c in children:
        c.kill()
    for k in ("a", "b"):
        S[k]["svc"].signal(signal.SIGTERM)
        # The exit status is not checked: under ASan, LeakSanitizer's verdict at exit decides it.
        assert S[k]["svc"].wait_exit(20) is not None, S[k]["svc"].log()[-2000:]
        assert "ERROR: AddressSanitizer" not in S[k]["svc"].log(), S[k]["svc"].log()[-4000:]
    assert tunnel_dirs() == [], tunnel_dirs()


# ---- one worker at a time ------------------------------------------------------------------------

def refused(name, tls, why, address=None):
    """Starts a worker whose connection must fail with `why` in its log; the worker stays up
    and keeps retrying. Returns the worker (stopped)."""
    w = start(name, redis_yaml(address or S["redis"].address, tls))
    try:
        svc = w["svc"]
        assert svc.wait_for(why, 10), svc.log()
        assert svc.wait_for("retrying with backoff", 1), svc.log()
        time.sleep(1.5)  # several backoff rounds
        assert svc.proc.poll() is None, svc.log()
        assert not any("joined the redis bus" in l for l in svc.lines), svc.log()
        return w
    finally:
        stop(w)


def joins(name, tls, address=None):
    w = start(name, redis_yaml(address or S["redis"].address, tls))
    try:
        assert w["svc"].wait_for("joined the redis bus", 10), w["svc"].log()
        return w
    finally:
        stop(w)


def test_system_roots_do_not_trust_the_test_ca():
    w = start("no-ca", redis_yaml(S["redis"].address, tls_section(enabled=True)))
    try:
        svc = w["svc"]
        assert svc.wait_for("redis TLS: certificate for 127.0.0.1 is not trusted (system roots)",
                            10), svc.log()
        assert svc.wait_for("retrying with backoff", 1), svc.log()
        # The worker runs on alone: healthy, its API works, and what it cannot share it says.
        assert http_get("http://127.0.0.1:%d/" % w["health"])[0] == 200
        info = call(w, "Ingress", "CreateIngress", {"inputType": "RTMP_INPUT", "name": "alone",
                                                     "roomName": "r"})
        assert svc.wait_for("ingress %s not shared: not connected to redis" % info["ingressId"],
                            5), svc.log()
        time.sleep(1.5)
        assert svc.proc.poll() is None, svc.log()
        # One warning for the outage, not one per retry.
        assert sum("retrying with backoff" in l for l in svc.lines) == 1, svc.log()
    finally:
        stop(w)


def test_use_tls_alone_verifies_with_system_roots():
    refused("use-tls", "  use_tls: true\n",
            "certificate for 127.0.0.1 is not trusted (system roots)")


def test_tls_enabled_takes_precedence_over_use_tls():
    joins("both", "  use_tls: true\n" + tls_section(enabled=True, ca_cert_file=S["pki"].ca))


def test_tls_not_enabled_is_not_read():
    w = refused("tls-off", "  use_tls: true\n" + tls_section(ca_cert_file=S["pki"].ca),
                "not trusted (system roots)")
    assert any("redis.tls.ca_cert_file: ignored, redis.tls.enabled is not true" in l
               for l in w["svc"].lines), w["svc"].log()


def test_insecure_connects_and_says_so():
    w = joins("insecure", tls_section(enabled=True, insecure=True))
    assert any("is not verified" in l for l in w["svc"].lines), w["svc"].log()
    assert any("over TLS (insecure)" in l for l in w["svc"].lines), w["svc"].log()


def test_server_name_is_the_name_checked():
    joins("name-ok", tls_section(enabled=True, ca_cert_file=S["pki"].ca, server_name="localhost"))
    refused("name-bad", tls_section(enabled=True, ca_cert_file=S["pki"].ca,
                                    server_name="redis.example"),
            "certificate for redis.example was issued for another name")


def test_client_certificate():
    mtls = RedisServer(tls=S["pki"], tls_auth_clients=True, password=PASSWORD).start()
    try:
        joins("mtls-ok", tls_section(enabled=True, ca_cert_file=S["pki"].ca,
                                     client_cert_file=S["pki"].path("client.pem"),
                                     client_key_file=S["pki"].path("client.key")),
              address=mtls.address)
        refused("mtls-none", tls_section(enabled=True, ca_cert_file=S["pki"].ca),
                "redis TLS: the server wants a client certificate", address=mtls.address)
    finally:
        mtls.stop()


def test_tls_1_1_server_is_refused():
    old = RedisServer(tls=S["pki"], password=PASSWORD,
                      extra_args=["--tls-protocols", "TLSv1.1",
                                  "--tls-ciphers", "DEFAULT:@SECLEVEL=0"])
    try:
        old.start()
    except RuntimeError as e:
        print("# not checked: redis-server will not offer TLS 1.1 here: %s" % str(e)[-200:],
              flush=True)
        return
    try:
        refused("tls11", tls_section(enabled=True, ca_cert_file=S["pki"].ca),
                "speaks TLS 1.1; TLS 1.2 or later is required", address=old.address)
    finally:
        old.stop()


def start_up_refused(name, tls, key, needle, message):
    """A config whose redis.tls is wrong: start-up stops with FILE:LINE: key: message."""
    w = start(name, redis_yaml(S["redis"].address, tls), wait_ready=False)
    rc = w["svc"].wait_exit(15)
    assert rc not in (None, 0), (rc, w["svc"].log())
    want = "%s:%d: %s: %s" % (w["config"], line_of(w["text"], needle), key, message)
    assert any(want in l for l in w["svc"].lines), (want, w["svc"].log())


def test_wrong_keys_stop_start_up_with_file_and_line():
    pki = S["pki"]
    start_up_refused("bad-type", "  tls:\n    enabled: maybe\n", "redis.tls.enabled",
                     "enabled: maybe", "'maybe' is not true or false")
    start_up_refused("bad-list", "  tls:\n    enabled: true\n    ca_cert_file: [a, b]\n",
                     "redis.tls.ca_cert_file", "ca_cert_file", "expected a text value")
    start_up_refused("no-key", tls_section(enabled=True, client_cert_file=pki.path("client.pem")),
                     "redis.tls.client_cert_file", "client_cert_file",
                     "client_key_file is not set")
    start_up_refused("no-ca-file", tls_section(enabled=True, ca_cert_file="/nonexistent/ca.pem"),
                     "redis.tls.ca_cert_file", "ca_cert_file", "Failed to open file")
    start_up_refused("wrong-key", tls_section(enabled=True, client_cert_file=pki.path("client.pem"),
                                              client_key_file=pki.path("other.key")),
                     "redis.tls.client_key_file", "client_key_file",
                     "the key in %s does not belong to the certificate" % pki.path("other.key"))


def test_a_misspelt_key_is_named_with_its_line():
    tls = "  tls:\n    enabled: true\n    ca_cert_file: %s\n    sever_name: localhost\n" % \
        S["pki"].ca
    w = start("typo", redis_yaml(S["redis"].address, tls))
    try:
        want = "%s:%d: redis.tls.sever_name: unknown key" % (w["config"],
                                                            line_of(w["text"], "sever_name"))
        assert w["svc"].wait_for(want, 5), (want, w["svc"].log())
        assert w["svc"].wait_for("joined the redis bus", 10), w["svc"].log()
    finally:
        stop(w)


def test_no_password_in_any_log_and_no_socket_left():
    for svc in workers:
        assert PASSWORD not in svc.log()
    assert tunnel_dirs() == [], tunnel_dirs()


def main():
    if not RedisServer.available():
        t.skip("redis over TLS", RedisServer.MISSING)
        t.done()
    if not TestPki.available():
        t.skip("redis over TLS", TestPki.MISSING)
        t.done()
    os.makedirs(TMP)
    try:
        S["pki"] = TestPki(os.path.join(WORK, "pki"))
        for fn in [test_two_workers_join_over_tls, test_ingress_made_on_a_is_listed_by_b,
                   test_egress_asked_of_a_runs_on_b, test_redis_restart_over_tls_is_survived,
                   test_stop_through_a_completes_with_matching_file,
                   test_no_password_and_no_socket_left,
                   test_system_roots_do_not_trust_the_test_ca,
                   test_use_tls_alone_verifies_with_system_roots,
                   test_tls_enabled_takes_precedence_over_use_tls,
                   test_tls_not_enabled_is_not_read, test_insecure_connects_and_says_so,
                   test_server_name_is_the_name_checked, test_client_certificate,
                   test_tls_1_1_server_is_refused,
                   test_wrong_keys_stop_start_up_with_file_and_line,
                   test_a_misspelt_key_is_named_with_its_line,
                   test_no_password_in_any_log_and_no_socket_left]:
            t.run(fn)
    finally:
        for c in children:
            c.kill()
        for svc in workers:
            svc.stop()
        if "redis" in S:
            S["redis"].stop()
        shutil.rmtree(WORK, ignore_errors=True)
    t.done()


main()
