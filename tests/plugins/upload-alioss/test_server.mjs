// The test server itself, checked with the real ali-oss client: every request ali-oss signs
// (v1 and v4, PutObject, GetObject, multipart) is accepted, and a wrong secret, a tampered
// request or a stale date is refused the way OSS refuses it. This is what makes the server a fair
// judge of sluice's requests in test_upload_alioss.py.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';

import { startServer } from './oss_server.mjs';

const require = createRequire(import.meta.url);
const OSS = require('ali-oss');

const AK = 'LTAI5tSelfTestKey';
const SECRET = 'self-test-secret-5d41402abc';
let srv;

function client(authorizationV4, secret = SECRET, port = srv.port) {
  return new OSS({
    region: 'oss-cn-hangzhou',
    endpoint: `http://localhost:${port}`,
    sldEnable: true, // path-style: /bucket/key on localhost
    accessKeyId: AK,
    accessKeySecret: secret,
    bucket: 'media',
    authorizationV4,
  });
}

before(async () => {
  srv = await startServer({ region: 'cn-hangzhou', buckets: ['media'], keys: { [AK]: SECRET } });
});
after(() => {
  // ali-oss keeps its connections alive; close them so the process can end
  srv.server.closeAllConnections();
  srv.server.close();
});

for (const v4 of [false, true]) {
  const version = v4 ? 'v4' : 'v1';
  describe(`ali-oss with ${version} signatures`, () => {
    test('put and get, keys with spaces, + and non-ASCII', async () => {
      const c = client(v4);
      for (const key of ['plain.txt', 'dir/a b+c.mp4', '视频/录像 ✓.ts', "odd/!'()*@$&=;:,~.txt"]) {
        const body = crypto.randomBytes(1000);
        const before = srv.state.stats.auth[version];
        await c.put(`${version}/${key}`, body);
        assert.equal(srv.state.stats.auth[version], before + 1);
        const got = await c.get(`${version}/${key}`);
        assert.deepEqual(got.content, body);
      }
    });

    test('multipart upload', async () => {
      const c = client(v4);
      const body = crypto.randomBytes(350 * 1024);
      const before = { ...srv.state.stats.multipart };
      await c.multipartUpload(`${version}/multi part.bin`, body, { partSize: 100 * 1024 });
      assert.equal(srv.state.stats.multipart.completed, before.completed + 1);
      assert.equal(srv.state.stats.multipart.parts, before.parts + 4);
      const got = await c.get(`${version}/multi part.bin`);
      assert.deepEqual(got.content, body);
    });

    test('abort', async () => {
      const c = client(v4);
      const { uploadId } = await c.initMultipartUpload(`${version}/aborted.bin`);
      await c.abortMultipartUpload(`${version}/aborted.bin`, uploadId);
      await assert.rejects(c.get(`${version}/aborted.bin`), { status: 404, code: 'NoSuchKey' });
    });

    test('a wrong secret is refused with SignatureDoesNotMatch', async () => {
      const c = client(v4, 'not-the-secret');
      await assert.rejects(c.put(`${version}/denied.txt`, Buffer.from('x')), { status: 403, code: 'SignatureDoesNotMatch' });
      await assert.rejects(client(v4).get(`${version}/denied.txt`), { status: 404 });
    });

    test('a stale date is refused with RequestTimeTooSkewed', async () => {
      srv.state.skewMs = 3600 * 1000;
      try {
        await assert.rejects(client(v4).put(`${version}/late.txt`, Buffer.from('x')), { status: 403, code: 'RequestTimeTooSkewed' });
      } finally {
        srv.state.skewMs = 0;
      }
    });
  });
}

// A request signed by ali-oss and then changed on the way (another key, another Content-Type)
// no longer matches its signature.
test('a tampered request is refused', async () => {
  for (const v4 of [false, true]) {
    const seen = [];
    const proxy = http.createServer((req, res) => {
      const headers = { ...req.headers };
      const path = req.url.replace('/media/original.txt', '/media/changed.txt');
      seen.push(path);
      const up = http.request({ host: '127.0.0.1', port: srv.port, method: req.method, path, headers }, r => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise(resolve => proxy.listen(0, '127.0.0.1', resolve));
    const viaProxy = client(v4, SECRET, proxy.address().port);
    await assert.rejects(viaProxy.put('original.txt', Buffer.from('x')), { status: 403, code: 'SignatureDoesNotMatch' });
    assert.deepEqual(seen, ['/media/changed.txt']);
    // the same client straight to the server is accepted: only the change was refused
    await client(v4).put('original.txt', Buffer.from('x'));
    proxy.closeAllConnections();
    proxy.close();
  }
});
