// A Google Cloud Storage test server written from Google's documentation, for sluice's upload-gcp
// tests. Nothing real runs offline for GCS, so this checks what the real service would:
//
//   POST /token        OAuth 2.0 service-account flow (grant_type jwt-bearer): the assertion's
//                      RS256 signature is verified with the account's PUBLIC key, and its iss,
//                      aud, scope, iat and exp are checked as Google documents; a bearer token with
//                      a configurable lifetime is issued.
//   POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name=...      simple upload
//   POST /upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=...  session start -> Location
//   PUT  <session URI>  chunks with Content-Range "bytes S-E/TOTAL|*" (non-final chunks must be
//                      multiples of 256 KiB), answered 308 + "Range: bytes=0-N" until the last,
//                      then 200 + object resource; "bytes */TOTAL" status queries.
//   DELETE <session URI>  cancels (499).
//   GET  /storage/v1/b/{bucket}/o/{name}[?alt=media], /download/storage/v1/..., /{bucket}/{name}
//                      read objects back (reads need no token here; writes are what is checked).
// Every upload request needs a valid, unexpired bearer token (401 otherwise).
//
// Test controls (not part of GCS):
//   GET  /_debug/state    counters, issued tokens, stored objects (size, sha256, md5)
//   POST /_debug/config   {"token_lifetime": s, "short_accept": bool, "put_delay_ms": n,
//                          "faults": [{"put": n, "kind": "503"|"drop"|"401"|"410"}]}
//   POST /_debug/reset    counters, tokens, sessions, objects and faults cleared
// short_accept makes the server persist less than a chunk carried (the last 256 KiB of it,
// aligned), as GCS may. Faults fire once, on the n-th chunk PUT after the last reset:
//   503  answer 503 without storing anything;  drop  store about half the chunk, then cut the
//   connection without an answer;  401  revoke every token first;  410  forget the session;
//   hold  store the whole chunk but answer 308 even when it was the last (the object is
//   finished by the next status query).
// It also acts as an HTTP proxy (absolute-form requests and CONNECT) that requires
// "Proxy-Authorization: Basic" for --proxy-user when that option is given.
//
// Usage: node gcs_server.mjs --dir DIR --account EMAIL=PUBLIC.pem [--account ...]
//                            [--bucket NAME ...] [--port N] [--proxy-user USER:PASS]
// Prints one JSON line {"port": N} on stdout once listening on 127.0.0.1.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const QUANTUM = 256 * 1024;
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GOOD_SCOPES = new Set([
  'https://www.googleapis.com/auth/devstorage.read_write',
  'https://www.googleapis.com/auth/devstorage.full_control',
  'https://www.googleapis.com/auth/cloud-platform',
]);

// ---- arguments ------------------------------------------------------------------------------
const opts = { dir: null, port: 0, accounts: new Map(), buckets: new Set(), proxyUser: null };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--dir') opts.dir = v;
    else if (a === '--port') opts.port = Number(v);
    else if (a === '--bucket') opts.buckets.add(v);
    else if (a === '--proxy-user') opts.proxyUser = v;
    else if (a === '--account') {
      const eq = v.indexOf('=');
      const email = v.slice(0, eq);
      const pem = fs.readFileSync(v.slice(eq + 1), 'utf8');
      opts.accounts.set(email, crypto.createPublicKey(pem));
    } else throw new Error(`unknown option ${a}`);
  }
  if (!opts.dir) throw new Error('--dir is required');
  fs.mkdirSync(path.join(opts.dir, 'objects'), { recursive: true });
  fs.mkdirSync(path.join(opts.dir, 'sessions'), { recursive: true });
}

// ---- state ----------------------------------------------------------------------------------
const config = { token_lifetime: 3599, short_accept: false, put_delay_ms: 0, faults: [] };
let counters;
let tokens; // token -> { email, expires (ms) }
let sessions; // upload_id -> session
let objects; // "bucket/name" -> object record
let generation = 1000;

function reset() {
  counters = {
    tokens_issued: 0,
    token_refusals: 0, // token endpoint said no (bad signature, claims, grant)
    unauthorized: 0, // 401s from the upload endpoints (missing, unknown or expired token)
    expired_token_refusals: 0, // of which: the token had expired
    simple_uploads: 0,
    sessions_started: 0,
    chunk_puts: 0,
    status_queries: 0,
    resume_308: 0,
    short_acceptances: 0,
    faults_fired: 0,
    bad_requests: 0,
    objects_finalized: 0,
    proxied_requests: 0,
    proxy_connects: 0,
    proxy_auth_refusals: 0,
    max_body_bytes: 0,
  };
  tokens = new Map();
  if (sessions) for (const s of sessions.values()) fs.rmSync(s.file, { force: true });
  sessions = new Map();
  if (objects) for (const o of objects.values()) fs.rmSync(o.file, { force: true });
  objects = new Map();
  config.faults = [];
}
reset();

// ---- helpers --------------------------------------------------------------------------------
function sendJson(res, status, obj, headers = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': body.length,
    ...headers,
  });
  res.end(body);
}

// The JSON API's error document.
function apiError(res, status, message, reason = 'invalid', headers = {}) {
  if (status === 400) counters.bad_requests++;
  sendJson(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } },
    headers);
}

// The OAuth endpoint's error document.
function oauthError(res, status, error, description) {
  counters.token_refusals++;
  sendJson(res, status, { error, error_description: description });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let n = 0;
    req.on('data', (c) => {
      parts.push(c);
      n += c.length;
    });
    req.on('end', () => {
      counters.max_body_bytes = Math.max(counters.max_body_bytes, n);
      resolve(Buffer.concat(parts, n));
    });
    req.on('error', reject);
  });
}

const b64urlDecode = (s) => Buffer.from(s, 'base64url');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function objectResource(o, base) {
  const enc = encodeURIComponent(o.name);
  return {
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${base}/storage/v1/b/${o.bucket}/o/${enc}`,
    mediaLink: `${base}/download/storage/v1/b/${o.bucket}/o/${enc}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    size: String(o.size),
    md5Hash: o.md5,
    timeCreated: o.created,
    updated: o.created,
  };
}

function storeObject(bucket, name, contentType, srcFile, size, md5, sha256) {
  const key = `${bucket}/${name}`;
  const file = path.join(opts.dir, 'objects', crypto.createHash('sha1').update(key).digest('hex'));
  fs.renameSync(srcFile, file);
  const o = { bucket, name, contentType, file, size, md5, sha256, generation: ++generation,
    created: new Date().toISOString() };
  objects.set(key, o);
  counters.objects_finalized++;
  return o;
}

// ---- OAuth token endpoint -------------------------------------------------------------------
async function handleToken(req, res, base) {
  const body = (await readBody(req)).toString('utf8');
  if (!String(req.headers['content-type'] || '').startsWith('application/x-www-form-urlencoded'))
    return oauthError(res, 400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
  const form = new URLSearchParams(body);
  if (form.get('grant_type') !== JWT_BEARER)
    return oauthError(res, 400, 'unsupported_grant_type', 'Invalid grant_type: ' + form.get('grant_type'));
  const jwt = form.get('assertion') || '';
  const parts = jwt.split('.');
  if (parts.length !== 3) return oauthError(res, 400, 'invalid_grant', 'Invalid JWT: not three parts');
  let header, claims;
  try {
    header = JSON.parse(b64urlDecode(parts[0]).toString('utf8'));
    claims = JSON.parse(b64urlDecode(parts[1]).toString('utf8'));
  } catch {
    return oauthError(res, 400, 'invalid_grant', 'Invalid JWT: undecodable header or claims');
  }
  if (header.alg !== 'RS256' || header.typ !== 'JWT')
    return oauthError(res, 400, 'invalid_grant', 'Invalid JWT: alg must be RS256 and typ JWT');
  const key = opts.accounts.get(claims.iss);
  if (!key) return oauthError(res, 400, 'invalid_grant', 'Invalid grant: account not found');
  const signed = Buffer.from(parts[0] + '.' + parts[1], 'ascii');
  if (!crypto.verify('RSA-SHA256', signed, key, b64urlDecode(parts[2])))
    return oauthError(res, 400, 'invalid_grant', 'Invalid JWT Signature.');
  const tokenUri = `${base}/token`;
  if (claims.aud !== tokenUri)
    return oauthError(res, 400, 'invalid_grant', `Invalid JWT: Failed audience check. The right audience is ${tokenUri}`);
  const now = Math.floor(Date.now() / 1000);
  const { iat, exp } = claims;
  if (!Number.isInteger(iat) || !Number.isInteger(exp) || exp - iat > 3600 || exp <= now || iat > now + 60)
    return oauthError(res, 400, 'invalid_grant',
      'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
  const scopes = String(claims.scope || '').split(' ').filter(Boolean);
  if (!scopes.some((s) => GOOD_SCOPES.has(s)))
    return oauthError(res, 400, 'invalid_scope', 'No storage scope was requested');
  const token = 'ya29.' + crypto.randomBytes(24).toString('base64url');
  tokens.set(token, { email: claims.iss, expires: Date.now() + config.token_lifetime * 1000 });
  counters.tokens_issued++;
  sendJson(res, 200, { access_token: token, expires_in: config.token_lifetime, token_type: 'Bearer' });
}

// ---- authorisation of upload requests -------------------------------------------------------
// Returns true when the request carries a valid bearer token; otherwise answers 401.
function authorized(req, res) {
  const h = String(req.headers.authorization || '');
  const m = /^Bearer (\S+)$/.exec(h);
  const t = m ? tokens.get(m[1]) : undefined;
  if (t && t.expires > Date.now()) return true;
  counters.unauthorized++;
  if (t) counters.expired_token_refusals++;
  const msg = m ? 'Invalid Credentials'
    : "Anonymous caller does not have storage.objects.create access to the Google Cloud Storage object.";
  apiError(res, 401, msg, m ? 'authError' : 'required', { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/"' });
  return false;
}

// ---- uploads --------------------------------------------------------------------------------
function parseContentRange(v) {
  if (v === undefined) return null;
  let m = /^bytes \*\/(\d+|\*)$/.exec(v);
  if (m) return { query: true, total: m[1] === '*' ? null : Number(m[1]) };
  m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v);
  if (!m) return { invalid: true };
  const r = { query: false, start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
  if (r.end < r.start) return { invalid: true };
  return r;
}

function nextFault() {
  const i = config.faults.findIndex((f) => f.put === counters.chunk_puts);
  if (i < 0) return null;
  counters.faults_fired++;
  return config.faults.splice(i, 1)[0].kind;
}

// The header-time part of a chunk PUT: counts it and fires a "401" or "410" fault. Runs before
// the body is accepted (also for Expect: 100-continue).
function putPrelude(req, url) {
  const cr = parseContentRange(req.headers['content-range']);
  const isChunk = cr && !cr.invalid && !cr.query;
  if (isChunk) counters.chunk_puts++;
  else if (cr && cr.query) counters.status_queries++;
  const fault = isChunk ? nextFault() : null;
  if (fault === '401') tokens.clear();
  if (fault === '410') {
    const s = sessions.get(url.searchParams.get('upload_id'));
    if (s) {
      fs.rmSync(s.file, { force: true });
      sessions.delete(s.id);
      s.gone = true;
    }
  }
  return { cr, fault };
}

async function handleSimple(req, res, url, bucket, base) {
  const name = url.searchParams.get('name');
  if (!name) return apiError(res, 400, 'Required parameter: name', 'required');
  const body = await readBody(req);
  const tmp = path.join(opts.dir, 'sessions', 'simple-' + crypto.randomBytes(8).toString('hex'));
  fs.writeFileSync(tmp, body);
  const o = storeObject(bucket, name, req.headers['content-type'] || 'application/octet-stream', tmp,
    body.length, crypto.createHash('md5').update(body).digest('base64'),
    crypto.createHash('sha256').update(body).digest('hex'));
  counters.simple_uploads++;
  sendJson(res, 200, objectResource(o, base));
}

async function handleSessionStart(req, res, url, bucket, base) {
  const body = (await readBody(req)).toString('utf8');
  let meta = {};
  if (body.length > 0) {
    try {
      meta = JSON.parse(body);
    } catch {
      return apiError(res, 400, 'Metadata part is not valid JSON', 'parseError');
    }
  }
  const name = url.searchParams.get('name') || meta.name;
  if (!name) return apiError(res, 400, 'Required parameter: name', 'required');
  const declared = req.headers['x-upload-content-length'];
  const id = crypto.randomBytes(16).toString('hex');
  const s = {
    id, bucket, name,
    contentType: meta.contentType || req.headers['x-upload-content-type'] || 'application/octet-stream',
    declared: declared === undefined ? null : Number(declared),
    file: path.join(opts.dir, 'sessions', id),
    persisted: 0,
    md5: crypto.createHash('md5'),
    sha256: crypto.createHash('sha256'),
    object: null,
  };
  fs.writeFileSync(s.file, '');
  sessions.set(id, s);
  counters.sessions_started++;
  const loc = `${base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable` +
    `&name=${encodeURIComponent(name)}&upload_id=${id}`;
  res.writeHead(200, { Location: loc, 'Content-Length': 0 });
  res.end();
}

function send308(res, s) {
  counters.resume_308++;
  const h = { 'Content-Length': 0 };
  if (s.persisted > 0) h.Range = `bytes=0-${s.persisted - 1}`;
  res.writeHead(308, h);
  res.end();
}

function finalize(s, base, res) {
  s.object = storeObject(s.bucket, s.name, s.contentType, s.file, s.persisted,
    s.md5.digest('base64'), s.sha256.digest('hex'));
  sendJson(res, 200, objectResource(s.object, base));
}

async function handleChunk(req, res, url, base, prelude) {
  const { cr, fault } = prelude;
  const s = sessions.get(url.searchParams.get('upload_id'));
  if (!s) {
    await readBody(req);
    if (fault === '410')
      return apiError(res, 410, 'The requested upload session has expired or was cancelled.', 'gone');
    return apiError(res, 404, 'No such upload session.', 'notFound');
  }
  if (s.object) {
    await readBody(req);
    return sendJson(res, 200, objectResource(s.object, base));
  }
  if (!cr || cr.invalid) {
    await readBody(req);
    return apiError(res, 400, `Invalid Content-Range header: ${req.headers['content-range']}`);
  }
  const body = await readBody(req);
  if (cr.query) {
    if (body.length !== 0) return apiError(res, 400, 'A status query must not carry a body');
    if (cr.total !== null && cr.total === s.persisted) return finalize(s, base, res);
    return send308(res, s);
  }
  const len = cr.end - cr.start + 1;
  if (body.length !== len)
    return apiError(res, 400, `Content-Range says ${len} bytes but the body has ${body.length}`);
  if (cr.total !== null && (cr.end + 1 > cr.total || (s.declared !== null && cr.total !== s.declared)))
    return apiError(res, 400, `Content-Range total ${cr.total} does not fit this upload`);
  const final = cr.total !== null && cr.end + 1 === cr.total;
  if (!final && len % QUANTUM !== 0)
    return apiError(res, 400, `Invalid request. The number of bytes uploaded is required to be a multiple of ${QUANTUM} bytes, except for the final request.`);
  if (cr.start > s.persisted)
    return apiError(res, 400, `Invalid request. Content-Range starts at ${cr.start} but only ${s.persisted} bytes are stored.`);
  if (fault === '503') return apiError(res, 503, 'Backend Error', 'backendError');

  // Bytes before `persisted` were sent again: Google ignores the overlap.
  let newEnd = cr.end + 1;
  if (fault === 'drop') {
    newEnd = s.persisted + Math.floor((newEnd - s.persisted) / 2 / QUANTUM) * QUANTUM;
  } else if (config.short_accept && newEnd - s.persisted > QUANTUM) {
    const kept = Math.floor((newEnd - QUANTUM) / QUANTUM) * QUANTUM;
    if (kept > s.persisted) {
      counters.short_acceptances++;
      newEnd = kept;
    }
  }
  const data = body.subarray(s.persisted - cr.start, newEnd - cr.start);
  fs.appendFileSync(s.file, data);
  s.md5.update(data);
  s.sha256.update(data);
  s.persisted = newEnd;
  if (fault === 'drop') {
    req.socket.destroy();
    return;
  }
  if (config.put_delay_ms > 0) await sleep(config.put_delay_ms);
  if (final && s.persisted === cr.total && fault !== 'hold') return finalize(s, base, res);
  send308(res, s);
}

// ---- reads ----------------------------------------------------------------------------------
function sendObject(res, o, alt) {
  if (alt !== 'media') return sendJson(res, 200, objectResource(o, ''));
  res.writeHead(200, { 'Content-Type': o.contentType, 'Content-Length': o.size });
  fs.createReadStream(o.file).pipe(res);
}

// ---- routing --------------------------------------------------------------------------------
function baseOf(req) {
  return `http://${req.headers.host}`;
}

function decodeSegment(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function bucketKnown(res, bucket) {
  if (opts.buckets.size === 0 || opts.buckets.has(bucket)) return true;
  apiError(res, 404, 'The specified bucket does not exist.', 'notFound');
  return false;
}

// Decides early (at header time) whether an upload request may send its body.
function precheck(req, res, url) {
  const m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
  if (!m) return { route: null };
  const bucket = decodeSegment(m[1]);
  const prelude = req.method === 'PUT' ? putPrelude(req, url) : null;
  if (!authorized(req, res)) return { done: true };
  if (!bucketKnown(res, bucket)) return { done: true };
  return { route: 'upload', bucket, prelude };
}

async function handle(req, res, pre) {
  // Absolute-form request: we are being used as a plain HTTP proxy.
  if (/^https?:\/\//.test(req.url)) {
    if (!proxyAuthorized(req)) {
      counters.proxy_auth_refusals++;
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="gcs-test"', 'Content-Length': 0 });
      return res.end();
    }
    counters.proxied_requests++;
    req.url = new URL(req.url).pathname + new URL(req.url).search;
  }
  const url = new URL(req.url, 'http://x');
  const base = baseOf(req);
  if (!pre) pre = precheck(req, res, url);
  if (pre.done) return;

  if (pre.route === 'upload') {
    if (req.method === 'POST') {
      const type = url.searchParams.get('uploadType');
      if (type === 'media') return handleSimple(req, res, url, pre.bucket, base);
      if (type === 'resumable') return handleSessionStart(req, res, url, pre.bucket, base);
      return apiError(res, 400, `Unsupported uploadType: ${type}`);
    }
    if (req.method === 'PUT') return handleChunk(req, res, url, base, pre.prelude);
    if (req.method === 'DELETE') {
      const s = sessions.get(url.searchParams.get('upload_id'));
      if (s) {
        fs.rmSync(s.file, { force: true });
        sessions.delete(s.id);
      }
      res.writeHead(499, { 'Content-Length': 0 });
      return res.end();
    }
    return apiError(res, 405, 'Method not allowed');
  }

  if (url.pathname === '/token' && req.method === 'POST') return handleToken(req, res, base);

  if (url.pathname === '/_debug/state' && req.method === 'GET') {
    const objs = {};
    for (const [k, o] of objects) objs[k] = { size: o.size, sha256: o.sha256, md5: o.md5, contentType: o.contentType };
    return sendJson(res, 200, { counters, config, tokens: [...tokens.keys()], objects: objs });
  }
  if (url.pathname === '/_debug/config' && req.method === 'POST') {
    const patch = JSON.parse((await readBody(req)).toString('utf8') || '{}');
    Object.assign(config, patch);
    return sendJson(res, 200, config);
  }
  if (url.pathname === '/_debug/reset' && req.method === 'POST') {
    reset();
    return sendJson(res, 200, { ok: true });
  }

  if (req.method === 'GET') {
    let m = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
    let bucket, name;
    if (m) {
      bucket = decodeSegment(m[1]);
      name = decodeSegment(m[2]);
    } else if ((m = /^\/([^/_][^/]*)\/(.+)$/.exec(url.pathname))) {
      bucket = decodeSegment(m[1]);
      name = decodeSegment(m[2]); // path-style: slashes in the name stay slashes
    }
    if (bucket !== undefined) {
      const o = objects.get(`${bucket}/${name}`);
      if (!o) return apiError(res, 404, `No such object: ${bucket}/${name}`, 'notFound');
      return sendObject(res, o, m && url.pathname.includes('/storage/v1/') ? url.searchParams.get('alt') : 'media');
    }
  }
  return apiError(res, 404, 'Not Found', 'notFound');
}

function proxyAuthorized(req) {
  if (!opts.proxyUser) return true;
  const expect = 'Basic ' + Buffer.from(opts.proxyUser).toString('base64');
  return req.headers['proxy-authorization'] === expect;
}

function fail(res, e) {
  console.error(e);
  if (!res.headersSent) apiError(res, 500, 'Internal error in the test server: ' + e.message, 'backendError');
  else res.destroy();
}

const server = http.createServer((req, res) => {
  handle(req, res, null).catch((e) => fail(res, e));
});
// Expect: 100-continue: refuse before the body is sent, as Google's front ends do.
server.on('checkContinue', (req, res) => {
  // A request refused before its body was sent leaves that body unsent: the connection cannot
  // carry another request after it, so refusals close it (as HTTP front ends do).
  const keepAlive = res.shouldKeepAlive;
  res.shouldKeepAlive = false;
  let pre = null;
  if (/^https?:\/\//.test(req.url)) {
    // As a proxy: credentials first, then the request as the target would see it.
    if (!proxyAuthorized(req)) {
      counters.proxy_auth_refusals++;
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="gcs-test"', 'Content-Length': 0 });
      return res.end();
    }
    counters.proxied_requests++;
    const abs = new URL(req.url);
    req.url = abs.pathname + abs.search;
  }
  pre = precheck(req, res, new URL(req.url, 'http://x'));
  if (pre.done) return;
  res.shouldKeepAlive = keepAlive;
  res.writeContinue();
  handle(req, res, pre).catch((e) => fail(res, e));
});
// CONNECT: a tunnel to the target (this server), after the proxy credentials are checked.
server.on('connect', (req, client, head) => {
  if (!proxyAuthorized(req)) {
    counters.proxy_auth_refusals++;
    client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="gcs-test"\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  counters.proxy_connects++;
  const [host, port] = req.url.split(':');
  const upstream = net.connect(Number(port), host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
});
server.keepAliveTimeout = 30000;
server.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
// Started with a pipe on stdin (as the tests do): exit when it closes, so a test that dies
// never leaves its server behind.
if (fs.fstatSync(0).isFIFO()) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
