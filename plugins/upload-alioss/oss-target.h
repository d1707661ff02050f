/* upload-alioss — where an upload goes: the "alioss" target structure read into a checked
 * OssTarget, the signing version and addressing chosen for it, and the URLs built from it.
 *
 * The target (core/storage.h) is a GstStructure named "alioss" with string fields access_key,
 * secret, endpoint, bucket and, optionally, region.
 *
 * endpoint: "oss-cn-hangzhou.aliyuncs.com", with or without "https://" or "http://" (no scheme
 *   means https), optionally with a port; no path.
 * Signing version:
 *   - v4 (OSS4-HMAC-SHA256) when `region` is set ("cn-hangzhou"; an "oss-" prefix is accepted
 *     and dropped), or when the endpoint is an OSS regional endpoint
 *     "oss-<region>[-internal].aliyuncs.com" from which the region is read;
 *   - v1 (HMAC-SHA1) otherwise: no region is known to sign with (custom domains, the global
 *     accelerate endpoints, local servers configured without a region).
 * Addressing:
 *   - virtual-hosted, "https://<bucket>.<endpoint>/<key>", as OSS requires;
 *   - path-style, "http://<endpoint>/<bucket>/<key>", when the endpoint host is an IP address or
 *     "localhost": no bucket subdomain can resolve there (test servers, proxies on the host).
 * The location reported for an object is that same URL (LiveKit reports
 * "https://<bucket>.<endpoint>/<key>"); the key is percent-encoded as on the wire, so keys of
 * unreserved characters and '/' read exactly as LiveKit's.
 *
 * Pure (no I/O). Ownership: OssTarget is owned by the caller (oss_target_free); strings are
 * transfer full. Any thread; an OssTarget is read-only after creation and may be shared.
 */
#ifndef OSS_TARGET_H
#define OSS_TARGET_H

#include "oss-sign.h"

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum {
  OSS_ADDRESSING_VIRTUAL_HOSTED = 1,
  OSS_ADDRESSING_PATH_STYLE = 2,
} OssAddressing;

typedef struct {
  char *access_key;
  char *secret;
  char *bucket;
  char *scheme; /* "https" or "http" */
  char *host;   /* endpoint host, lower-case, IPv6 without brackets */
  int port;     /* -1 for the scheme's default */
  char *region; /* standard region ("cn-hangzhou") for v4; NULL for v1 */
  OssSignVersion sign;
  OssAddressing addressing;
} OssTarget;

OssTarget *oss_target_from_structure(const GstStructure *target, GError **error);
void oss_target_free(OssTarget *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OssTarget, oss_target_free)

/* The region in an OSS regional endpoint host ("oss-cn-hangzhou.aliyuncs.com",
 * "oss-cn-hangzhou-internal.aliyuncs.com" -> "cn-hangzhou"), or NULL. */
char *oss_endpoint_region(const char *host);

/* TRUE for a bucket name OSS accepts: 3-63 of a-z 0-9 '-', not starting or ending with '-'. */
gboolean oss_bucket_name_valid(const char *bucket);

/* Checks an object key and returns the one to store: leading '/' removed (as ali-oss does),
 * valid UTF-8, 1-1023 bytes. NULL with OSS_ERROR_KEY otherwise. */
char *oss_object_key(const char *key, GError **error);

/* The request URL for `key` with an already encoded query (without '?', or NULL). The path is
 * kept exactly as encoded (GUri does not collapse "." or ".." segments). Transfer full. */
GUri *oss_target_uri(const OssTarget *t, const char *key, const char *encoded_query);

/* The location reported for `key` (see above). */
char *oss_target_location(const OssTarget *t, const char *key);

/* "<bucket> at <endpoint>" for messages. */
char *oss_target_describe(const OssTarget *t);

G_END_DECLS

#endif /* OSS_TARGET_H */
