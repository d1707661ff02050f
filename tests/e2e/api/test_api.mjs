// sluice's API driven by LiveKit's own server SDK (livekit-server-sdk): ingresses made through
// the API take a real ffmpeg publish, egresses record the live session, and bad tokens or bodies
// are refused with Twirp errors. Run with: node --test --test-reporter=tap test_api.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  AccessToken,
  EgressClient,
  EgressStatus,
  EncodedFileOutput,
  IngressClient,
  IngressInput,
  WebhookReceiver,
} from 'livekit-server-sdk';

// livekit.IngressState.Status (the SDK does not re-export the enum)
const IngressState_Status = { ENDPOINT_INACTIVE: 0, ENDPOINT_BUFFERING: 1, ENDPOINT_PUBLISHING: 2 };

const SRC = process.env.SLUICE_SOURCE_ROOT ?? resolve(import.meta.dirname, '..', '..', '..');
const BUILD = process.env.SLUICE_BUILD_ROOT ?? join(SRC, 'build');
const SLUICE = process.env.SLUICE_BIN ?? join(BUILD, 'core', 'sluice');
const KEY = 'apikey-e2e';
const SECRET = 'api-secret-for-the-e2e-tests-0123456789';

const work = mkdtempSync(join(tmpdir(), 'sluice-api-'));
const outDir = join(work, 'recordings');
let svc;
let log = '';
let apiUrl;

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${log.slice(-3000)}`);
    await sleep(200);
  }
}

function ffprobe(file) {
  const r = spawnSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_format', '-show_streams', file], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function publish(url, seconds) {
  return spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i',
    'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-c:a', 'aac',
    '-f', 'flv', url], { stdio: ['ignore', 'ignore', 'pipe'] });
}

const exited = (p) => new Promise((r) => (p.exitCode !== null ? r(p.exitCode) : p.on('exit', r)));

// Every webhook sluice sends during the run, as the receiver saw it.
const webhooks = [];
const receiver = new WebhookReceiver(KEY, SECRET);
let hookServer;

before(async () => {
  const [api, rtmp, health, hook] = [await freePort(), await freePort(), await freePort(), await freePort()];
  hookServer = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', async () => {
      try {
        const ev = await receiver.receive(body, req.headers.authorization);
        webhooks.push({ ok: true, event: ev.event, ev });
      } catch (e) {
        webhooks.push({ ok: false, error: String(e), body });
      }
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => hookServer.listen(hook, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${api}`;
  const cfg = join(work, 'sluice.yaml');
  writeFileSync(cfg, [
    `api_port: ${api}`, `api_key: ${KEY}`, `api_secret: ${SECRET}`, `rtmp_port: ${rtmp}`,
    `health_port: ${health}`, 'bind_address: 127.0.0.1', `output_dir: ${outDir}`,
    'cpu_cost:', '  max_cpu_utilization: 1.0', '  rtmp_bypass_transcoding_cpu_cost: 0.0',
    'webhook:', `  urls: [http://127.0.0.1:${hook}/]`, `  api_key: ${KEY}`, '',
  ].join('\n'));
  svc = spawn(SLUICE, ['--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  svc.stderr.on('data', (d) => { log += d.toString(); });
  await waitFor('sluice to be ready', async () => log.includes(' ready: '));
});

after(async () => {
  if (svc && svc.exitCode === null) {
    svc.kill('SIGINT');
    await Promise.race([exited(svc), sleep(5000)]);
    if (svc.exitCode === null) svc.kill('SIGKILL');
  }
  hookServer?.close();
  if (!process.exitCode) rmSync(work, { recursive: true, force: true });
});

test('ingress from the API, live publish, participant and room composite egress to MP4', async () => {
  const ic = new IngressClient(apiUrl, KEY, SECRET);
  const ec = new EgressClient(apiUrl, KEY, SECRET);
  const info = await ic.createIngress(IngressInput.RTMP_INPUT, {
    name: 'camera', roomName: 'studio-room', participantIdentity: 'alice',
  });
  assert.match(info.ingressId, /^IN_/);
  assert.ok(info.streamKey.length >= 16);
  assert.match(info.url, /^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);

  const pub = publish(`${info.url}/${info.streamKey}`, 14);
  try {
    const live = await waitFor('ENDPOINT_PUBLISHING', async () => {
      const [i] = await ic.listIngress({ ingressId: info.ingressId });
      return i.state?.status === IngressState_Status.ENDPOINT_PUBLISHING ? i : null;
    });
    assert.equal(live.state.video.width, 1280);
    assert.equal(live.state.video.height, 720);
    assert.equal(live.state.tracks.length, 2);

    const p = await ec.startParticipantEgress('studio-room', 'alice', {
      file: new EncodedFileOutput({ filepath: 'participant-{publisher_identity}.mp4' }),
    });
    const rc = await ec.startRoomCompositeEgress('studio-room', {
      file: new EncodedFileOutput({ filepath: 'room-{room_name}.mp4' }),
    });
    assert.match(p.egressId, /^EG_/);
    await waitFor('EGRESS_ACTIVE', async () => {
      const [e] = await ec.listEgress({ egressId: p.egressId });
      return e.status === EgressStatus.EGRESS_ACTIVE;
    });
    await sleep(5000);
    const stopped = await ec.stopEgress(p.egressId);
    assert.ok([EgressStatus.EGRESS_ENDING, EgressStatus.EGRESS_COMPLETE].includes(stopped.status));
    const done = await waitFor('EGRESS_COMPLETE', async () => {
      const [e] = await ec.listEgress({ egressId: p.egressId });
      return e.status === EgressStatus.EGRESS_COMPLETE ? e : null;
    });
    assert.equal(done.fileResults.length, 1);
    const fi = done.fileResults[0];
    assert.ok(existsSync(fi.location), fi.location);
    const probed = ffprobe(fi.location);
    const dur = Number(probed.format.duration);
    assert.ok(Math.abs(dur - Number(fi.duration) / 1e9) <= 1.0, `FileInfo ${fi.duration} vs ffprobe ${dur}`);
    assert.ok(dur >= 3.5 && dur <= 7, `participant egress lasted ${dur}s`);
    assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    assert.equal(Number(fi.size), Number(probed.format.size));

    // The room composite ends with the session: the publisher leaves, the egress completes.
    assert.equal(await exited(pub), 0);
    const rcDone = await waitFor('room composite EGRESS_COMPLETE', async () => {
      const [e] = await ec.listEgress({ egressId: rc.egressId });
      return e.status === EgressStatus.EGRESS_COMPLETE ? e : null;
    });
    const rcFile = rcDone.fileResults[0];
    const rcProbe = ffprobe(rcFile.location);
    assert.ok(Math.abs(Number(rcProbe.format.duration) - Number(rcFile.duration) / 1e9) <= 1.0);
    assert.equal(rcProbe.streams.find((s) => s.codec_type === 'video').width, 1280);
    const [after] = await ic.listIngress({ ingressId: info.ingressId });
    assert.equal(after.state.status, IngressState_Status.ENDPOINT_INACTIVE);
  } finally {
    if (pub.exitCode === null) pub.kill('SIGKILL');
  }
});

test('egress for a room or participant that is not live fails fast with not_found', async () => {
  const ec = new EgressClient(apiUrl, KEY, SECRET);
  await assert.rejects(
    ec.startRoomCompositeEgress('nobody-here', { file: new EncodedFileOutput({ filepath: 'x.mp4' }) }),
    (e) => e.code === 'not_found' && /no live session/.test(e.message));
  await assert.rejects(ec.stopEgress('EG_doesnotexist'), (e) => e.code === 'not_found');
});

async function rawCall(method, body, token, contentType = 'application/json') {
  const r = await fetch(`${apiUrl}/twirp/livekit.Ingress/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': contentType, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body,
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function token(opts = {}) {
  const at = new AccessToken(opts.key ?? KEY, opts.secret ?? SECRET, { ttl: opts.ttl ?? '10m' });
  at.addGrant(opts.grant ?? { ingressAdmin: true });
  return at.toJwt();
}

test('bad tokens and bad bodies get Twirp errors and change nothing', async () => {
  const before = await rawCall('ListIngress', '{}', await token());
  assert.equal(before.status, 200);
  const count = (before.body.items ?? []).length;

  const wrong = await rawCall('CreateIngress', '{"inputType":"RTMP_INPUT"}', await token({ secret: 'not-the-secret-at-all-000000' }));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.code, 'unauthenticated');

  const expired = await rawCall('CreateIngress', '{}', await token({ ttl: -60 }));
  assert.equal(expired.status, 401);

  const noGrant = await rawCall('CreateIngress', '{}', await token({ grant: { roomRecord: true } }));
  assert.equal(noGrant.status, 403);
  assert.equal(noGrant.body.code, 'permission_denied');

  const none = await rawCall('CreateIngress', '{}', null);
  assert.equal(none.status, 401);

  const malformed = await rawCall('CreateIngress', '{"inputType": RTMP', await token());
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.code, 'malformed');

  const badField = await rawCall('CreateIngress', '{"roomName": 42}', await token());
  assert.equal(badField.status, 400);

  const after = await rawCall('ListIngress', '{}', await token());
  assert.equal((after.body.items ?? []).length, count);
  assert.ok(svc.exitCode === null, 'sluice still running');
});

test('every webhook verifies with WebhookReceiver and the life cycle is complete', async () => {
  await waitFor('egress_ended webhooks', async () =>
    webhooks.filter((w) => w.ok && w.event === 'egress_ended').length >= 2);
  const bad = webhooks.filter((w) => !w.ok);
  assert.deepEqual(bad, [], 'webhooks that did not verify');
  const events = new Set(webhooks.map((w) => w.event));
  for (const e of ['ingress_started', 'ingress_ended', 'egress_started', 'egress_ended'])
    assert.ok(events.has(e), `missing ${e} in ${[...events]}`);
  const ended = webhooks.find((w) => w.event === 'egress_ended' && w.ev.egressInfo.fileResults.length);
  assert.ok(ended, 'an egress_ended webhook carries its FileInfo');
  const started = webhooks.find((w) => w.event === 'ingress_started');
  assert.equal(started.ev.ingressInfo.state.status, 2);
});
