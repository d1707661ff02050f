/* upload-s3 — credentials to sign with, and the STS AssumeRole request that trades a target's
 * own keys for a role's temporary ones. No I/O (s3-role.h sends the request and caches what it
 * yields).
 *
 * An AssumeRole request, as the AWS SDKs send it for LiveKit's egress:
 *   POST / (on the STS endpoint; with a custom S3 endpoint, the same one: moto and S3-compatible
 *   servers that serve STS tell the service apart by the credential scope)
 *   Content-Type: application/x-www-form-urlencoded; charset=utf-8
 *   Action=AssumeRole&Version=2011-06-15&RoleArn=<arn>&RoleSessionName=<name>
 *   &DurationSeconds=900[&ExternalId=<id>]
 * every value form-encoded (RFC 3986 unreserved characters kept, a space as '+', every other
 * byte %XX, as the AWS SDKs write it), signed with
 * SigV4 for service "sts" in the target's region over the body's SHA-256. The base credentials'
 * session token, if they have one, goes in X-Amz-Security-Token.
 *
 * S3Credentials is immutable once made and reference-counted (atomically): a thread that signs
 * with one keeps its own reference, so the cache may replace it meanwhile.
 *
 * Ownership: returned strings and arrays are transfer full; inputs transfer none.
 * Threading: pure functions, any thread; S3Credentials may be shared between threads.
 */
#ifndef S3_STS_H
#define S3_STS_H

#include <glib.h>

G_BEGIN_DECLS

#define S3_STS_DURATION     900 /* seconds asked for: the AWS SDKs' default, STS's minimum */
#define S3_STS_VERSION      "2011-06-15"
#define S3_STS_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

typedef struct {
  char *access_key;
  char *secret;
  char *session_token; /* NULL without one */
  gint64 refresh_at;   /* g_get_monotonic_time() from which to fetch new ones; G_MAXINT64: never */
  gint64 expires_at;   /* ... at which they stop working; G_MAXINT64: never */
} S3Credentials;

/* Copies the strings; `session_token` may be NULL or "". */
S3Credentials *s3_credentials_new(const char *access_key, const char *secret,
                                  const char *session_token, gint64 refresh_at, gint64 expires_at);
S3Credentials *s3_credentials_ref(S3Credentials *creds);
void s3_credentials_unref(S3Credentials *creds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(S3Credentials, s3_credentials_unref)

/* How many seconds before the end of credentials valid for `lifetime` seconds to replace them:
 * a fifth of the lifetime and at least 60 s, so that a request signed just before never meets a
 * token that has run out; but at most half the lifetime, so that short-lived credentials are
 * still used for a while. 180 s for STS's 900. */
gint64 s3_sts_refresh_margin(gint64 lifetime);

/* "sluice-<unix time in ns>": a RoleSessionName within [\w+=,.@-]{2,64}. */
char *s3_sts_session_name(gint64 unix_ns);

/* The form body above; `external_id` may be NULL (no ExternalId). */
char *s3_sts_assume_role_body(const char *role_arn, const char *session_name,
                              const char *external_id, guint duration_seconds);

/* The headers to send with `body`, as name/value pairs, NULL-terminated: host (`host_header`),
 * x-amz-date (`amz_date`), content-type, x-amz-security-token when `base` has a session token,
 * and authorization, signed with `base` for `region` and service "sts" over POST `path`. */
char **s3_sts_request_headers(const S3Credentials *base, const char *region,
                              const char *host_header, const char *path, const char *amz_date,
                              const char *body);

G_END_DECLS

#endif /* S3_STS_H */
