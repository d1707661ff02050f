/* upload-s3 — AWS Signature Version 4, header-based, as S3 checks it (and STS). No I/O.
 *
 * Why this is written here: none of the libraries this plugin builds on (GLib, libsoup,
 * OpenSSL's libcrypto) implements SigV4, and the AWS SDKs that do (aws-c-auth, the C++ SDK) each
 * bring an event-loop runtime of their own for what amounts to canonical strings and four
 * HMAC-SHA256 steps. libcrypto supplies the primitives.
 *
 * S3's rules, which differ from the generic SigV4 ones other AWS services use:
 *   - the canonical URI is the object path percent-encoded exactly once, segment by segment:
 *     every byte except A-Z a-z 0-9 - _ . ~ becomes %XX (upper-case hex), '/' separates
 *     segments and stays; no dot-segment or "//" normalisation, no double encoding. A space is
 *     %20 and '+' is %2B. The encoded path is also what goes on the wire, so what is signed and
 *     what is sent cannot disagree.
 *   - the canonical query encodes names and values with the same set ('/' and '=' included),
 *     sorts by encoded name then value, and writes a valueless name as "name=".
 *   - the payload hash is the hex SHA-256 of the body, sent as x-amz-content-sha256 and signed.
 * Canonical headers: names lower-cased and sorted, values trimmed with inner runs of spaces
 * collapsed, each "name:value\n"; repeated names join their values with ','.
 *
 * Header and query lists are flat NULL-terminated string arrays: name, value, name, value, ...
 *
 * The service in the credential scope is a parameter: "s3" for every S3 request, "sts" for the
 * AssumeRole call that fetches a role's credentials (s3-sts.h). STS's canonical URI is "/", on
 * which the S3 and generic encoding rules agree.
 *
 * Ownership: inputs are transfer none; every returned string is transfer full (g_free).
 * Threading: pure functions without shared state; any thread.
 */
#ifndef S3_SIGV4_H
#define S3_SIGV4_H

#include <glib.h>

G_BEGIN_DECLS

/* SHA-256 of the empty string, the payload hash of a request without a body. */
#define S3_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Percent-encodes `s` with S3's set (everything but A-Z a-z 0-9 - _ . ~); '/' is kept when
 * `keep_slash` (object paths) and encoded otherwise (query names and values). */
char *s3_uri_encode(const char *s, gboolean keep_slash);

/* Lower-case hex SHA-256 of `len` bytes at `data`. */
char *s3_sha256_hex(const void *data, gsize len);

/* "YYYYMMDDTHHMMSSZ" for a Unix time in seconds (UTC). */
char *s3_sigv4_amz_date(gint64 unix_seconds);

/* The canonical query string from raw (unencoded) name/value pairs; a value may be "" (valueless
 * names such as "uploads"). "" for NULL or no pairs. It is also a valid query to send. */
char *s3_sigv4_canonical_query(const char *const *pairs);

/* The canonical request (see above). `path` is already encoded (s3_uri_encode with keep_slash);
 * "" counts as "/". `canonical_query` comes from s3_sigv4_canonical_query. `headers` are the
 * name/value pairs to sign, which must include host, x-amz-date and x-amz-content-sha256.
 * When `signed_headers` is not NULL it receives "host;x-amz-date;..." (transfer full). */
char *s3_sigv4_canonical_request(const char *method, const char *path, const char *canonical_query,
                                 const char *const *headers, const char *payload_hash,
                                 char **signed_headers);

/* "<yyyymmdd>/<region>/<service>/aws4_request" for an x-amz-date value. */
char *s3_sigv4_scope(const char *amz_date, const char *region, const char *service);

/* "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical_request>". */
char *s3_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
                              const char *canonical_request);

/* Hex HMAC-SHA256 of `string_to_sign` under the key derived from `secret` for the date part of
 * `amz_date`, `region` and `service`. */
char *s3_sigv4_signature(const char *secret, const char *amz_date, const char *region,
                         const char *service, const char *string_to_sign);

/* The whole Authorization header value:
 * "AWS4-HMAC-SHA256 Credential=<access_key>/<scope>, SignedHeaders=<...>, Signature=<hex>". */
char *s3_sigv4_authorization(const char *access_key, const char *secret, const char *region,
                             const char *service, const char *amz_date, const char *method,
                             const char *path, const char *canonical_query,
                             const char *const *headers, const char *payload_hash);

G_END_DECLS

#endif /* S3_SIGV4_H */
