// Prints the OSS signing vectors used by test-oss-sign.c, computed with the ali-oss client's
// own signing functions (signUtils.js). Run it after changing a case and paste its output into
// the `vectors` table there: node make_vectors.mjs
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const signUtils = require('ali-oss/lib/common/signUtils.js');

const AK = 'LTAI5tExampleKeyId';
const SECRET = 'ExampleSecretKey0123456789abcdef';
const REGION = 'cn-hangzhou';
const V4_DATE = '20240305T080910Z';
const V1_DATE = 'Tue, 05 Mar 2024 08:09:10 GMT';

// name, method, key, query (null = valueless), headers besides the date ones
const cases = [
  ['put', 'PUT', 'dir/a b+c 你好.mp4', {}, { 'Content-Type': 'video/mp4', 'Content-MD5': 'XrY7u+Ae7tCTyyK7j1rNww==' }],
  ['part', 'PUT', 'video/rec.mp4', { partNumber: '3', uploadId: '0004B9894A22E5B1888A1E29F823****' }, { 'Content-MD5': '1B2M2Y8AsgTpgAmY7PhCfg==' }],
  ['initiate', 'POST', 'rooms/r1/2024-03-05T080910.mp4', { uploads: null }, { 'Content-Type': 'video/mp4' }],
  ['complete', 'POST', 'rooms/r1/2024-03-05T080910.mp4', { uploadId: 'ABC+def/=' }, { 'Content-Type': 'application/xml', 'Content-MD5': 'rL0Y20zC+Fzt72VPzMSk2A==' }],
  ['abort', 'DELETE', 'x', { uploadId: 'ABC' }, {}],
  ['reserved', 'PUT', "sub/!'()*~@$&=;:,?#[]%.ts", {}, { 'Content-Type': 'video/MP2T' }],
];

const q = s => JSON.stringify(s);
for (const [name, method, key, query, extra] of cases) {
  // v4: ali-oss sends x-oss-date and x-oss-content-sha256.
  const h4 = { ...extra, 'x-oss-date': V4_DATE, 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD' };
  const creq = signUtils.getCanonicalRequest(method, { headers: h4, queries: query }, 'media', key, []);
  const sts4 = signUtils.getStringToSign(REGION, V4_DATE, creq);
  const auth4 = signUtils.authorizationV4(AK, SECRET, REGION, method, { headers: h4, queries: query }, 'media', key);
  // v1: the date travels in x-oss-date (and Date); the resource names the raw key.
  const h1 = { ...extra, Date: V1_DATE, 'x-oss-date': V1_DATE };
  const sts1 = signUtils.buildCanonicalString(method, `/media/${key}`, { headers: h1, parameters: query });
  const auth1 = signUtils.authorization(AK, SECRET, sts1);
  console.log(`    {${q(name)}, ${q(method)}, ${q(key)},`);
  console.log(`     ${q(Object.entries(query).map(([k, v]) => (v === null ? k : `${k}=${v}`)).join('&'))},`);
  console.log(`     ${q(extra['Content-Type'] || '')}, ${q(extra['Content-MD5'] || '')},`);
  console.log(`     ${q(creq)},`);
  console.log(`     ${q(sts4)},`);
  console.log(`     ${q(auth4)},`);
  console.log(`     ${q(sts1)},`);
  console.log(`     ${q(auth1)}},`);
}
