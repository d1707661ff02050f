/* upload-alioss — request signing for Alibaba Cloud OSS, v1 (HMAC-SHA1) and v4 (OSS4-HMAC-SHA256).
 *
 * Written here rather than taken from a library: no C library available to sluice signs OSS
 * requests (Alibaba's C SDK is not packaged, and pulls in APR and curl), and both schemes are a
 * few pages of string building over OpenSSL's HMAC. The rules are those of OSS's documentation
 * and of the ali-oss client's signUtils.js, which the test server uses as its oracle.
 *
 * Everything here is pure: no I/O, no clock. Callers describe one request (OssSignInput) with
 * the exact header values and query they will send, and get back the strings to sign or the
 * Authorization header value. Sign the same strings you send: keys and query values are passed
 * raw (UTF-8) and encoded here, and oss_uri_encode() is also what builds the request URL.
 *
 * Ownership: every returned string is transfer full (g_free). Inputs are transfer none.
 * Threading: every function is reentrant and may run on any thread.
 */
#ifndef OSS_SIGN_H
#define OSS_SIGN_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  OSS_SIGN_V1 = 1, /* "OSS AK:base64(HMAC-SHA1)": endpoints where no region is known */
  OSS_SIGN_V4 = 4, /* "OSS4-HMAC-SHA256 Credential=...": the default */
} OssSignVersion;

/* A name and a value. For headers `value` is the exact text sent. For query parameters
 * `value` is raw (not percent-encoded) and NULL for a valueless parameter such as "uploads". */
typedef struct {
  const char *name;
  const char *value;
} OssPair;

typedef struct {
  const char *method;   /* "PUT", "POST", "GET", "DELETE" */
  const char *bucket;   /* bucket name */
  const char *key;      /* raw UTF-8 object key; NULL or "" for the bucket itself */
  const OssPair *query; /* query parameters, raw values; order does not matter */
  guint n_query;
  /* The headers the request carries that signing covers (Content-Type, Content-MD5, x-oss-*,
   * and for v1 Date); others are ignored. Names compare case-insensitively. For v1 the date line
   * is x-oss-date when present, else Date (ali-oss sends only x-oss-date). */
  const OssPair *headers;
  guint n_headers;
} OssSignInput;

/* RFC 3986 percent-encoding: every byte except A-Z a-z 0-9 - _ . ~ becomes %XX (upper-case
 * hex); with `keep_slash` '/' is kept too (object keys in paths). Bytes are encoded as they
 * are: a UTF-8 key becomes its UTF-8 bytes encoded one by one. */
char *oss_uri_encode(const char *s, gboolean keep_slash);

/* The timestamp formats: v1 "Tue, 05 Mar 2024 08:09:10 GMT" (RFC 1123, always English),
 * v4 "20240305T080910Z". `t` is converted to UTC. */
char *oss_format_date_v1(GDateTime *t);
char *oss_format_date_v4(GDateTime *t);

/* v1. CanonicalizedResource: "/bucket/<raw key>" plus the sub-resources OSS signs (uploads,
 * uploadId, partNumber, acl, response-*, ...; other query parameters are not signed), sorted,
 * "?k=v&k" with raw values and no '=' for a valueless one. */
char *oss_v1_canonical_resource(const OssSignInput *in);
/* VERB \n Content-MD5 \n Content-Type \n Date \n x-oss-* "k:v" lines \n CanonicalizedResource */
char *oss_v1_string_to_sign(const OssSignInput *in);
/* base64(HMAC-SHA1(secret, string_to_sign)) */
char *oss_v1_signature(const char *secret, const char *string_to_sign);
/* "OSS <access_key>:<signature>" */
char *oss_v1_authorization(const char *access_key, const char *secret, const OssSignInput *in);

/* v4. CanonicalRequest: VERB \n encoded "/bucket/key" \n sorted encoded query \n canonical
 * headers (content-type, content-md5, x-oss-*: "k:v\n" each, sorted) \n (no additional headers)
 * \n x-oss-content-sha256 value or UNSIGNED-PAYLOAD. */
char *oss_v4_canonical_request(const OssSignInput *in);
/* "OSS4-HMAC-SHA256\n<x_oss_date>\n<yyyymmdd>/<region>/oss/aliyun_v4_request\n<hex sha256>" */
char *oss_v4_string_to_sign(const char *region, const char *x_oss_date,
                            const char *canonical_request);
/* hex HMAC-SHA256 with the key derived from "aliyun_v4"+secret over date, region, "oss",
 * "aliyun_v4_request". `date8` is yyyymmdd. */
char *oss_v4_signature(const char *secret, const char *date8, const char *region,
                       const char *string_to_sign);
/* "OSS4-HMAC-SHA256 Credential=AK/yyyymmdd/region/oss/aliyun_v4_request,Signature=<hex>".
 * The date comes from the request's x-oss-date header, which must be present. Returns NULL when
 * it is missing or malformed. */
char *oss_v4_authorization(const char *access_key, const char *secret, const char *region,
                           const OssSignInput *in);

G_END_DECLS

#endif /* OSS_SIGN_H */
