/* upload-azure — where an upload goes: the "azure" target and the blob's URL.
 *
 * The core hands each upload a GstStructure named "azure" (core/storage.h) with the YAML's keys:
 *   account_name    the storage account (required)
 *   account_key     its access key, base64 (required)
 *   container_name  the container; when empty, the blob name's first segment is the container
 *                   (LiveKit accepts such configs and its users rely on it)
 *   endpoint        sluice extension: the service URL, e.g. Azurite's
 *                   "http://127.0.0.1:10000/devstoreaccount1"; default
 *                   "https://<account_name>.blob.core.windows.net". Without a scheme, https.
 *   max_put_blob_mib  sluice extension (int64, 1..5000): files up to this size go up in one Put
 *                   Blob, larger ones in blocks; default AZ_MAX_PUT_BLOB_DEFAULT_MIB.
 *
 * Blob URL: <endpoint>/<container>/<blob>, container and blob percent-encoded: every byte but
 * the unreserved ones (A-Z a-z 0-9 - . _ ~) and '/' becomes %XX, once, so "sp ace/ü+é!(x).txt"
 * is sent as "sp%20ace/%C3%BC%2B%C3%A9%21%28x%29.txt". SharedKey signs the path exactly as sent,
 * so the same string serves the request, the signature and the location. Slashes at the ends of
 * the container and the blob name are dropped (LiveKit does the same), and empty or "." / ".."
 * segments are refused: HTTP clients and servers normalise them away, and the blob would not be
 * where the location says.
 *
 * The location reported for an upload is that URL: for the default endpoint exactly LiveKit's
 * "https://<account>.blob.core.windows.net/<container>/<blob>", for a custom endpoint
 * "<endpoint>/<container>/<blob>".
 *
 * Ownership: AzTarget owns its strings and the decoded key (az_target_free); returned strings are
 * transfer full. Threading: pure; an AzTarget is read-only once built and may be shared between
 * the threads of one upload.
 */
#ifndef AZ_TARGET_H
#define AZ_TARGET_H

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  char *account;
  GBytes *key;          /* the decoded account key */
  char *container;      /* without surrounding slashes; "" when not configured */
  char *origin;         /* "scheme://host[:port]" of the endpoint */
  char *base_path;      /* the endpoint's path, percent-encoded, no trailing '/': "" or "/acct" */
  gboolean custom;      /* an endpoint was configured */
  guint64 max_put_blob; /* bytes: files up to this size go up in one Put Blob */
} AzTarget;

/* 256 MiB, the single-request limit of Microsoft's own SDKs (maxSingleShotSize) and so what
 * LiveKit's egress does through the Go SDK: one request for most recordings, blocks beyond. */
#define AZ_MAX_PUT_BLOB_DEFAULT_MIB 256
#define AZ_MAX_PUT_BLOB_LIMIT_MIB   5000 /* Put Blob's own limit at x-ms-version 2021-08-06 */

/* From the target's four settings; NULL or "" means not set. Needs no GStreamer (unit tests).
 * max_put_blob is AZ_MAX_PUT_BLOB_DEFAULT_MIB. */
AzTarget *az_target_new(const char *account_name, const char *account_key,
                        const char *container_name, const char *endpoint, GError **error);
/* From the GstStructure the core hands to upload(): az_target_new() over its string fields, then
 * max_put_blob_mib when present (out of range: AZ_ERROR_CONFIG). */
AzTarget *az_target_from_structure(const GstStructure *st, GError **error);
void az_target_free(AzTarget *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AzTarget, az_target_free)

/* Percent-encodes every byte of `s` except A-Z a-z 0-9 - . _ ~ and, when `keep_slash`, '/'. */
char *az_percent_encode(const char *s, gboolean keep_slash);

/* The URL path of blob `key` (base_path/container/blob, encoded). FALSE (AZ_ERROR_KEY) for a name
 * that cannot be stored as given. */
gboolean az_target_blob_path(const AzTarget *t, const char *key, char **path, GError **error);

/* origin + path: the blob's URL, which is also the location reported for it. */
char *az_target_url(const AzTarget *t, const char *path);

G_END_DECLS

#endif /* AZ_TARGET_H */
