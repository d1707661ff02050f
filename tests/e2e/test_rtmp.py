"""RTMP ingest end to end: real publishers (ffmpeg, GStreamer's rtmp2sink) into sluice running
the input-rtmp and output-file plugins. Every recording is checked with ffprobe (codec, profile,
size, duration, bitrate) and decoded; HLS playlists are parsed and their segments probed.

One service serves tests 1-7 (each on its own ingress, run one after another so that metric
deltas belong to one test; a service that dies is reported and replaced for the tests after it);
the 20-publisher test has a service of its own. Publishers never outlive a test: every child has
a timeout and is killed in `finally`. The publishers' media is encoded once and cached
(media.CACHE), so a run takes about 100 s on 2 cores.
"""
import glob
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import traceback

import media
from sluicetest import BUILD, Sluice, Tap, free_port, http_get, ports, write_config

t = Tap()
WORK = tempfile.mkdtemp(prefix="sluice-rtmp-")
PLUGIN_PATH = os.pathsep.join(os.path.abspath(os.path.join(BUILD, "plugins", p))
                              for p in ["input-rtmp", "output-file"])

# Small media for the publishers that copy (-c copy) a file: made once, cached between runs.
SMALL = (640, 360)


def key(name):
    return "sk-%s-%s" % (name, secrets.token_hex(6))


# ---------------------------------------------------------------------------------------------
# A running service with its config, log, metrics and recordings


class Ingress:
    def __init__(self, name, file=True, segments=False):
        self.name = name
        self.key = key(name)
        self.room = "room-" + name
        self.file = file
        self.segments = segments

    def yaml(self):
        y = ("  - name: %s\n    stream_key: %s\n    room_name: %s\n"
             "    participant_identity: %s\n    outputs:\n" % (self.name, self.key, self.room,
                                                              self.name))
        if self.file:
            y += '      file: { filepath: "%s/{room_name}-{time}.mp4" }\n' % self.name
        if self.segments:
            y += ('      segments: { filename_prefix: "%s/hls/{room_name}", '
                  'playlist_name: "index.m3u8", live_playlist_name: "live.m3u8", '
                  'segment_duration: 2 }\n' % self.name)
        return y


class Session:
    def __init__(self, m, index):
        self.sid = m.group(1)
        self.kind = m.group(2)
        self.remote = m.group(3)
        self.pid = int(m.group(4))
        self.state = m.group(5)
        self.index = index
        self.seen = time.monotonic()


class Service:
    def __init__(self, name, ingresses, extra="", rtmps=None):
        self.dir = os.path.join(WORK, name)
        self.out = os.path.join(self.dir, "recordings")
        os.makedirs(self.out)
        self.ingress = {i.name: i for i in ingresses}
        self.health, self.prom, self.rtmp, tls = ports(4)
        self.rtmps = tls if rtmps else 0
        text = ("health_port: %d\nprometheus_port: %d\nrtmp_port: %d\nbind_address: 127.0.0.1\n"
                "output_dir: %s\nplugins:\n  enable: [input-rtmp, output-file]\n"
                % (self.health, self.prom, self.rtmp, self.out))
        if rtmps:
            text += "rtmps_port: %d\nrtmps_cert_file: %s\nrtmps_key_file: %s\n" % (
                self.rtmps, rtmps[0], rtmps[1])
        text += extra
        text += "ingresses:\n" + "".join(i.yaml() for i in ingresses)
        self.config = write_config(text, self.dir)
        self.s = Sluice(["--config", self.config], env={"SLUICE_PLUGIN_PATH": PLUGIN_PATH})
        self.s.wait_ready(15)

    def url(self, ingress, tls=False, stream_key=None):
        k = stream_key or self.ingress[ingress].key
        if tls:
            return "rtmps://127.0.0.1:%d/live/%s" % (self.rtmps, k)
        return "rtmp://127.0.0.1:%d/live/%s" % (self.rtmp, k)

    # -- log

    def mark(self):
        with self.s.cond:
            return len(self.s.lines)

    def lines(self, since=0):
        with self.s.cond:
            return list(self.s.lines[since:])

    def log_tail(self, since=0, n=80):
        return "\n".join(self.lines(since)[-n:])

    def wait_re(self, pattern, since=0, timeout=10):
        """(index, match) of the first log line from `since` on matching `pattern`, or None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.s.cond:
            while True:
                for i in range(since, len(self.s.lines)):
                    m = rx.search(self.s.lines[i])
                    if m:
                        return i, m
                if self.s.proc.poll() is not None and not self.s.reader.is_alive():
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.s.cond.wait(min(left, 0.1))

    def find_all(self, pattern, since=0):
        rx = re.compile(pattern)
        return [(i, m) for i, l in enumerate(self.lines(since), since) for m in [rx.search(l)] if m]

    SESSION = r"session:(RT_\w+): ingress %s \(\S+\): (\w+) publisher from ([^,]+), handler pid (\d+), (ENDPOINT_\w+)"

    def wait_session(self, ingress, since, timeout=15):
        r = self.wait_re(self.SESSION % re.escape(ingress), since, timeout)
        if r is None:
            raise AssertionError("no session started for ingress %s within %d s; log:\n%s"
                                 % (ingress, timeout, self.log_tail(since)))
        return Session(r[1], r[0])

    def sessions(self, ingress, since):
        return self.find_all(self.SESSION % re.escape(ingress), since)

    def wait_publishing(self, sess, timeout=15):
        r = self.wait_re(r"session:%s: ingress \S+: ENDPOINT_PUBLISHING" % sess.sid, sess.index,
                         timeout)
        return r

    def wait_ended(self, sess, timeout=30):
        """(index, state, rest of the line) of the session's `ended:` line, or None."""
        r = self.wait_re(r"session:%s: ended: (ENDPOINT_\w+)(.*)$" % sess.sid, sess.index,
                         timeout)
        if r is None:
            return None
        return r[0], r[1].group(1), r[1].group(2)

    # -- metrics

    def metrics(self):
        status, body = http_get("http://127.0.0.1:%d/metrics" % self.prom)
        assert status == 200, (status, body)
        return parse_metrics(body)

    # -- files

    def recordings(self, ingress):
        return sorted(glob.glob(os.path.join(self.out, ingress, "*.mp4")))

    def all_files(self):
        out = set()
        for root, _, files in os.walk(self.out):
            for f in files:
                out.add(os.path.join(root, f))
        return out

    def wait_quiet(self, timeout=20, load=0.6):
        """Waits (at most `timeout` s, never failing) until the node's measured CPU load is below
        `load`. Admission measures the whole machine, so the ffmpeg decodes a test has just run
        would otherwise get the next publisher refused for want of CPU."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            samples = self.metrics()
            if metric(samples, "livekit_node_cpu_load") < load:
                return True
            time.sleep(0.5)
        return False

    def close(self):
        """SIGINT (sessions stop cleanly), then SIGKILL if it has not exited in 15 s."""
        if self.s.proc.poll() is None:
            self.s.signal(signal.SIGINT)
            self.s.wait_exit(15)
        self.s.stop()
        with open(os.path.join(self.dir, "sluice.log"), "w") as f:
            f.write(self.s.log() + "\n")


LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(body):
    out = []
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            labels = dict(LABEL.findall(m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def metric(samples, name, **labels):
    """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == w
                                                              for k, w in labels.items()))


def publish_status(samples, status):
    return metric(samples, "sluice_ingress_publish_status_total", type="rtmp", status=status)


def ended_total(samples, status):
    return metric(samples, "sluice_ingress_sessions_ended_total", type="rtmp", status=status)


def active(samples):
    return metric(samples, "livekit_ingress_requests", type="rtmp")


# ---------------------------------------------------------------------------------------------
# Checks on media: each emits TAP lines, so one test reports everything it finds


def near(value, lo, hi):
    return value is not None and lo <= value <= hi


def check_mp4(label, path, video, audio, duration, min_video_bps=100_000, decode="clean"):
    """Probes an MP4 and checks its streams: `video`/`audio` are dicts of the ffprobe fields that
    must match; `duration` is (lo, hi) seconds for the container and each stream; `decode` is
    'clean' (ffmpeg prints nothing), 'plays' (exit 0 and enough frames) or None."""
    try:
        info = media.ffprobe(path)
    except Exception as e:
        t.ok(False, "%s: ffprobe reads %s" % (label, os.path.basename(path)), e)
        return None
    diag = "%s\n%s" % (path, media.summary(info))
    v, a = media.stream(info, "video"), media.stream(info, "audio")
    got = {k: (v or {}).get(k) for k in video}
    vb = media.bit_rate(v)
    t.ok(v is not None and got == video and vb is not None and vb >= min_video_bps,
         "%s: video %s, >= %d kb/s" % (label, " ".join(str(x) for x in video.values()),
                                        min_video_bps // 1000),
         "want %s\ngot  %s, bit_rate %s\n%s" % (video, got, vb, diag))
    got = {k: (a or {}).get(k) for k in audio}
    ab = media.bit_rate(a)
    t.ok(a is not None and got == audio and ab is not None and ab >= 16_000,
         "%s: audio %s" % (label, " ".join(str(x) for x in audio.values())),
         "want %s\ngot  %s, bit_rate %s\n%s" % (audio, got, ab, diag))
    lo, hi = duration
    durs = {"format": media.format_duration(info), "video": media.stream_duration(v),
            "audio": media.stream_duration(a)}
    t.ok(all(near(d, lo, hi) for d in durs.values()),
         "%s: duration in [%.1f, %.1f] s (container, video, audio)" % (label, lo, hi),
         "durations %s (video start_time %s, audio start_time %s)\n%s" % (
             durs, (v or {}).get("start_time"), (a or {}).get("start_time"), diag))
    if decode == "clean":
        rc, errs = media.decode_errors(path)
        t.ok(rc == 0 and errs == "", "%s: decodes cleanly" % label,
             "ffmpeg -v error -i %s -f null - -> exit %d:\n%s" % (path, rc, errs[-3000:]))
    elif decode == "plays":
        rc, errs = media.decode_errors(path)
        frames = media.decoded_video_frames(path)
        want = int(lo * 30)
        t.ok(rc == 0 and frames >= want, "%s: plays (>= %d video frames decode)" % (label, want),
             "exit %d, %d frames decoded; ffmpeg said:\n%s" % (rc, frames, errs[-3000:]))
    return info


def one_recording(svc, ingress, label):
    recs = svc.recordings(ingress)
    t.ok(len(recs) == 1, "%s: exactly one MP4 written" % label,
         "found %s; all files: %s" % (recs, sorted(svc.all_files())))
    if not recs:
        raise AssertionError("no recording for %s in %s" % (ingress, svc.out))
    return recs[-1]


def expect_rc(label, proc, timeout, want_zero=True):
    rc = proc.wait(timeout)
    if want_zero:
        t.ok(rc == 0, "%s: publisher exits 0" % label, "timed out after %d s" % timeout
             if rc is None else proc.describe())
    else:
        t.ok(rc is not None and rc != 0, "%s: publisher exits non-zero" % label,
             "timed out after %d s" % timeout if rc is None else proc.describe())
    return rc


def expect_ended(svc, sess, label, state, timeout=30, reason=None):
    e = svc.wait_ended(sess, timeout)
    ok = e is not None and e[1] == state and (reason is None or reason in e[2])
    t.ok(ok, "%s: session ends %s%s" % (label, state, " (%s)" % reason if reason else ""),
         "ended line: %r\nlog:\n%s" % (e and (e[1], e[2]), svc.log_tail(sess.index)))
    return e


# ---------------------------------------------------------------------------------------------
# 1-7 on one service


def test_ffmpeg_publisher(svc):
    label = "ffmpeg"
    svc.wait_quiet()
    mark, before = svc.mark(), svc.metrics()
    pub = media.Proc([media.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "warning", "-re",
                      "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                      "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10",
                      "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-c:a", "aac",
                      "-f", "flv", svc.url("studio")], name="ffmpeg-studio", directory=WORK)
    try:
        sess = svc.wait_session("studio", mark)
        pubr = svc.wait_publishing(sess)
        expect_rc(label, pub, 40)
        e = expect_ended(svc, sess, label, "ENDPOINT_INACTIVE")
        order = (sess.state == "ENDPOINT_BUFFERING" and pubr is not None and e is not None
                 and sess.index < pubr[0] < e[0])
        t.ok(order, "%s: states BUFFERING, then PUBLISHING, then ended INACTIVE" % label,
             svc.log_tail(mark))
    finally:
        pub.kill()

    after = svc.metrics()
    rec = one_recording(svc, "studio", label)
    closed = svc.find_all(r"session:%s: recording (\S+) closed: " % sess.sid, mark)
    t.ok(closed and os.path.samefile(closed[0][1].group(1), rec),
         "%s: log says the recording was closed, naming its path" % label, svc.log_tail(mark))
    d_success = publish_status(after, "success") - publish_status(before, "success")
    d_inactive = ended_total(after, "ENDPOINT_INACTIVE") - ended_total(before, "ENDPOINT_INACTIVE")
    d_bytes = metric(after, "sluice_ingress_bytes_in_total", type="rtmp") - \
        metric(before, "sluice_ingress_bytes_in_total", type="rtmp")
    t.ok(publish_status(after, "success") == 1 and d_inactive == 1 and active(after) == 0
         and d_bytes >= 0.9 * os.path.getsize(rec),
         "%s: metrics: publish success 1, one session ended INACTIVE, none active, bytes in "
         "counted" % label,
         "success %s (delta %s), ended INACTIVE delta %s, active %s, bytes in delta %s (MP4 %d)"
         % (publish_status(after, "success"), d_success, d_inactive, active(after), d_bytes,
            os.path.getsize(rec)))

    check_mp4(label + " MP4", rec,
              {"codec_name": "h264", "profile": "High", "width": 1280, "height": 720},
              {"codec_name": "aac", "profile": "LC", "sample_rate": "48000"}, (9.0, 11.0),
              min_video_bps=200_000)
    check_hls(label + " HLS", os.path.join(svc.out, "studio", "hls"), 10.0)


def check_hls(label, hls_dir, seconds):
    index = os.path.join(hls_dir, "index.m3u8")
    live = os.path.join(hls_dir, "live.m3u8")
    if not os.path.exists(index):
        t.ok(False, "%s: index.m3u8 written" % label,
             "%s: %s" % (hls_dir, os.listdir(hls_dir) if os.path.isdir(hls_dir) else "no dir"))
        return
    pl = media.Playlist(index)
    diag = "%s:\n%s" % (index, pl.text)
    segs = pl.segments
    t.ok(pl.endlist and pl.playlist_type == "EVENT",
         "%s: index.m3u8 is an EVENT playlist with EXT-X-ENDLIST" % label, diag)
    pdts = [s["pdt"] for s in segs]
    steady = all(pdts[i + 1] > pdts[i] for i in range(len(pdts) - 1)) if None not in pdts else False
    t.ok(pl.pdt_count == len(segs) and steady and segs,
         "%s: one EXT-X-PROGRAM-DATE-TIME per segment, increasing" % label, diag)
    td = pl.target_duration
    t.ok(td is not None and segs and all(s["extinf"] is not None and round(s["extinf"]) <= td
                                         for s in segs),
         "%s: TARGETDURATION >= every EXTINF rounded" % label, diag)
    t.ok(4 <= len(segs) <= 6, "%s: %d segments for %.0f s at 2 s (4-6)" % (label, len(segs),
                                                                            seconds), diag)
    problems = []
    for s in segs:
        try:
            info = media.ffprobe(s["path"])
            v, a = media.stream(info, "video"), media.stream(info, "audio")
            if not (v and v.get("codec_name") == "h264" and v.get("width") == 1280
                    and v.get("height") == 720 and a and a.get("codec_name") == "aac"):
                problems.append("%s: streams\n%s" % (s["uri"], media.summary(info)))
            d = media.format_duration(info)
            if d is None or abs(d - s["extinf"]) > 0.5:
                problems.append("%s: EXTINF %.3f but the segment holds %s s\n%s"
                                % (s["uri"], s["extinf"], d, media.summary(info)))
        except Exception as e:
            problems.append("%s: %s" % (s["uri"], e))
    t.ok(segs and not problems,
         "%s: every segment probes as h264 1280x720 + aac, its length as its EXTINF (+-0.5 s)"
         % label, "\n".join(problems))
    try:
        info = media.ffprobe(index)
        d = media.format_duration(info)
        t.ok(near(d, seconds - 1, seconds + 1),
             "%s: ffprobe on the playlist gives %.0f +- 1 s" % (label, seconds),
             "duration %s, EXTINF sum %.3f\n%s\n%s" % (d, pl.total(), media.summary(info), diag))
    except Exception as e:
        t.ok(False, "%s: ffprobe reads the playlist" % label, e)
    if os.path.exists(live):
        lp = media.Playlist(live)
        t.ok(1 <= len(lp.segments) <= 5, "%s: live.m3u8 holds at most 5 segments" % label,
             lp.text)
    else:
        t.ok(False, "%s: live.m3u8 written" % label, os.listdir(hls_dir))


def test_gstreamer_publisher(svc):
    label = "gstreamer"
    enc, profile = media.gst_h264_encoder(60)
    aac = media.gst_aac_encoder()
    if not enc or not aac or not media.gst_has("rtmp2sink"):
        t.skip(label + ": publish with rtmp2sink", "missing GStreamer elements: h264 %s, aac %s"
               % (enc, aac))
        return
    svc.wait_quiet()
    mark = svc.mark()
    # One AAC frame per audio buffer (1024 samples): 469 of them are 10.005 s, like the 300
    # video frames at 30/s.
    pipeline = ("-e videotestsrc num-buffers=300 is-live=true "
                "! video/x-raw,width=1280,height=720,framerate=30/1 ! %s ! h264parse ! queue "
                "! flvmux name=m streamable=true ! rtmp2sink location=%s "
                "audiotestsrc is-live=true samplesperbuffer=1024 num-buffers=469 "
                "! audio/x-raw,rate=48000 ! audioconvert ! %s ! aacparse ! queue ! m."
                % (enc, svc.url("gst"), aac))
    pub = media.Proc([media.GST_LAUNCH] + shlex.split(pipeline), name="gst-launch",
                     directory=WORK)
    try:
        sess = svc.wait_session("gst", mark)
        expect_rc(label, pub, 40)
        expect_ended(svc, sess, label, "ENDPOINT_INACTIVE")
    finally:
        pub.kill()
    rec = one_recording(svc, "gst", label)
    check_mp4(label + " MP4", rec,
              {"codec_name": "h264", "profile": profile, "width": 1280, "height": 720},
              {"codec_name": "aac", "profile": "LC", "sample_rate": "48000"}, (9.0, 11.0))


def small_video(path):
    """The video fields a copy of `path` must keep."""
    v = media.stream(media.ffprobe(path), "video")
    return {"codec_name": "h264", "profile": v["profile"], "width": SMALL[0], "height": SMALL[1]}


AUDIO = {"codec_name": "aac", "profile": "LC", "sample_rate": "48000"}


def test_rtmps_publisher(svc, pre10):
    label = "rtmps"
    svc.wait_quiet()
    mark = svc.mark()
    pub = media.ffmpeg_publish(svc.url("tls", tls=True), ["-re", "-i", pre10], name="ffmpeg-tls",
                               directory=WORK)
    try:
        sess = svc.wait_session("tls", mark)
        # The listener logs the accepted publish just after the session starts: give it a moment.
        deadline = time.monotonic() + 5
        tls_line = svc.find_all(r"rtmps %s: publishing" % re.escape(sess.remote), mark)
        while not tls_line and time.monotonic() < deadline:
            time.sleep(0.1)
            tls_line = svc.find_all(r"rtmps %s: publishing" % re.escape(sess.remote), mark)
        t.ok(bool(tls_line), "%s: the publisher came in on the TLS listener" % label,
             svc.log_tail(mark))
        expect_rc(label, pub, 40)
        expect_ended(svc, sess, label, "ENDPOINT_INACTIVE")
    finally:
        pub.kill()
    rec = one_recording(svc, "tls", label)
    check_mp4(label + " MP4", rec, small_video(pre10), AUDIO, (9.0, 11.0))


def test_wrong_key_is_refused(svc, pre10):
    label = "wrong key"
    svc.wait_quiet()
    mark, before, files = svc.mark(), svc.metrics(), svc.all_files()
    wrong = "sk-wrong-" + secrets.token_hex(6)
    pub = media.ffmpeg_publish(svc.url(None, stream_key=wrong), ["-re", "-i", pre10, "-t", "3"],
                               name="ffmpeg-wrong", directory=WORK)
    try:
        expect_rc(label, pub, 30, want_zero=False)
    finally:
        pub.kill()
    refused = svc.wait_re(r"publish with key .* refused", mark, 5)
    t.ok(refused is not None and wrong not in svc.log_tail(mark, 10000),
         "%s: the log says the publish was refused, without the key" % label, svc.log_tail(mark))
    time.sleep(1)
    started = svc.find_all(r"publisher from", mark)
    after = svc.metrics()
    d4 = publish_status(after, "4xx") - publish_status(before, "4xx")
    ds = publish_status(after, "success") - publish_status(before, "success")
    new_files = svc.all_files() - files
    t.ok(not started and not new_files and active(after) == 0,
         "%s: no session started, nothing written" % label,
         "sessions %s, new files %s, active %s" % ([m.group(0) for _, m in started], new_files,
                                                   active(after)))
    t.ok(d4 == 1 and ds == 0, "%s: metrics: publish 4xx +1, success +0" % label,
         "4xx delta %s, success delta %s" % (d4, ds))


def test_second_publisher_on_live_key(svc, pre10, pre30):
    label = "second publisher"
    svc.wait_quiet()
    mark = svc.mark()
    first = media.ffmpeg_publish(svc.url("dup"), ["-re", "-i", pre30], ["-t", "15", "-c", "copy"],
                                 name="ffmpeg-dup-1", directory=WORK)
    second = None
    try:
        sess = svc.wait_session("dup", mark)
        svc.wait_publishing(sess)
        time.sleep(max(0.0, sess.seen + 3 - time.monotonic()))
        second = media.ffmpeg_publish(svc.url("dup"), ["-re", "-i", pre10, "-t", "5"],
                                      name="ffmpeg-dup-2", directory=WORK)
        expect_rc(label + " (the second)", second, 20, want_zero=False)
        why = svc.wait_re(r"already has a live publisher", mark, 5)
        t.ok(why is not None, "%s: the log says the key already has a live publisher" % label,
             svc.log_tail(mark))
        t.ok(len(svc.sessions("dup", mark)) == 1 and first.poll() is None,
             "%s: no second session; the first publisher goes on" % label, svc.log_tail(mark))
        expect_rc(label + " (the first)", first, 40)
        expect_ended(svc, sess, label + " (the first)", "ENDPOINT_INACTIVE")
    finally:
        first.kill()
        if second:
            second.kill()
    rec = one_recording(svc, "dup", label)
    check_mp4(label + ": first MP4", rec, small_video(pre30), AUDIO, (14.0, 16.0))


def test_publisher_killed_midstream(svc, pre30):
    label = "publisher killed"
    svc.wait_quiet()
    mark = svc.mark()
    pub = media.ffmpeg_publish(svc.url("dropped"), ["-re", "-i", pre30], name="ffmpeg-dropped",
                               directory=WORK)
    try:
        sess = svc.wait_session("dropped", mark)
        svc.wait_publishing(sess)
        time.sleep(max(0.0, sess.seen + 6.5 - time.monotonic()))
        t.ok(pub.poll() is None, "%s: publisher still running at 6 s" % label, pub.describe())
        pub.signal(signal.SIGKILL)
        killed = time.monotonic()
        pub.wait(5)
        e = expect_ended(svc, sess, label, "ENDPOINT_INACTIVE", timeout=45)
        if e:
            t.ok(time.monotonic() - killed < 15, "%s: the session ends soon after" % label,
                 "%.1f s after the kill" % (time.monotonic() - killed))
    finally:
        pub.kill()
    rec = one_recording(svc, "dropped", label)
    check_mp4(label + ": MP4", rec, small_video(pre30), AUDIO, (5.0, 8.0))


def is_handler(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return b"handler" in argv and os.path.basename(argv[0].decode()).startswith("sluice")


def test_handler_sigkill_ends_one_session(svc, pre30):
    label = "handler killed"
    svc.wait_quiet()
    mark, before = svc.mark(), svc.metrics()
    a = media.ffmpeg_publish(svc.url("crash-a"), ["-re", "-i", pre30], name="ffmpeg-crash-a",
                             directory=WORK)
    b = media.ffmpeg_publish(svc.url("crash-b"), ["-re", "-i", pre30], ["-t", "16", "-c", "copy"],
                             name="ffmpeg-crash-b", directory=WORK)
    try:
        sa = svc.wait_session("crash-a", mark)
        sb = svc.wait_session("crash-b", mark)
        pa = svc.wait_publishing(sa)
        assert pa is not None, svc.log_tail(mark)
        assert is_handler(sa.pid), "pid %d from the log is not a sluice handler" % sa.pid
        time.sleep(max(0.0, sa.seen + 10 - time.monotonic()))
        os.kill(sa.pid, signal.SIGKILL)
        expect_ended(svc, sa, label + ": A", "ENDPOINT_ERROR", timeout=15,
                     reason="killed by signal 9")
        t.ok(b.poll() is None and not svc.find_all(r"session:%s: ended" % sb.sid, mark),
             "%s: B still publishing after A's handler died" % label, svc.log_tail(mark))
        expect_rc(label + ": B", b, 40)
        expect_ended(svc, sb, label + ": B", "ENDPOINT_INACTIVE")
    finally:
        a.kill()
        b.kill()
    status, body = http_get("http://127.0.0.1:%d/" % svc.health)
    t.ok(svc.s.proc.poll() is None and status == 200,
         "%s: the service still answers /" % label, (status, body))
    after = svc.metrics()
    d_err = ended_total(after, "ENDPOINT_ERROR") - ended_total(before, "ENDPOINT_ERROR")
    t.ok(d_err == 1 and active(after) == 0,
         "%s: metrics: one session ended ERROR, none active" % label,
         "ERROR delta %s, active %s" % (d_err, active(after)))
    rec_a = one_recording(svc, "crash-a", label + ": A")
    check_mp4(label + ": A MP4 (after SIGKILL)", rec_a, small_video(pre30), AUDIO, (8.0, 11.5),
              decode="plays")
    rec_b = one_recording(svc, "crash-b", label + ": B")
    check_mp4(label + ": B MP4", rec_b, small_video(pre30), AUDIO, (15.0, 17.0))


# ---------------------------------------------------------------------------------------------
# 8: 20 publishers on one worker, its own service


def test_twenty_concurrent_publishers(pre10):
    label = "20 publishers"
    n = 20
    ings = [Ingress("multi-%02d" % i) for i in range(n)]
    # No cost per passthrough session: admission measures the whole machine, which other work on
    # it may be using too; admission itself is covered by the unit tests.
    svc = Service("multi", ings, extra="cpu_cost:\n  rtmp_bypass_transcoding_cpu_cost: 0.0\n"
                                       "  max_cpu_utilization: 1.0\n")
    pubs = []
    try:
        svc.wait_quiet()
        mark = svc.mark()
        for i in ings:
            pubs.append(media.ffmpeg_publish(svc.url(i.name), ["-re", "-i", pre10],
                                             name="ffmpeg-" + i.name, directory=WORK))
        deadline = time.monotonic() + 60
        rcs = [p.wait(deadline - time.monotonic()) for p in pubs]
        t.ok(all(rc == 0 for rc in rcs), "%s: every publisher exits 0" % label,
             "\n".join(p.describe() for p, rc in zip(pubs, rcs) if rc != 0))
        ended = {}
        deadline = time.monotonic() + 30
        for i in ings:
            started = svc.sessions(i.name, mark)
            if not started:
                ended[i.name] = None
                continue
            sess = Session(started[0][1], started[0][0])
            e = svc.wait_ended(sess, max(0.1, deadline - time.monotonic()))
            ended[i.name] = e and e[1]
        t.ok(all(v == "ENDPOINT_INACTIVE" for v in ended.values()),
             "%s: 20 sessions ran and ended INACTIVE" % label,
             "%s\nlog:\n%s" % ({k: v for k, v in ended.items() if v != "ENDPOINT_INACTIVE"},
                               svc.log_tail(mark, 200)))
        m = svc.metrics()
        t.ok(publish_status(m, "success") == n and publish_status(m, "5xx") == 0
             and publish_status(m, "4xx") == 0 and active(m) == 0,
             "%s: metrics: 20 publish successes, no refusals, none active" % label,
             "success %s, 4xx %s, 5xx %s, internal %s, active %s" % (
                 publish_status(m, "success"), publish_status(m, "4xx"),
                 publish_status(m, "5xx"), publish_status(m, "internal"), active(m)))
        want_v = small_video(pre10)
        bad_streams, bad_dur, bad_decode, missing = [], [], [], []
        for i in ings:
            recs = svc.recordings(i.name)
            if len(recs) != 1:
                missing.append("%s: %s" % (i.name, recs))
                continue
            try:
                info = media.ffprobe(recs[0])
            except Exception as e:
                bad_streams.append("%s: %s" % (i.name, e))
                continue
            v, a = media.stream(info, "video"), media.stream(info, "audio")
            got_v = {k: (v or {}).get(k) for k in want_v}
            got_a = {k: (a or {}).get(k) for k in AUDIO}
            if got_v != want_v or got_a != AUDIO:
                bad_streams.append("%s: %s\n%s" % (i.name, recs[0], media.summary(info)))
            durs = [media.format_duration(info), media.stream_duration(v),
                    media.stream_duration(a)]
            if not all(near(d, 8.5, 11.5) for d in durs):
                bad_dur.append("%s: %s (video start %s)" % (i.name, durs,
                                                            (v or {}).get("start_time")))
            rc, errs = media.decode_errors(recs[0])
            if rc != 0 or errs:
                bad_decode.append("%s: exit %d: %s" % (i.name, rc, errs[-500:]))
        t.ok(not missing, "%s: one MP4 per ingress" % label, "\n".join(missing))
        t.ok(not bad_streams and not missing,
             "%s: every MP4 is h264 %s %dx%d + aac" % (label, want_v["profile"], *SMALL),
             "\n".join(bad_streams))
        t.ok(not bad_dur and not missing,
             "%s: every MP4 lasts 10 +- 1.5 s (container, video, audio)" % label,
             "\n".join(bad_dur))
        t.ok(not bad_decode and not missing, "%s: every MP4 decodes cleanly" % label,
             "\n".join(bad_decode))
    finally:
        for p in pubs:
            p.kill()
        svc.close()


# ---------------------------------------------------------------------------------------------


def self_signed_cert(directory):
    cert, keyf = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", keyf, "-out", cert], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return cert, keyf


def run_test(fn, *args, svc=None):
    """Runs one test; an exception is one failed check with its traceback and the log's tail.
    A service that died during the test is one more failed check, with its exit status."""
    name = fn.__name__.replace("test_", "").replace("_", " ")
    started = time.monotonic()
    try:
        fn(*args)
    except Exception:
        diag = traceback.format_exc()
        if svc is not None:
            diag += "\nservice log (tail):\n" + svc.log_tail(n=40)
        t.ok(False, "%s: ran to the end" % name, diag)
    if svc is not None:
        rc = svc.s.proc.poll()
        t.ok(rc is None, "%s: the service is still running afterwards" % name,
             "sluice exited with status %s%s; log (tail):\n%s" % (
                 rc, " (killed by signal %d)" % -rc if rc is not None and rc < 0 else "",
                 svc.log_tail(n=40)))
    print("# %s: %.1f s" % (name, time.monotonic() - started), flush=True)


def main():
    t0 = time.monotonic()
    pre10 = media.cached_flv(SMALL[0], SMALL[1], 10)
    pre30 = media.cached_flv(SMALL[0], SMALL[1], 30)
    cert = self_signed_cert(WORK)
    # Admission is not under test here: a small cost and the whole machine as capacity, so that
    # a publisher is not refused because the test itself has just been decoding.
    extra = "cpu_cost:\n  max_cpu_utilization: 1.0\n  rtmp_bypass_transcoding_cpu_cost: 0.0\n"
    tests = [(test_ffmpeg_publisher, ()), (test_gstreamer_publisher, ()),
             (test_rtmps_publisher, (pre10,)), (test_wrong_key_is_refused, (pre10,)),
             (test_second_publisher_on_live_key, (pre10, pre30)),
             (test_publisher_killed_midstream, (pre30,)),
             (test_handler_sigkill_ends_one_session, (pre30,))]
    shared = None
    try:
        for n, (fn, args) in enumerate(tests):
            if shared is None or shared.s.proc.poll() is not None:
                # A service that died in one test must not fail the next ones as well.
                if shared is not None:
                    shared.close()
                ingresses = [Ingress("studio", segments=True), Ingress("gst"), Ingress("tls"),
                             Ingress("dup"), Ingress("dropped"), Ingress("crash-a"),
                             Ingress("crash-b")]
                shared = Service("shared-%d" % n, ingresses, rtmps=cert, extra=extra)
            run_test(fn, shared, *args, svc=shared)
    except Exception:
        t.ok(False, "shared service", traceback.format_exc() +
             ("\n" + shared.log_tail() if shared else ""))
    finally:
        if shared:
            shared.close()
    run_test(test_twenty_concurrent_publishers, pre10)
    print("# total %.1f s" % (time.monotonic() - t0), flush=True)
    if t.failed:
        print("# recordings and logs kept in %s" % WORK, flush=True)
    else:
        shutil.rmtree(WORK, ignore_errors=True)
    t.done()


main()
