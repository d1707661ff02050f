// The upload-azure plugin end to end: the real `sluice upload` CLI stores files in Azurite (which
// checks every SharedKey signature), and Microsoft's own client (@azure/storage-blob) reads them
// back as the independent judge: bytes (sha256), content type, Content-MD5, committed block list.
// Files up to azure.max_put_blob_mib (256 by default) go up in one Put Blob streamed from disk,
// larger ones in 8 MiB blocks; the block tests set max_put_blob_mib: 8 so that modest files
// take the block path. Faults come from a small proxy in front of Azurite that answers 5xx, drops
// the connection or corrupts the body for chosen attempts and counts every attempt; memory is
// measured against a sink that accepts anything, with a 512 MiB file (blocks) and a 256 MiB file
// (one streamed Put Blob). Several uploads at once go through concurrent-uploads.c.
// Run with: node --test --test-reporter=tap test_upload_azure.mjs (meson does, from this folder).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer as createNetServer, connect } from 'node:net';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const HERE = import.meta.dirname;
const SRC = process.env.SLUICE_SOURCE_ROOT ?? resolve(HERE, '..', '..', '..');
const BUILD = process.env.SLUICE_BUILD_ROOT ?? join(SRC, 'build');
const SLUICE = process.env.SLUICE_BIN ?? join(BUILD, 'core', 'sluice');
const PLUGIN = join(BUILD, 'plugins', 'upload-azure', 'sluice-upload-azure.so');
const HARNESS = join(BUILD, 'tests', 'plugins', 'upload-azure', 'concurrent-uploads');
const AZURITE = join(HERE, 'node_modules', '.bin', 'azurite-blob');

// Azurite's well-known development account.
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const CONTAINER = 'recordings';
const MIB = 1024 * 1024;

// Loaded after the check in before(), so a missing `npm ci` is one clear failure.
let BlobServiceClient, StorageSharedKeyCredential;

const work = mkdtempSync(join(tmpdir(), 'sluice-azure-'));
let azurite;
let azuriteLog = '';
let endpoint;
let container;

function freePort() {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function canConnect(port) {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); res(true); });
    s.on('error', () => res(false));
  });
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

function writeConfig(name, azure) {
  const lines = ['plugins:', '  enable: [upload-azure]', 'azure:'];
  for (const [k, v] of Object.entries(azure)) lines.push(`  ${k}: ${JSON.stringify(v)}`);
  const path = join(work, name + '.yaml');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

function config(name, overrides = {}) {
  return writeConfig(name, {
    account_name: ACCOUNT, account_key: KEY, container_name: CONTAINER, endpoint, ...overrides,
  });
}

// Runs a program; resolves with its exit code and output. `onSpawn` sees the child (for its pid).
function run(cmd, args, { onSpawn, timeoutMs = 120000 } = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, no_proxy: '127.0.0.1,localhost', NO_PROXY: '127.0.0.1,localhost' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
    if (onSpawn) onSpawn(child);
  });
}

const upload = (cfg, file, key, opts) => run(SLUICE, ['upload', '--config', cfg, file, key], opts);

function randomFile(name, size) {
  const path = join(work, name);
  const fd = openSync(path, 'w');
  for (let left = size; left > 0;) {
    const n = Math.min(left, 4 * MIB);
    writeSync(fd, randomBytes(n));
    left -= n;
  }
  closeSync(fd);
  return path;
}

// What the proxy should do with attempt `n` (1-based) of one distinct request: null to forward
// it to Azurite, a status to answer with (and ServerBusy's XML), or 'drop' to close the socket.
let faultPlan = () => null;
// Whether the proxy should flip one byte of the body of attempt `n` before forwarding it (what a
// fault on the way would do to a request that carries no Content-MD5).
let corruptPlan = () => false;
const seen = []; // {key, attempt, date, auth} for every request the proxy received
let proxyUrl;
let proxy;

function startProxy(targetPort) {
  const attempts = new Map();
  proxy = createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    seen.push({ key, attempt, date: req.headers['x-ms-date'], auth: req.headers.authorization });
    const fault = faultPlan(key, attempt);
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault !== null) {
      req.resume();
      req.on('end', () => {
        res.writeHead(fault, { 'content-type': 'application/xml', 'x-ms-error-code': 'ServerBusy' });
        res.end('<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>' +
                '<Message>Injected by the test proxy.\nRequestId:0</Message></Error>');
      });
      return;
    }
    // The body is read whole before it is forwarded: a streaming pipe deadlocks when Azurite
    // answers early (a 403 before the body) and stops reading, which no real client path has.
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const headers = { ...req.headers };
      delete headers.expect; // this proxy already answered it
      const up = httpRequest({
        host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers,
      }, (ur) => {
        res.writeHead(ur.statusCode, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => req.socket.destroy());
      const body = Buffer.concat(chunks);
      if (body.length > 0 && corruptPlan(key, attempt)) body[body.length >> 1] ^= 0xff;
      up.end(body);
    });
  });
  return new Promise((r) => proxy.listen(0, '127.0.0.1', () => {
    proxyUrl = `http://127.0.0.1:${proxy.address().port}/${ACCOUNT}`;
    r();
  }));
}

before(async () => {
  assert.ok(existsSync(AZURITE),
    `${AZURITE} is missing: run scripts/deps.sh --test (npm ci in tests/plugins/upload-azure)`);
  assert.ok(existsSync(PLUGIN), `${PLUGIN} is not built`);
  ({ BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob'));

  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}/${ACCOUNT}`;
  azurite = spawn(AZURITE, ['--blobHost', '127.0.0.1', '--blobPort', String(port),
    '--inMemoryPersistence', '--disableTelemetry', '--silent'], { stdio: ['ignore', 'pipe', 'pipe'] });
  azurite.stdout.on('data', (d) => { azuriteLog += d; });
  azurite.stderr.on('data', (d) => { azuriteLog += d; });
  for (let i = 0; !(await canConnect(port)); i++) {
    if (azurite.exitCode !== null || i > 300) throw new Error(`Azurite did not start:\n${azuriteLog}`);
    await sleep(100);
  }
  const svc = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(ACCOUNT, KEY));
  container = svc.getContainerClient(CONTAINER);
  await container.create();
  await startProxy(port);
});

after(async () => {
  if (proxy) proxy.close();
  if (azurite && azurite.exitCode === null) {
    azurite.kill('SIGTERM');
    await Promise.race([new Promise((r) => azurite.once('exit', r)), sleep(3000)]);
    if (azurite.exitCode === null) azurite.kill('SIGKILL');
  }
  rmSync(work, { recursive: true, force: true });
});

async function fetchBlob(name) {
  const blob = container.getBlockBlobClient(name);
  const props = await blob.getProperties();
  const data = await blob.downloadToBuffer();
  const list = await blob.getBlockList('committed');
  return { props, data, blocks: list.committedBlocks ?? [] };
}

function checkOk(r) {
  assert.equal(r.code, 0, `sluice upload failed (${r.code}):\n${r.stderr}`);
}

test('a small file goes up in one Put Blob, byte-identical, with its content type', async () => {
  const file = randomFile('small.mp4', 300 * 1024 + 7);
  const r = await upload(config('small'), file, 'small/clip.mp4');
  checkOk(r);
  assert.equal(r.stdout.trim(), `${endpoint}/${CONTAINER}/small/clip.mp4`);
  const got = await fetchBlob('small/clip.mp4');
  assert.equal(sha256(got.data), sha256(readFileSync(file)));
  assert.equal(got.props.contentType, 'video/mp4');
  assert.equal(got.props.blobType, 'BlockBlob');
  assert.equal(got.props.contentLength, 300 * 1024 + 7);
  // the service stores the MD5 of what it received (and answers with it; the plugin compares)
  assert.equal(Buffer.from(got.props.contentMD5).toString('base64'),
    createHash('md5').update(readFileSync(file)).digest('base64'));
});

test('an empty file is stored as an empty blob', async () => {
  const file = join(work, 'empty.txt');
  writeFileSync(file, '');
  const r = await upload(config('empty'), file, 'empty.txt');
  checkOk(r);
  const got = await fetchBlob('empty.txt');
  assert.equal(got.data.length, 0);
  assert.equal(got.props.contentType, 'text/plain');
});

test('a 64 MiB file goes up as 8 blocks of 8 MiB and one block list, byte-identical', async () => {
  // with max_put_blob_mib: 8 (by default 64 MiB is one Put Blob: tested below)
  const file = randomFile('big.mp4', 64 * MIB);
  const r = await upload(config('big', { max_put_blob_mib: 8 }), file, 'big/recording.mp4');
  checkOk(r);
  assert.equal(r.stdout.trim(), `${endpoint}/${CONTAINER}/big/recording.mp4`);
  const got = await fetchBlob('big/recording.mp4');
  assert.equal(sha256(got.data), sha256(readFileSync(file)));
  assert.equal(got.props.contentType, 'video/mp4'); // from x-ms-blob-content-type
  assert.equal(got.blocks.length, 8);
  for (const b of got.blocks) assert.equal(b.size, 8 * MIB);
  const idLengths = new Set(got.blocks.map((b) => b.name.length));
  assert.equal(idLengths.size, 1, 'every block id of a blob has the same length');
});

test('a 64 MiB file goes up in one streamed Put Blob by default', async () => {
  // Below the default max_put_blob_mib (256) a recording is one request, as Microsoft's SDKs
  // send it: no Put Block, no block list. The service's Content-MD5 is the MD5 of what it stored.
  const file = randomFile('whole.mp4', 64 * MIB);
  seen.length = 0;
  faultPlan = () => null;
  const r = await upload(config('whole', { endpoint: proxyUrl }), file, 'whole/recording.mp4');
  checkOk(r);
  assert.equal(r.stdout.trim(), `${proxyUrl}/${CONTAINER}/whole/recording.mp4`);
  assert.equal(seen.length, 1, seen.map((s) => s.key).join('\n'));
  assert.match(seen[0].key, /^PUT /);
  assert.ok(!seen[0].key.includes('comp='), seen[0].key);
  const data = readFileSync(file);
  const got = await fetchBlob('whole/recording.mp4');
  assert.equal(sha256(got.data), sha256(data));
  assert.equal(got.props.contentType, 'video/mp4');
  assert.equal(got.props.contentLength, 64 * MIB);
  assert.equal(Buffer.from(got.props.contentMD5).toString('base64'),
    createHash('md5').update(data).digest('base64'));
});

test('a file just over one block ends with a short block', async () => {
  const file = randomFile('odd.bin', 8 * MIB + 12345);
  const r = await upload(config('odd', { max_put_blob_mib: 8 }), file, 'odd.bin');
  checkOk(r);
  const got = await fetchBlob('odd.bin');
  assert.equal(sha256(got.data), sha256(readFileSync(file)));
  assert.deepEqual(got.blocks.map((b) => b.size), [8 * MIB, 12345]);
  assert.equal(got.props.contentType, 'application/octet-stream');
});

test('blob names with spaces, + and non-ASCII are stored under exactly that name', async () => {
  const small = randomFile('special-small', 1000);
  const large = randomFile('special-large', 9 * MIB); // 2 blocks with max_put_blob_mib: 8
  const names = [
    ['sp ace/ü+é!(x).txt', small, 'sp%20ace/%C3%BC%2B%C3%A9%21%28x%29.txt'],
    ["dir with space/a+b=c&d;e,f@g$h'i*.bin", small,
      'dir%20with%20space/a%2Bb%3Dc%26d%3Be%2Cf%40g%24h%27i%2A.bin'],
    ['日本語/ファイル (2).mp4', large,
      '%E6%97%A5%E6%9C%AC%E8%AA%9E/%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB%20%282%29.mp4'],
  ];
  // the small files take Put Blob, the large one Put Block (the name then also sits before a
  // blockid query) and Put Block List: every path signs the encoded name
  for (const [name, file, encoded] of names) {
    const r = await upload(config('special', { max_put_blob_mib: 8 }), file, name);
    checkOk(r);
    assert.equal(r.stdout.trim(), `${endpoint}/${CONTAINER}/${encoded}`);
    const got = await fetchBlob(name);
    assert.equal(sha256(got.data), sha256(readFileSync(file)), name);
    assert.equal(got.blocks.length, file === large ? 2 : 0, name);
  }
  const listed = [];
  for await (const b of container.listBlobsFlat()) listed.push(b.name);
  for (const [name] of names) assert.ok(listed.includes(name), `${name} not in ${listed.join(', ')}`);
  // '+' must not have become a space anywhere
  assert.ok(!listed.includes('sp ace/ü é!(x).txt'));
});

test('a wrong account key fails with the 403 named, once, and no key in the output', async () => {
  const wrong = randomBytes(64).toString('base64');
  const file = randomFile('denied.bin', 2048);
  seen.length = 0;
  faultPlan = () => null;
  const r = await upload(config('wrongkey', { account_key: wrong, endpoint: proxyUrl }), file,
    'denied/x.bin');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /HTTP 403/);
  assert.match(r.stderr, /AuthorizationFailure/);
  assert.match(r.stderr, /account_key/);
  assert.match(r.stderr, /Put Blob 'denied\/x\.bin'/);
  for (const secret of [wrong, KEY]) {
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), 'a key was printed');
  }
  assert.equal(seen.length, 1, 'a 403 is not retried');
  await assert.rejects(container.getBlobClient('denied/x.bin').getProperties(), { statusCode: 404 });
});

test('a wrong key on a large file fails on the first blocks and commits nothing', async () => {
  const wrong = randomBytes(64).toString('base64');
  const file = randomFile('denied-large.bin', 20 * MIB);
  // straight to Azurite, which refuses each block after its headers (100-continue)
  const direct = await upload(config('wrongkey2', { account_key: wrong, max_put_blob_mib: 8 }),
    file, 'denied/large.bin');
  assert.equal(direct.code, 1, direct.stderr);
  assert.match(direct.stderr,
    /Put Block \d of 3 of 'denied\/large\.bin': HTTP 403 AuthorizationFailure: .*account_key/);
  assert.doesNotMatch(direct.stderr, /retry|Block List/);
  // through the counting proxy
  seen.length = 0;
  faultPlan = () => null;
  const r = await upload(
    config('wrongkey3', { account_key: wrong, endpoint: proxyUrl, max_put_blob_mib: 8 }), file,
    'denied/large.bin');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Put Block \d of 3 of 'denied\/large\.bin': HTTP 403 AuthorizationFailure/);
  assert.ok(seen.length >= 1 && seen.length <= 3, JSON.stringify(seen));
  assert.ok(seen.every((s) => !s.key.includes('comp=blocklist')), 'no block list after a failure');
  assert.ok(seen.every((s) => s.attempt === 1), `no retries of a 403: ${JSON.stringify(seen)}`);
  await assert.rejects(container.getBlobClient('denied/large.bin').getProperties(), { statusCode: 404 });
});

test('max_put_blob_mib out of range is refused', async () => {
  // 0 and 5001 are outside 1..5000 (Put Blob's own limit is 5000 MiB): a configuration error
  // (exit 2) that names the key, before any request is made
  const file = randomFile('range.bin', 100);
  for (const mib of [0, 5001]) {
    seen.length = 0;
    faultPlan = () => null;
    const r = await upload(config(`range${mib}`, { endpoint: proxyUrl, max_put_blob_mib: mib }),
      file, 'range.bin');
    assert.equal(r.code, 2, `max_put_blob_mib ${mib}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, /max_put_blob_mib/);
    assert.equal(seen.length, 0, `max_put_blob_mib ${mib}: a request was made`);
  }
  await assert.rejects(container.getBlobClient('range.bin').getProperties(), { statusCode: 404 });
});

test('a missing container is reported with its Azure error code, without retries', async () => {
  const file = randomFile('nocontainer.bin', 100);
  seen.length = 0;
  faultPlan = () => null;
  const r = await upload(config('nocontainer', { container_name: 'does-not-exist', endpoint: proxyUrl }),
    file, 'x.bin');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /HTTP 404 ContainerNotFound: The specified container does not exist\./);
  assert.equal(seen.length, 1);
});

test('503, dropped connections and 500 are retried until the blocks and the list pass', async () => {
  const file = randomFile('flaky.bin', 20 * MIB); // 3 blocks + the list: 4 distinct requests
  seen.length = 0;
  const faults = [503, 'drop', 500];
  faultPlan = (key, attempt) => (attempt <= faults.length ? faults[attempt - 1] : null);
  const r = await upload(config('flaky', { endpoint: proxyUrl, max_put_blob_mib: 8 }), file,
    'flaky/f.bin');
  faultPlan = () => null;
  checkOk(r);
  const got = await fetchBlob('flaky/f.bin');
  assert.equal(sha256(got.data), sha256(readFileSync(file)));
  assert.equal(got.blocks.length, 3);
  const byKey = new Map();
  for (const s of seen) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s.attempt]);
  assert.equal(byKey.size, 4, [...byKey.keys()].join('\n'));
  // every request went through all three faults (libsoup itself may re-send a request whose
  // reused connection dropped, so a drop does not always reach the plugin's own retry)
  for (const [key, attempts] of byKey) assert.deepEqual(attempts, [1, 2, 3, 4], key);
  assert.match(r.stderr,
    /Put Block \d of 3 of 'flaky\/f\.bin': HTTP 503 ServerBusy: Injected by the test proxy\.; retry 1 of 4 in \d\.\d s/);
  assert.match(r.stderr, /Put Block List \(3 blocks\) of 'flaky\/f\.bin': HTTP 503 ServerBusy.*; retry 1 of 4/);
  assert.match(r.stderr, /HTTP 500 ServerBusy: Injected by the test proxy\.; retry \d of 4/);
});

test('a blob stored differently from the file is sent again', async () => {
  // Put Blob streams the file without Content-MD5, so the service cannot refuse bytes damaged on
  // the way; the plugin compares the MD5 it computed of the file with the Content-MD5 of the
  // answer (the MD5 of what was stored) and sends the blob again when they differ.
  const file = randomFile('corrupt.bin', 3 * MIB + 17);
  const want = sha256(readFileSync(file));
  const puts = () => seen.filter((s) => s.key.startsWith('PUT ')).map((s) => s.attempt);

  // the first send is damaged, the second arrives intact
  seen.length = 0;
  faultPlan = () => null;
  corruptPlan = (key, attempt) => attempt === 1;
  let r;
  try {
    r = await upload(config('corrupt', { endpoint: proxyUrl }), file, 'corrupt/once.bin');
  } finally {
    corruptPlan = () => false;
  }
  checkOk(r);
  assert.match(r.stderr, /the stored blob differs from the file/);
  assert.deepEqual(puts(), [1, 2]);
  assert.ok(seen.every((s) => !s.key.includes('comp=')), 'no blocks for a Put Blob');
  const got = await fetchBlob('corrupt/once.bin');
  assert.equal(sha256(got.data), want);

  // every send is damaged: three sends, then the upload fails
  seen.length = 0;
  corruptPlan = () => true;
  try {
    r = await upload(config('corrupt2', { endpoint: proxyUrl }), file, 'corrupt/always.bin');
  } finally {
    corruptPlan = () => false;
  }
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /differs from the file .*after 3 attempts/);
  assert.deepEqual(puts(), [1, 2, 3]);
});

test('408, 502 and 504 are retried, each attempt signed afresh', async () => {
  const file = randomFile('flaky-small.txt', 5000);
  seen.length = 0;
  const faults = [408, 502, 504];
  faultPlan = (key, attempt) => (attempt <= faults.length ? faults[attempt - 1] : null);
  const t0 = Date.now();
  const r = await upload(config('flaky2', { endpoint: proxyUrl }), file, 'flaky/s.txt');
  faultPlan = () => null;
  checkOk(r);
  assert.deepEqual(seen.map((s) => s.attempt), [1, 2, 3, 4]);
  // three back-offs of at least 200, 400 and 800 ms: the fourth attempt carries a later
  // x-ms-date and so another signature than the first, and Azurite accepted it
  assert.ok(Date.now() - t0 >= 1400, 'the back-off waited');
  assert.ok(Date.parse(seen[3].date) > Date.parse(seen[0].date), seen.map((s) => s.date).join(', '));
  assert.notEqual(seen[3].auth, seen[0].auth);
  const got = await fetchBlob('flaky/s.txt');
  assert.equal(sha256(got.data), sha256(readFileSync(file)));
});

test('a service that stays unavailable fails after 5 attempts with the status and code', async () => {
  const file = randomFile('busy.txt', 100);
  seen.length = 0;
  faultPlan = () => 503;
  const r = await upload(config('busy', { endpoint: proxyUrl }), file, 'busy.txt');
  faultPlan = () => null;
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Put Blob 'busy\.txt': HTTP 503 ServerBusy: Injected by the test proxy\. \(after 5 attempts\)/);
  assert.equal(seen.length, 5);
});

test('an endpoint where nothing listens fails as a connection error after 5 attempts', async () => {
  const port = await freePort();
  const file = randomFile('refused.txt', 100);
  const r = await upload(config('refused', { endpoint: `http://127.0.0.1:${port}/${ACCOUNT}` }),
    file, 'refused.txt');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Put Blob 'refused\.txt': .*(refused|connect).*\(after 5 attempts\)/i);
});

test('several uploads at once through one loaded plugin all arrive intact', async () => {
  assert.ok(existsSync(HARNESS), `${HARNESS} is not built`);
  // the harness's target has no max_put_blob_mib: each file is one streamed Put Blob, hashed on
  // a thread of its own, four uploads at once
  const file = randomFile('concurrent.bin', 17 * MIB);
  const names = ['c/one.bin', 'c/two.bin', 'c/three.bin', 'c/four.bin'];
  const r = await run(HARNESS, [PLUGIN, endpoint, ACCOUNT, KEY, CONTAINER, file, ...names]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const want = sha256(readFileSync(file));
  const wantMd5 = createHash('md5').update(readFileSync(file)).digest('base64');
  for (const name of names) {
    assert.ok(r.stdout.includes(`${name}\t${endpoint}/${CONTAINER}/${name}\n`), r.stdout);
    const got = await fetchBlob(name);
    assert.equal(sha256(got.data), want, name);
    // Azurite lists no committed blocks for a blob made by Put Blob
    assert.equal(got.blocks.length, 0, `${name} was committed as blocks`);
    assert.equal(Buffer.from(got.props.contentMD5).toString('base64'), wantMd5, name);
  }
});

test('memory stays bounded by the blocks in flight, not the file size (512 MiB file)', async (t) => {
  // 512 MiB is above the default max_put_blob_mib (256), so the file goes up in blocks.
  // A sink that accepts every request (nothing stored); when the block list arrives, every block
  // has been sent and the uploader is still running: its peak RSS (VmHWM) is read then.
  const size = 512 * MIB;
  const file = join(work, 'huge.bin');
  closeSync(openSync(file, 'w'));
  truncateSync(file, size); // sparse: zeros that cost no disk
  let pid = 0;
  let hwmKiB = 0;
  let received = 0;
  let blocks = 0;
  const sink = createServer((req, res) => {
    req.on('data', (d) => { received += d.length; });
    req.on('end', () => {
      if (req.url.includes('comp=block&')) blocks++;
      if (req.url.includes('comp=blocklist')) {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        hwmKiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]);
      }
      res.writeHead(201);
      res.end();
    });
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  try {
    const r = await upload(
      config('sink', { endpoint: `http://127.0.0.1:${sink.address().port}/${ACCOUNT}` }), file,
      'huge.bin', { onSpawn: (c) => { pid = c.pid; } });
    checkOk(r);
  } finally {
    sink.close();
    rmSync(file, { force: true });
  }
  assert.equal(blocks, 64);
  assert.ok(received >= size, `${received} bytes received`);
  assert.ok(hwmKiB > 0, 'the peak RSS was read');
  t.diagnostic(`peak RSS of sluice upload for a 512 MiB file: ${Math.round(hwmKiB / 1024)} MiB`);
  // 4 blocks of 8 MiB in flight plus the process itself; the file would be 512 MiB
  assert.ok(hwmKiB < 160 * 1024, `peak RSS ${hwmKiB} KiB`);
});

test('memory stays small for one streamed Put Blob of 256 MiB (the default limit)', async (t) => {
  // The same sink: a 256 MiB file is at the default max_put_blob_mib, so it goes up in one Put
  // Blob read from disk as it is sent (and hashed on a second thread). When the body has
  // arrived, before the answer, the uploader is still running: its peak RSS is read then. The
  // sink answers 201 without Content-MD5, which leaves nothing to compare and is accepted.
  const size = 256 * MIB;
  const file = join(work, 'whole-huge.bin');
  closeSync(openSync(file, 'w'));
  truncateSync(file, size); // sparse
  let pid = 0;
  let hwmKiB = 0;
  let received = 0;
  const requests = [];
  const sink = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.on('data', (d) => { received += d.length; });
    req.on('end', () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      hwmKiB = Math.max(hwmKiB, Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]));
      res.writeHead(201);
      res.end();
    });
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  try {
    const r = await upload(
      config('sink-whole', { endpoint: `http://127.0.0.1:${sink.address().port}/${ACCOUNT}` }),
      file, 'whole-huge.bin', { onSpawn: (c) => { pid = c.pid; } });
    checkOk(r);
  } finally {
    sink.close();
    rmSync(file, { force: true });
  }
  assert.equal(requests.length, 1, requests.join('\n'));
  assert.match(requests[0], /^PUT /);
  assert.ok(!requests[0].includes('comp='), requests[0]);
  assert.equal(received, size);
  assert.ok(hwmKiB > 0, 'the peak RSS was read');
  t.diagnostic(`peak RSS of sluice upload for a 256 MiB Put Blob: ${Math.round(hwmKiB / 1024)}` +
    ' MiB');
  // a streamed body and a 1 MiB hashing buffer beside the process itself; the file is 256 MiB
  assert.ok(hwmKiB < 64 * 1024, `peak RSS ${hwmKiB} KiB`);
});
