/* upload-s3 — one upload's destination, read from the target GstStructure. No I/O.
 *
 * The structure is the one core/storage.h describes: named "s3", fields named as LiveKit's YAML
 * keys. From it this module settles everything a request needs: credentials, region, which host
 * to connect to, whether the bucket goes in the host name (virtual-hosted style) or the path
 * (path style), the object's URL, and the object headers (metadata, tagging, disposition).
 *
 * Addressing:
 *   - no endpoint: AWS, https://<bucket>.s3.<region>.amazonaws.com/<key>; path style
 *     (https://s3.<region>.amazonaws.com/<bucket>/<key>) only with force_path_style.
 *   - an endpoint: path style <endpoint>/<bucket>/<key> unless force_path_style is false, then
 *     <scheme>://<bucket>.<endpoint host>/<key>. An endpoint without a scheme is https.
 *   - a bucket that cannot be a DNS label (upper case, '_', or dots over https, which break the
 *     certificate's wildcard) is always addressed path style, as the AWS SDKs do.
 * The location reported for an uploaded object is its URL, the key encoded as on the wire.
 *
 * Credentials come from access_key/secret/session_token; when access_key and secret are both
 * absent, from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN in the environment.
 * With assume_role_arn (and assume_role_external_id) those are the base credentials: they only
 * sign the STS AssumeRole call (s3-role.h), and S3 requests are signed with the role's
 * temporary credentials, as LiveKit's egress does. STS is reached on the custom endpoint when
 * one is configured (LiveKit's SDK shares its base endpoint between S3 and STS), else on
 * https://sts.<region>.amazonaws.com/; through the same proxy either way.
 *
 * Ownership: S3Target owns copies of everything (s3_target_free); returned strings are transfer
 * full. Threading: an S3Target is built and adjusted (s3_target_set_region) by the thread that
 * runs the upload before it starts part workers; afterwards it is read-only except `clock_skew`,
 * which is accessed atomically.
 */
#ifndef S3_TARGET_H
#define S3_TARGET_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define S3_DEFAULT_REGION       "us-east-1"
#define S3_DEFAULT_MAX_ATTEMPTS 5   /* LiveKit's default max_retries */
#define S3_DEFAULT_MIN_DELAY    0.1 /* seconds */
#define S3_DEFAULT_MAX_DELAY    5.0

typedef struct {
  char *access_key;
  char *secret;
  char *session_token; /* NULL without one */
  char *region;
  char *bucket;

  gboolean custom_endpoint; /* an endpoint was configured (else AWS) */
  gboolean path_style;      /* the bucket is in the path, not the host name */
  char *scheme;             /* "https" or "http" */
  char *endpoint_host;      /* host name of the endpoint (IPv6 without brackets) */
  int port;                 /* -1: the scheme's default */
  char *endpoint_path;      /* "" or "/prefix" from the endpoint URL, no trailing '/' */
  char *host;               /* host to connect to, with the bucket for virtual-hosted style */
  char *host_header;        /* Host header value: host[:port], as signed */

  char *proxy_url; /* NULL: the system's proxy settings */
  char *proxy_username;
  char *proxy_password;

  guint max_attempts; /* per request, >= 1 */
  double min_delay;   /* seconds */
  double max_delay;

  char **metadata; /* name, value, name, value, ... (x-amz-meta-<name>); may be NULL */
  char *tagging;   /* x-amz-tagging, URL-encoded form "k=v&k2=v2"; may be NULL */
  char *content_disposition;

  char *assume_role_arn;         /* NULL: S3 requests are signed with the keys above */
  char *assume_role_external_id; /* NULL without one */
  char *sts_scheme;              /* the STS endpoint, as for S3 above */
  char *sts_host;
  int sts_port;
  char *sts_host_header;
  char *sts_path;   /* "/" or "<endpoint path>/", encoded */
  char *sts_region; /* the configured region (s3_target_set_region leaves it) */
  char *sts_url;    /* <scheme>://<host_header><path>, for messages */

  gint clock_skew; /* seconds to add to the local clock when signing; atomic */
} S3Target;

S3Target *s3_target_new(const GstStructure *structure, GError **error);
void s3_target_free(S3Target *target);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(S3Target, s3_target_free)

/* Switch to `region` (S3 said the bucket lives there); an AWS host follows. */
void s3_target_set_region(S3Target *target, const char *region);

/* The request path of `key`: [endpoint path][/<bucket>]/<key>, encoded as signed and sent. */
char *s3_target_object_path(const S3Target *target, const char *key);

/* The object's URL: <scheme>://<host_header><object path>. */
char *s3_target_object_url(const S3Target *target, const char *key);

/* "s3://<bucket>/<key>" for messages (the key as given). */
char *s3_target_describe(const S3Target *target, const char *key);

/* The headers every object-creating request (PutObject, CreateMultipartUpload) carries:
 * Content-Disposition, x-amz-tagging, x-amz-meta-*; name/value pairs, NULL-terminated. */
char **s3_target_object_headers(const S3Target *target);

G_END_DECLS

#endif /* S3_TARGET_H */
