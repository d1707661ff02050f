// A local stand-in for Alibaba Cloud OSS, for testing sluice's upload-alioss plugin offline.
//
// Nothing real runs offline for OSS, so this server checks what the real service would check,
// and the one thing that matters most, the signature, is recomputed with the ali-oss npm
// client's own signing functions (node_modules/ali-oss/lib/common/signUtils.js): v1
// buildCanonicalString + authorization, v4 authorizationV4 / getCanonicalRequest /
// getStringToSign. A request whose Authorization differs gets OSS's 403 SignatureDoesNotMatch.
//
// Implemented: PutObject, InitiateMultipartUpload, UploadPart, CompleteMultipartUpload (part
// order, ETags, 100 KiB minimum part size), AbortMultipartUpload, GetObject, HeadObject;
// Content-MD5 checks; RequestTimeTooSkewed outside 15 minutes. Objects live in memory.
// Addressing: path-style (/bucket/key) when the Host is an IP address or localhost, else
// virtual-hosted (bucket.<host>/key).
//
// Test hooks under /_admin/ (no bucket name can start with '_'):
//   GET  /_admin/stats                      counters as JSON
//   POST /_admin/fail?op=UploadPart&count=2&status=503   fail the next N matching requests
//        (&mode=reset closes the connection instead of answering; &mode=drop-answer carries the
//        request out and then closes the connection instead of answering)
//   POST /_admin/clear-faults                forget the failures not yet used
//   POST /_admin/skew?seconds=3600           run the server's clock that far ahead
//   GET  /_admin/object?bucket=B&key=K       an object's bytes, unsigned
//   POST /_admin/reset                       forget objects, uploads, counters and faults
//
// Command line: node oss_server.mjs --port 0 --region cn-hangzhou --bucket media
//               --key AKID:SECRET [--key ...]
// prints one JSON line {"port": N} on stdout once it listens on 127.0.0.1.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const signUtils = require('ali-oss/lib/common/signUtils.js');

// Query parameters OSS signs in v1 (its documented sub-resources); others are not signed.
const V1_SUBRESOURCES = new Set([
  'acl', 'append', 'bucketInfo', 'callback', 'callback-var', 'cname', 'comp', 'continuation-token',
  'cors', 'delete', 'encryption', 'endTime', 'img', 'inventory', 'inventoryId', 'lifecycle', 'live',
  'location', 'logging', 'objectMeta', 'partNumber', 'policy', 'position', 'qos', 'qosInfo',
  'referer', 'replication', 'replicationLocation', 'replicationProgress', 'requestPayment',
  'response-cache-control', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-content-type', 'response-expires', 'restore',
  'security-token', 'sequential', 'startTime', 'stat', 'status', 'style', 'styleName', 'symlink',
  'tagging', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'vod', 'website', 'worm',
  'wormExtend', 'wormId', 'x-oss-process', 'x-oss-traffic-limit',
]);
const MIN_PART = 100 * 1024;
const SKEW_LIMIT_MS = 15 * 60 * 1000;

class OssError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

function xmlEscape(s) {
  return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

function xmlUnescape(s) {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (m, e) => {
    const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (named[e]) return named[e];
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

function xmlDoc(root, fields) {
  const body = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `  <${k}>${xmlEscape(v)}</${k}>\n`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}>\n${body}</${root}>\n`;
}

function md5(buf) {
  return crypto.createHash('md5').update(buf).digest();
}

function isIpOrLocalhost(hostname) {
  return hostname === 'localhost' || net.isIP(hostname.replace(/^\[|\]$/g, '')) !== 0;
}

// The query as OSS reads it: names and values percent-decoded; a name without a value ("uploads"
// or "uploads=", ali-oss sends the latter) has the value null, and then signs as the bare name.
function parseQuery(raw) {
  const q = {};
  if (!raw) return q;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    q[name] = value === '' ? null : value;
  }
  return q;
}

function parseV1Date(s) {
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

function parseV4Date(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  if (!m) return null;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

export function startServer({ port = 0, region = 'cn-hangzhou', buckets = ['media'], keys = {} } = {}) {
  const state = {
    objects: new Map(), // `${bucket}/${key}` -> {data, contentType, etag}
    uploads: new Map(), // uploadId -> {bucket, key, contentType, parts: Map(n -> {data, etag})}
    faults: [], // {op, count, status, mode}
    skewMs: 0,
    stats: null,
  };
  const resetStats = () => {
    state.stats = {
      requests: 0,
      ops: {},
      auth: { v1: 0, v4: 0 },
      rejected: {},
      multipart: { initiated: 0, completed: 0, aborted: 0, parts: 0 },
      lastSignature: null,
    };
  };
  resetStats();
  let requestCounter = 0;

  const now = () => Date.now() + state.skewMs;

  function classify(method, query, key) {
    if (method === 'PUT' && 'partNumber' in query && 'uploadId' in query) return 'UploadPart';
    if (method === 'PUT' && key) return 'PutObject';
    if (method === 'POST' && 'uploads' in query && key) return 'InitiateMultipartUpload';
    if (method === 'POST' && 'uploadId' in query && key) return 'CompleteMultipartUpload';
    if (method === 'DELETE' && 'uploadId' in query && key) return 'AbortMultipartUpload';
    if (method === 'GET' && key) return 'GetObject';
    if (method === 'HEAD' && key) return 'HeadObject';
    return null;
  }

  // Checks the Authorization header with ali-oss's signing code. Returns 'v1' or 'v4'.
  function verify(req, bucket, key, query) {
    const h = req.headers;
    const auth = h.authorization;
    if (!auth) throw new OssError(403, 'AccessDenied', 'You have no right to access this object because of bucket acl.');
    if (auth.startsWith('OSS4-HMAC-SHA256 ')) {
      const fields = {};
      for (const part of auth.slice('OSS4-HMAC-SHA256 '.length).split(',')) {
        const eq = part.indexOf('=');
        if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
      }
      const cred = (fields.Credential || '').split('/');
      if (cred.length !== 5 || cred[3] !== 'oss' || cred[4] !== 'aliyun_v4_request' || !fields.Signature)
        throw new OssError(400, 'InvalidArgument', 'Authorization header is invalid.');
      const [ak] = cred;
      const date = h['x-oss-date'];
      const t = parseV4Date(date);
      if (t === null) throw new OssError(403, 'AccessDenied', 'Missing or invalid x-oss-date header.');
      if (!h['x-oss-content-sha256']) throw new OssError(400, 'InvalidArgument', 'Missing x-oss-content-sha256 header.');
      checkSkew(t, date);
      const secret = keys[ak];
      if (secret === undefined) throw new OssError(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', { OSSAccessKeyId: ak });
      const additional = fields.AdditionalHeaders ? fields.AdditionalHeaders.split(';') : undefined;
      const request = { headers: h, queries: query };
      const expected = signUtils.authorizationV4(ak, secret, region, req.method, request, bucket, key || undefined, additional);
      if (expected !== auth) {
        const creq = signUtils.getCanonicalRequest(req.method, request, bucket, key || undefined, signUtils.fixAdditionalHeaders(additional));
        throw new OssError(403, 'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
          { OSSAccessKeyId: ak, SignatureProvided: fields.Signature, StringToSign: signUtils.getStringToSign(region, date, creq), CanonicalRequest: creq });
      }
      return 'v4';
    }
    if (auth.startsWith('OSS ')) {
      const rest = auth.slice(4);
      const colon = rest.lastIndexOf(':');
      if (colon <= 0) throw new OssError(400, 'InvalidArgument', 'Authorization header is invalid.');
      const ak = rest.slice(0, colon);
      const dateText = h['x-oss-date'] || h.date;
      const t = parseV1Date(dateText);
      if (t === null) throw new OssError(403, 'AccessDenied', 'Missing or invalid Date header.');
      checkSkew(t, dateText);
      const secret = keys[ak];
      if (secret === undefined) throw new OssError(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', { OSSAccessKeyId: ak });
      const subres = {};
      for (const [k, v] of Object.entries(query)) if (V1_SUBRESOURCES.has(k)) subres[k] = v;
      const resource = `/${bucket}/${key}`;
      // ali-oss puts x-oss-date on the date line; a client that sends only Date gets Date there.
      const canonical = signUtils.buildCanonicalString(req.method, resource, { headers: h, parameters: subres },
        h['x-oss-date'] ? undefined : h.date);
      const expected = signUtils.authorization(ak, secret, canonical);
      if (expected !== auth) {
        throw new OssError(403, 'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
          { OSSAccessKeyId: ak, SignatureProvided: rest.slice(colon + 1), StringToSign: canonical });
      }
      return 'v1';
    }
    throw new OssError(400, 'InvalidArgument', 'Authorization header is invalid.');
  }

  function checkSkew(t, text) {
    if (Math.abs(t - now()) > SKEW_LIMIT_MS) {
      throw new OssError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.',
        { RequestTime: text, ServerTime: new Date(now()).toISOString() });
    }
  }

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      req.on('data', c => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  function checkMd5(req, body) {
    const given = req.headers['content-md5'];
    if (given !== undefined && given !== md5(body).toString('base64'))
      throw new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
  }

  function etagOf(buf) {
    return `"${md5(buf).toString('hex').toUpperCase()}"`;
  }

  function send(res, status, headers, body) {
    res.writeHead(status, { 'x-oss-request-id': `SLUICE${(++requestCounter).toString().padStart(12, '0')}`, Server: 'AliyunOSS', ...headers });
    res.end(body);
  }

  function sendError(req, res, err) {
    const rid = `SLUICE${(++requestCounter).toString().padStart(12, '0')}`;
    state.stats.rejected[err.code] = (state.stats.rejected[err.code] || 0) + 1;
    const body = xmlDoc('Error', { Code: err.code, Message: err.message, RequestId: rid, HostId: req.headers.host, ...err.extra });
    res.writeHead(err.status, { 'Content-Type': 'application/xml', 'x-oss-request-id': rid, Server: 'AliyunOSS', 'x-oss-ec': '0002-00000040' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function operate(op, req, res, bucket, key, query) {
    const id = `${bucket}/${key}`;
    switch (op) {
      case 'PutObject': {
        const body = await readBody(req);
        checkMd5(req, body);
        const etag = etagOf(body);
        state.objects.set(id, { data: body, contentType: req.headers['content-type'] || 'application/octet-stream', etag });
        return send(res, 200, { ETag: etag }, '');
      }
      case 'InitiateMultipartUpload': {
        await readBody(req);
        const uploadId = crypto.randomBytes(16).toString('hex').toUpperCase();
        state.uploads.set(uploadId, { bucket, key, contentType: req.headers['content-type'] || 'application/octet-stream', parts: new Map() });
        state.stats.multipart.initiated++;
        return send(res, 200, { 'Content-Type': 'application/xml' }, xmlDoc('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: uploadId }));
      }
      case 'UploadPart': {
        const up = state.uploads.get(query.uploadId);
        if (!up || up.bucket !== bucket || up.key !== key)
          throw new OssError(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: query.uploadId });
        const n = Number(query.partNumber);
        if (!Number.isInteger(n) || n < 1 || n > 10000) throw new OssError(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.');
        if (req.headers['content-length'] === undefined) throw new OssError(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
        const body = await readBody(req);
        checkMd5(req, body);
        const etag = etagOf(body);
        up.parts.set(n, { data: body, etag });
        state.stats.multipart.parts++;
        return send(res, 200, { ETag: etag }, '');
      }
      case 'CompleteMultipartUpload': {
        const body = await readBody(req);
        checkMd5(req, body);
        const up = state.uploads.get(query.uploadId);
        if (!up || up.bucket !== bucket || up.key !== key)
          throw new OssError(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: query.uploadId });
        const text = body.toString('utf8');
        if (!/<CompleteMultipartUpload>[\s\S]*<\/CompleteMultipartUpload>/.test(text))
          throw new OssError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
        const listed = [...text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(m => ({
          n: Number((/<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1]) || [])[1]),
          etag: xmlUnescape(((/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]) || [])[1] || '').trim()),
        }));
        if (listed.length === 0) throw new OssError(400, 'MalformedXML', 'The XML you provided lists no parts.');
        const chunks = [];
        for (let i = 0; i < listed.length; i++) {
          const { n, etag } = listed[i];
          if (i > 0 && n <= listed[i - 1].n) throw new OssError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts list must be specified in order by part number.');
          const part = up.parts.get(n);
          if (!part || part.etag !== etag) throw new OssError(400, 'InvalidPart', 'One or more of the specified parts could not be found or the specified entity tag might not have matched the part\'s entity tag.', { PartNumber: n, ETag: etag });
          if (i < listed.length - 1 && part.data.length < MIN_PART) throw new OssError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size.', { PartNumber: n });
          chunks.push(part.data);
        }
        const data = Buffer.concat(chunks);
        const etag = `"${md5(Buffer.concat(listed.map(p => md5(up.parts.get(p.n).data)))).toString('hex').toUpperCase()}-${listed.length}"`;
        state.objects.set(id, { data, contentType: up.contentType, etag, parts: listed.length });
        state.uploads.delete(query.uploadId);
        state.stats.multipart.completed++;
        const host = req.headers.host;
        return send(res, 200, { 'Content-Type': 'application/xml', ETag: etag },
          xmlDoc('CompleteMultipartUploadResult', { Location: `http://${host}/${bucket}/${key}`, Bucket: bucket, Key: key, ETag: etag }));
      }
      case 'AbortMultipartUpload': {
        await readBody(req);
        const up = state.uploads.get(query.uploadId);
        if (!up || up.bucket !== bucket || up.key !== key)
          throw new OssError(404, 'NoSuchUpload', 'The specified upload does not exist.', { UploadId: query.uploadId });
        state.uploads.delete(query.uploadId);
        state.stats.multipart.aborted++;
        return send(res, 204, {}, '');
      }
      case 'GetObject':
      case 'HeadObject': {
        await readBody(req);
        const obj = state.objects.get(id);
        if (!obj) throw new OssError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
        res.writeHead(200, { 'Content-Type': obj.contentType, 'Content-Length': obj.data.length, ETag: obj.etag, Server: 'AliyunOSS' });
        return res.end(op === 'GetObject' ? obj.data : undefined);
      }
    }
    throw new OssError(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }

  async function admin(req, res, path, query) {
    await readBody(req);
    const json = (status, v) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(v)); };
    if (path === '/_admin/stats') return json(200, { ...state.stats, openUploads: state.uploads.size, objects: state.objects.size });
    if (path === '/_admin/fail' && req.method === 'POST') {
      state.faults.push({ op: query.op || '*', count: Number(query.count || 1), status: Number(query.status || 503), mode: query.mode || 'status' });
      return json(200, { ok: true });
    }
    if (path === '/_admin/clear-faults' && req.method === 'POST') {
      state.faults = [];
      return json(200, { ok: true });
    }
    if (path === '/_admin/skew' && req.method === 'POST') {
      state.skewMs = Number(query.seconds || 0) * 1000;
      return json(200, { ok: true });
    }
    if (path === '/_admin/reset' && req.method === 'POST') {
      state.objects.clear();
      state.uploads.clear();
      state.faults = [];
      state.skewMs = 0;
      resetStats();
      return json(200, { ok: true });
    }
    if (path === '/_admin/object') {
      const obj = state.objects.get(`${query.bucket}/${query.key}`);
      if (!obj) return json(404, { error: 'no such object' });
      res.writeHead(200, { 'Content-Type': obj.contentType, 'x-test-parts': String(obj.parts || 0), ETag: obj.etag });
      return res.end(obj.data);
    }
    return json(404, { error: 'unknown admin path' });
  }

  // Everything that can be decided from the request line and headers, before the body is read
  // (so an Expect: 100-continue request is refused before it sends its body).
  function prepare(req) {
    const raw = req.url;
    const qpos = raw.indexOf('?');
    const rawPath = qpos < 0 ? raw : raw.slice(0, qpos);
    const query = parseQuery(qpos < 0 ? '' : raw.slice(qpos + 1));
    if (rawPath.startsWith('/_admin/')) return { admin: true, path: rawPath, query };
    const hostname = (req.headers.host || '').replace(/:\d+$/, '').toLowerCase();
    let bucket;
    let rawKey;
    if (isIpOrLocalhost(hostname)) {
      const m = /^\/([^/]*)\/?(.*)$/.exec(rawPath);
      bucket = m[1];
      rawKey = m[2];
    } else {
      bucket = hostname.split('.')[0];
      rawKey = rawPath.replace(/^\//, '');
    }
    let key;
    try {
      key = decodeURIComponent(rawKey);
    } catch {
      throw new OssError(400, 'InvalidURI', 'Could not parse the specified URI.');
    }
    if (!buckets.includes(bucket)) throw new OssError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket });
    const op = classify(req.method, query, key);
    state.stats.ops[op || 'unknown'] = (state.stats.ops[op || 'unknown'] || 0) + 1;
    const version = verify(req, bucket, key, query);
    state.stats.auth[version]++;
    state.stats.lastSignature = version;
    return { admin: false, op, bucket, key, query };
  }

  function takeFault(op) {
    const f = state.faults.find(x => x.count > 0 && (x.op === '*' || x.op === op));
    if (!f) return null;
    f.count--;
    return f;
  }

  async function handle(req, res, expectContinue) {
    state.stats.requests++;
    let ctx;
    try {
      ctx = prepare(req);
    } catch (err) {
      if (!(err instanceof OssError)) throw err;
      // Refused before the body: with Expect: 100-continue the client never sends it, so the
      // connection cannot carry another request.
      if (expectContinue) res.setHeader('Connection', 'close');
      else await readBody(req);
      return sendError(req, res, err);
    }
    if (ctx.admin) return admin(req, res, ctx.path, ctx.query);
    const fault = takeFault(ctx.op);
    if (fault && fault.mode === 'drop-answer') {
      // Carry the request out, then lose the answer: the client cannot tell whether it worked.
      if (expectContinue) res.writeContinue();
      const lost = { writeHead() {}, setHeader() {}, end() { req.socket.destroy(); } };
      try {
        await operate(ctx.op, req, lost, ctx.bucket, ctx.key, ctx.query);
      } catch (err) {
        if (!(err instanceof OssError)) throw err;
        req.socket.destroy();
      }
      return;
    }
    if (fault) {
      if (fault.mode === 'reset') return req.socket.destroy();
      if (expectContinue) res.setHeader('Connection', 'close');
      else await readBody(req);
      return sendError(req, res, new OssError(fault.status, fault.status === 503 ? 'ServiceUnavailable' : 'InternalError', 'Injected failure.'));
    }
    if (expectContinue) res.writeContinue();
    try {
      await operate(ctx.op, req, res, ctx.bucket, ctx.key, ctx.query);
    } catch (err) {
      if (!(err instanceof OssError)) throw err;
      sendError(req, res, err);
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res, false).catch(err => { console.error(err); res.destroy(); });
  });
  server.on('checkContinue', (req, res) => {
    handle(req, res, true).catch(err => { console.error(err); res.destroy(); });
  });
  server.keepAliveTimeout = 30000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, port: server.address().port, state }));
  });
}

function parseArgs(argv) {
  const opts = { port: 0, region: 'cn-hangzhou', buckets: [], keys: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--port') { opts.port = Number(v); i++; }
    else if (a === '--region') { opts.region = v; i++; }
    else if (a === '--bucket') { opts.buckets.push(v); i++; }
    else if (a === '--key') { const c = v.indexOf(':'); opts.keys[v.slice(0, c)] = v.slice(c + 1); i++; }
    else throw new Error(`unknown argument ${a}`);
  }
  if (opts.buckets.length === 0) opts.buckets.push('media');
  return opts;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { port } = await startServer(parseArgs(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}
