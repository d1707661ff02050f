"""Two sluice workers sharing a real redis-server.

Worker A and worker B join one Redis. An ingress made through A's API is listed by B; ffmpeg
publishes to B and A lists it ENDPOINT_PUBLISHING; a second publisher of the same key on A is
refused; a participant egress asked of A runs on B (the owner of the session) and A lists it.
redis-server is then killed and started again empty in the middle of the recording: both workers
reconnect and put back what they are the source of, the recording goes on, and the egress stopped
through A completes with a FileInfo whose duration matches ffprobe of B's file. Then another
egress runs on B and B is SIGKILLed: within 15 s A lists the ingress ENDPOINT_ERROR and the
egress EGRESS_FAILED, each naming the dead worker, and the ingress takes a new publisher on A.

The API is driven over Twirp JSON with an HS256 token made here (LiveKit's format).
"""
import os
import shutil
import signal
import tempfile
import threading
import time

import media
from redis_server import RedisServer
from sluicetest import BUILD, Api, Sluice, Tap, ports, status_of, wait_until, write_config

t = Tap()
WORK = tempfile.mkdtemp(prefix="sluice-cluster-")
KEY = "cluster-e2e-key"
SECRET = "cluster-e2e-secret-0123456789abcdef"
PLUGIN_PATH = os.pathsep.join(os.path.abspath(os.path.join(BUILD, "plugins", p))
                              for p in ["input-rtmp", "output-file"])
REAP_LIMIT = 15.0

S = {}
children = []

API = Api(KEY, SECRET, "cluster-test")
twirp, call = API.twirp, API.call
ingress_on, egress_on = API.ingress, API.egress


def start_worker(name, redis):
    api, rtmp, health = ports(3)
    out = os.path.join(WORK, name)
    os.makedirs(out, exist_ok=True)
    cfg = write_config(
        "node_id: %s\napi_port: %d\napi_key: %s\napi_secret: %s\nrtmp_port: %d\n"
        "health_port: %d\nbind_address: 127.0.0.1\noutput_dir: %s\n"
        "redis:\n  address: %s\n"
        "cpu_cost:\n  max_cpu_utilization: 1.0\n  rtmp_bypass_transcoding_cpu_cost: 0.0\n"
        "  participant_cpu_cost: 0.0\n"
        "plugins:\n  enable: [input-rtmp, output-file]\n"
        % (name, api, KEY, SECRET, rtmp, health, out, redis.address), WORK)
    svc = Sluice(["--config", cfg], env={"SLUICE_PLUGIN_PATH": PLUGIN_PATH})
    svc.wait_ready(15)
    w = {"name": name, "api": api, "rtmp": rtmp, "out": out, "svc": svc}
    assert svc.wait_for("joined the redis bus", 10), svc.log()
    return w


def publish(worker, stream_key, seconds=90):
    src = media.cached_flv(640, 360, seconds)
    p = media.ffmpeg_publish("rtmp://127.0.0.1:%d/live/%s" % (worker["rtmp"], stream_key),
                             ["-re", "-i", src], directory=WORK, name="ffmpeg-" + worker["name"])
    children.append(p)
    return p


def test_two_workers_join_one_redis():
    S["redis"] = RedisServer().start()
    S["a"] = start_worker("worker-a", S["redis"])
    S["b"] = start_worker("worker-b", S["redis"])
    workers = S["redis"].command("KEYS", "sluice:hb:*")
    assert sorted(workers) == ["sluice:hb:worker-a", "sluice:hb:worker-b"], workers


def test_ingress_made_on_a_is_listed_by_b():
    info = call(S["a"], "Ingress", "CreateIngress",
                {"inputType": "RTMP_INPUT", "name": "cam", "roomName": "cluster-room",
                 "participantIdentity": "cam1"})
    S["ingress"] = info["ingressId"]
    S["stream_key"] = info["streamKey"]
    seen = wait_until(lambda: ingress_on(S["b"], S["ingress"]), 5)
    assert seen and seen["streamKey"] == S["stream_key"], seen


def test_publish_to_b_is_publishing_on_a():
    S["pub"] = publish(S["b"], S["stream_key"])
    info = wait_until(lambda: status_of(ingress_on(S["a"], S["ingress"])) == "ENDPOINT_PUBLISHING"
                      and ingress_on(S["a"], S["ingress"]), 20)
    assert info, (ingress_on(S["a"], S["ingress"]), S["b"]["svc"].log()[-2000:])
    assert info["state"].get("tracks"), info


def test_second_publisher_on_a_is_refused():
    p = publish(S["a"], S["stream_key"], seconds=20)
    rc = p.wait(20)
    assert rc is not None and rc != 0, "a second publisher of a live ingress was accepted"
    assert S["a"]["svc"].wait_for("already has a live publisher", 5), S["a"]["svc"].log()[-2000:]
    assert status_of(ingress_on(S["b"], S["ingress"])) == "ENDPOINT_PUBLISHING"


def test_egress_asked_of_a_runs_on_b():
    info = call(S["a"], "Egress", "StartParticipantEgress",
                {"roomName": "cluster-room", "identity": "cam1",
                 "fileOutputs": [{"filepath": "cluster/{room_name}-{time}.mp4"}]})
    S["egress"] = info["egressId"]
    assert S["b"]["svc"].wait_for("%s: participant egress" % S["egress"], 10), \
        S["b"]["svc"].log()[-3000:]
    assert not any(S["egress"] in l and "participant egress" in l
                   for l in S["a"]["svc"].lines), "the egress ran on the worker that was asked"
    active = wait_until(lambda: (egress_on(S["a"], S["egress"]) or {}).get("status")
                        == "EGRESS_ACTIVE", 15)
    assert active, egress_on(S["a"], S["egress"])


def test_redis_restart_mid_session_loses_nothing():
    time.sleep(3)
    S["redis"].restart()
    for w in (S["a"], S["b"]):
        assert w["svc"].wait_for("back: sharing", 20), w["svc"].log()[-2000:]
    # B put its live session back, A the ingress it made; the egress record came back with B.
    info = wait_until(lambda: S["redis"].command("KEYS", "sluice:*ingress*") and
                      status_of(ingress_on(S["a"], S["ingress"])) == "ENDPOINT_PUBLISHING", 10)
    assert info, (S["redis"].command("KEYS", "sluice:*"), ingress_on(S["a"], S["ingress"]))
    assert (egress_on(S["a"], S["egress"]) or {}).get("status") == "EGRESS_ACTIVE"
    assert S["pub"].poll() is None, "the publisher was dropped by the Redis restart"
    # A fresh Redis knows the workers again (registrations are put back).
    hb = wait_until(lambda: len(S["redis"].command("KEYS", "sluice:hb:*")) == 2, 10)
    assert hb, S["redis"].command("KEYS", "sluice:*")


def test_stop_through_a_completes_with_matching_file():
    time.sleep(6)
    status, answer = twirp(S["a"], "Egress", "StopEgress", {"egressId": S["egress"]})
    assert status == 200, (status, answer, S["a"]["svc"].log()[-2000:])
    done = wait_until(lambda: (egress_on(S["a"], S["egress"]) or {}).get("status")
                      == "EGRESS_COMPLETE" and egress_on(S["a"], S["egress"]), 30)
    assert done, (egress_on(S["a"], S["egress"]), S["b"]["svc"].log()[-3000:])
    fi = done["fileResults"][0]
    path = fi["location"]
    assert path.startswith(S["b"]["out"]), (path, S["b"]["out"])
    info = media.ffprobe(path)
    assert media.stream(info, "video")["codec_name"] == "h264", media.summary(info)
    assert abs(media.format_duration(info) - int(fi["duration"]) / 1e9) <= 1.0, \
        (fi, media.summary(info))
    # Recorded from the egress's start (before the Redis restart) to the stop: at least 9 s.
    assert media.format_duration(info) >= 9, media.summary(info)


def test_start_stop_churn_every_egress_completes():
    """Egresses started and stopped back to back on the owner, first one after another, then
    from four client threads at once: a new output must never take over the tee pad of one
    being stopped (it would never receive media nor EOS), nor be linked to the running tee
    before it runs (the tee would pass its FLUSHING upstream, the source would stop reading
    the publisher and no stopped output would finalise)."""
    ids = []
    lock = threading.Lock()

    def churn(first, count, step):
        for i in range(first, count, step):
            info = call(S["b"], "Egress", "StartParticipantEgress",
                        {"roomName": "cluster-room", "identity": "cam1",
                         "fileOutputs": [{"filepath": "churn/%03d-{time}.mp4" % i}]})
            with lock:
                ids.append(info["egressId"])
            call(S["b"], "Egress", "StopEgress", {"egressId": info["egressId"]})

    churn(0, 20, 1)
    threads = [threading.Thread(target=churn, args=(20 + k, 100, 4)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(ids) == 100, len(ids)

    def statuses():
        return {i: (egress_on(S["b"], i) or {}).get("status") for i in ids}
    final = wait_until(lambda: all(v in ("EGRESS_COMPLETE", "EGRESS_FAILED", "EGRESS_ABORTED")
                                   for v in statuses().values()) and statuses(), 45, step=0.5)
    st = statuses()
    bad = {i: v for i, v in st.items() if v != "EGRESS_COMPLETE"}
    assert final and not bad, (len(bad), [egress_on(S["b"], i).get("error")
                                          for i in list(bad)[:3]])


def test_sigkill_of_owner_is_reaped_within_15s():
    info = call(S["a"], "Egress", "StartRoomCompositeEgress",
                {"roomName": "cluster-room",
                 "fileOutputs": [{"filepath": "cluster/composite-{time}.mp4"}]})
    S["egress2"] = info["egressId"]
    assert wait_until(lambda: (egress_on(S["a"], S["egress2"]) or {}).get("status")
                      == "EGRESS_ACTIVE", 15), egress_on(S["a"], S["egress2"])
    killed = time.monotonic()
    S["b"]["svc"].signal(signal.SIGKILL)
    ing = wait_until(lambda: status_of(ingress_on(S["a"], S["ingress"])) == "ENDPOINT_ERROR"
                     and ingress_on(S["a"], S["ingress"]), REAP_LIMIT + 5)
    t_ing = time.monotonic() - killed
    eg = wait_until(lambda: (egress_on(S["a"], S["egress2"]) or {}).get("status")
                    == "EGRESS_FAILED" and egress_on(S["a"], S["egress2"]), REAP_LIMIT + 5)
    t_eg = time.monotonic() - killed
    assert ing, (ingress_on(S["a"], S["ingress"]), S["a"]["svc"].log()[-2000:])
    assert eg, (egress_on(S["a"], S["egress2"]), S["a"]["svc"].log()[-2000:])
    assert t_ing <= REAP_LIMIT and t_eg <= REAP_LIMIT, (t_ing, t_eg)
    assert "worker-b" in ing["state"].get("error", ""), ing
    assert "worker-b" in eg.get("error", ""), eg
    print("# reaped after %.1f s (ingress) and %.1f s (egress)" % (t_ing, t_eg), flush=True)
    # The first egress stays as it ended.
    assert (egress_on(S["a"], S["egress"]) or {}).get("status") == "EGRESS_COMPLETE"


def test_ingress_takes_a_new_publisher_on_the_survivor():
    p = publish(S["a"], S["stream_key"], seconds=20)
    info = wait_until(lambda: status_of(ingress_on(S["a"], S["ingress"])) == "ENDPOINT_PUBLISHING"
                      and ingress_on(S["a"], S["ingress"]), 20)
    assert info, (ingress_on(S["a"], S["ingress"]), S["a"]["svc"].log()[-2000:])
    p.kill()


def main():
    if not RedisServer.available():
        t.skip("cluster", RedisServer.MISSING)
        t.done()
    try:
        for fn in [test_two_workers_join_one_redis, test_ingress_made_on_a_is_listed_by_b,
                   test_publish_to_b_is_publishing_on_a, test_second_publisher_on_a_is_refused,
                   test_egress_asked_of_a_runs_on_b, test_redis_restart_mid_session_loses_nothing,
                   test_stop_through_a_completes_with_matching_file,
                   test_start_stop_churn_every_egress_completes,
                   test_sigkill_of_owner_is_reaped_within_15s,
                   test_ingress_takes_a_new_publisher_on_the_survivor]:
            t.run(fn)
    finally:
        for c in children:
            c.kill()
        for k in ("a", "b"):
            if k in S:
                S[k]["svc"].stop()
        if "redis" in S:
            S["redis"].stop()
        shutil.rmtree(WORK, ignore_errors=True)
    t.done()


main()
